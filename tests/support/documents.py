"""Issued documents for tests of the services that consume them (reminders, dispatch):
invoices, credit notes and reminders built the way the invoicing and reminders services
build them, with the arithmetic of ``shared.events.invoicing`` worked out here.

Amounts are computed from the lines with the documented rule (line net rounded to the
cent, VAT per rate on the summed net), so a test can change a quantity and still get a
consistent document. The default invoice, worked by hand:

- 1 x "Helsingin Sanomat 1 kk" at 30.00, 10 %  -> net 30.00
- 2 x "Kuvaliite" at 12.10, 25.5 %             -> net 24.20
- VAT 10 %: 3.00; VAT 25.5 %: 24.20 * 0.255 = 6.171 -> 6.17
- totals: net 54.20, VAT 9.17, gross 63.37
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from shared.events.customers import CustomerData, PostalAddress
from shared.events.invoicing import (
    Customer,
    DocumentLine,
    InvoiceDocument,
    Seller,
    Totals,
    VatRow,
)
from shared.events.reminders import ReminderDocument
from shared.money import cents
from shared.references import national_reference, rf_reference

SELLER = Seller(
    name="Esimerkkimedia Oy",
    business_id="0737546-2",
    vat_number="FI07375462",
    address=PostalAddress(street_lines=["Mediakatu 1"], postal_code="00100", city="Helsinki", country="FI"),
    iban="FI2112345600000785",
    bic="NDEAFIHH",
    email="laskutus@esimerkkimedia.example",
    phone="+358 9 123 4567",
    einvoice_address="003707375462",
    einvoice_operator="003721291126",
)

# Valid test identifiers: Y-tunnus 0112038-9 -> OVT 003701120389.
PERSON = CustomerData(
    customer_type="person",
    name="Maija Meikäläinen",
    address=PostalAddress(street_lines=["Kotikatu 2 B 5"], postal_code="33100", city="Tampere", country="FI"),
    email="maija@example.com",
    delivery_channel="email",
    language="fi",
)
COMPANY = CustomerData(
    customer_type="company",
    name="Yritys Oy",
    business_id="0112038-9",
    address=PostalAddress(street_lines=["Teollisuustie 5"], postal_code="00510", city="Helsinki", country="FI"),
    einvoice_address="003701120389",
    einvoice_operator="003721291126",
    delivery_channel="einvoice",
    language="fi",
)

DEFAULT_LINES: tuple[tuple[str, str, str, str, str], ...] = (
    # product, description, quantity, unit price, VAT rate
    ("HS-1KK", "Helsingin Sanomat 1 kk", "1", "30.00", "10"),
    ("KUVA", "Kuvaliite", "2", "12.10", "25.5"),
)


def customer(number: str = "C-1", data: CustomerData = PERSON, *, consumer: bool | None = None) -> Customer:
    return Customer(
        customer_number=number,
        profile_version=1,
        consumer=(data.customer_type == "person") if consumer is None else consumer,
        data=data,
    )


def lines(spec: tuple[tuple[str, str, str, str, str], ...] = DEFAULT_LINES, *, sign: int = 1) -> list[DocumentLine]:
    out = []
    for i, (code, text, qty, price, rate) in enumerate(spec, start=1):
        quantity = Decimal(qty) * sign
        out.append(
            DocumentLine(
                line_no=i,
                product_code=code,
                description=text,
                quantity=quantity,
                unit="kpl",
                unit_price=Decimal(price),
                vat_rate=Decimal(rate),
                net=cents(quantity * Decimal(price)),
            )
        )
    return out


def breakdown(doc_lines: list[DocumentLine]) -> tuple[list[VatRow], Totals]:
    per_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in doc_lines:
        per_rate[line.vat_rate] += line.net
    rows = []
    for rate in sorted(per_rate):
        net = cents(per_rate[rate])
        vat = cents(net * rate / 100)
        rows.append(VatRow(rate=rate, net=net, vat=vat, gross=net + vat))
    totals = Totals(
        net=sum((r.net for r in rows), Decimal("0.00")),
        vat=sum((r.vat for r in rows), Decimal("0.00")),
        gross=sum((r.gross for r in rows), Decimal("0.00")),
    )
    return rows, totals


def invoice(
    number: int = 1000000001,
    *,
    who: Customer | None = None,
    spec: tuple[tuple[str, str, str, str, str], ...] = DEFAULT_LINES,
    invoice_date: date = date(2026, 11, 2),
    terms: int = 14,
    series: str = "subscription",
    invoice_id: str | None = None,
) -> InvoiceDocument:
    doc_lines = lines(spec)
    rows, totals = breakdown(doc_lines)
    reference = national_reference(str(number))
    return InvoiceDocument(
        invoice_id=invoice_id or f"inv-{number}",
        invoice_number=str(number),
        series=series,
        document_type="invoice",
        kind="subscription",
        invoice_date=invoice_date,
        due_date=invoice_date + timedelta(days=terms),
        payment_terms_days=terms,
        reference=reference,
        reference_rf=rf_reference(reference),
        seller=SELLER,
        customer=who or customer(),
        lines=doc_lines,
        vat_breakdown=rows,
        totals=totals,
        issued_at=datetime.combine(invoice_date, datetime.min.time(), UTC),
    )


def credit_note(
    original: InvoiceDocument, number: int = 3000000001, *, new_quantities: dict[int, str] | None = None
) -> InvoiceDocument:
    """A corrective invoice of ``original``: its lines negated, then the lines at the new
    quantities (``{line_no: quantity}``, default all 0 = a full credit)."""
    new_quantities = new_quantities or {}
    reversed_lines = [line.model_copy(update={"quantity": -line.quantity, "net": -line.net}) for line in original.lines]
    rebilled = []
    for line in original.lines:
        qty = Decimal(new_quantities.get(line.line_no, "0"))
        if qty:
            rebilled.append(line.model_copy(update={"quantity": qty, "net": cents(qty * line.unit_price)}))
    doc_lines = [line.model_copy(update={"line_no": i}) for i, line in enumerate(reversed_lines + rebilled, start=1)]
    rows, totals = breakdown(doc_lines)
    reference = national_reference(str(number))
    return original.model_copy(
        update={
            "invoice_id": f"inv-{number}",
            "invoice_number": str(number),
            "series": "corrective",
            "document_type": "credit-note" if totals.gross < 0 else "corrective",
            "reference": reference,
            "reference_rf": rf_reference(reference),
            "lines": doc_lines,
            "vat_breakdown": rows,
            "totals": totals,
            "original_invoice_id": original.invoice_id,
            "original_invoice_number": original.invoice_number,
            "original_invoice_date": original.invoice_date,
        }
    )


def reminder(
    original: InvoiceDocument,
    *,
    level: int = 1,
    reminder_date: date = date(2026, 12, 1),
    fee: str = "5.00",
    interest: str = "0.00",
) -> ReminderDocument:
    open_amount = original.totals.gross
    total = open_amount + Decimal(fee) + Decimal(interest)
    return ReminderDocument(
        reminder_id=f"rem-{original.invoice_number}-{level}",
        level=level,
        reminder_date=reminder_date,
        due_date=reminder_date + timedelta(days=14),
        invoice_id=original.invoice_id,
        invoice_number=original.invoice_number,
        invoice_date=original.invoice_date,
        invoice_due_date=original.due_date,
        invoice_gross=original.totals.gross,
        open_amount=open_amount,
        fee=Decimal(fee),
        compensation=Decimal("0.00"),
        interest=Decimal(interest),
        total_due=total,
        reference=original.reference,
        reference_rf=original.reference_rf,
        seller=original.seller,
        customer=original.customer,
        issued_at=datetime.combine(reminder_date, datetime.min.time(), UTC),
    )
