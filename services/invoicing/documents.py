"""Stored invoices as the documents the events carry (``shared.events.invoicing``)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.invoicing.config import Settings
from services.invoicing.domain.billing import Line
from services.invoicing.store.invoices import StoredInvoice
from shared.events.customers import PostalAddress
from shared.events.invoicing import Customer, DocumentLine, InvoiceDocument, Seller, Totals, VatRow
from shared.events.sales import ServicePeriod


def seller(settings: Settings) -> Seller:
    return Seller(
        name=settings.seller_name,
        business_id=settings.seller_business_id,
        vat_number=settings.seller_vat_number,
        address=PostalAddress(
            street_lines=[settings.seller_street],
            postal_code=settings.seller_postal_code,
            city=settings.seller_city,
            country=settings.seller_country,
        ),
        iban=settings.seller_iban.replace(" ", "").upper(),
        bic=settings.seller_bic,
        email=settings.seller_email,
        phone=settings.seller_phone,
        einvoice_address=settings.seller_einvoice_address,
        einvoice_operator=settings.seller_einvoice_operator,
    )


def document_line(line: Line) -> DocumentLine:
    return DocumentLine(
        line_no=line.line_no,
        request_id=line.request_id,
        order_id=line.order_id,
        product_code=line.product_code,
        description=line.description,
        quantity=line.quantity,
        unit=line.unit,
        unit_price=line.unit_price,
        vat_rate=line.vat_rate,
        net=line.net,
        service_period=ServicePeriod(start=line.service_period.start, end=line.service_period.end)
        if line.service_period
        else None,
    )


def document(
    invoice: StoredInvoice,
    the_seller: Seller,
    *,
    original_number: int | None = None,
    original_date: date | None = None,
    issued_at: datetime | None = None,
) -> InvoiceDocument:
    """The issued document of a confirmed invoice (its chargeable lines only)."""
    if invoice.number is None or invoice.reference is None or invoice.reference_rf is None or invoice.customer is None:
        raise ValueError("only a confirmed invoice is a document")
    lines = [line for line in invoice.lines if line.chargeable]
    return InvoiceDocument(
        invoice_id=str(invoice.id),
        invoice_number=str(invoice.number),
        series=invoice.series,
        document_type=invoice.document_type,
        kind=invoice.kind,
        invoice_date=invoice.invoice_date,
        due_date=invoice.due_date,
        payment_terms_days=invoice.payment_terms_days,
        reference=invoice.reference,
        reference_rf=invoice.reference_rf,
        seller=the_seller,
        customer=Customer.model_validate(invoice.customer),
        lines=[document_line(line) for line in lines],
        vat_breakdown=[VatRow(rate=r.rate, net=r.net, vat=r.vat, gross=r.gross) for r in invoice.vat_breakdown],
        totals=Totals(net=invoice.totals.net, vat=invoice.totals.vat, gross=invoice.totals.gross),
        original_invoice_id=str(invoice.original_invoice_id) if invoice.original_invoice_id else None,
        original_invoice_number=str(original_number) if original_number else None,
        original_invoice_date=original_date,
        run_id=str(invoice.run_id) if invoice.run_id else None,
        issued_at=issued_at or invoice.confirmed_at or datetime.now(UTC),
    )
