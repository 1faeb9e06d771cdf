"""What goes into a Finvoice, worked out from an invoice or a reminder document.

Both document kinds become one :class:`Draft` (header, rows, VAT blocks, totals, payment
data) that :mod:`.build` writes out, so the XML is written in one place.

The builder maps the document faithfully and does not repair it: the VAT blocks and
totals are the document's own (``vat_breakdown``, ``totals``, ``total_due``), the rows are
its lines. The one derived figure is each row's VAT: the document rounds VAT once per
rate (``round(net_of_rate * rate)``), Finvoice wants ``VatRateAmount`` = Σ ``RowVatAmount``
(guidelines §14), so the rate's VAT is shared out over its rows by the largest-remainder
method (each row gets its exact VAT rounded down to the cent, the cents left go to the
rows with the largest remainders). Rounding each row on its own could miss the
document's VAT by a cent per row. If the document is inconsistent, the file is too, and
:func:`..check.check_finvoice` says where.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from shared.events.invoicing import Customer, InvoiceDocument, Seller
from shared.events.reminders import ReminderDocument
from shared.money import CENT, ZERO, cents

from .texts import Texts, texts_for

Scheme = Literal["SPY", "ISO"]


@dataclass(frozen=True)
class Overdue:
    """``RowOverDuePaymentDetails``: the overdue invoice or one interest period (§10.6)."""

    invoice_number: str | None = None
    invoice_date: date | None = None
    due_date: date | None = None
    invoice_total: Decimal | None = None
    reference: str | None = None
    paid: Decimal | None = None
    unpaid: Decimal | None = None
    interest_rate: Decimal | None = None
    interest_start: date | None = None
    interest_end: date | None = None
    interest_days: int | None = None
    interest_amount: Decimal | None = None


@dataclass(frozen=True)
class Row:
    position: int
    name: str
    net: Decimal
    vat: Decimal
    rate: Decimal
    vat_code: str
    code: str | None = None
    description: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None
    price: Decimal | None = None
    start: date | None = None
    end: date | None = None
    overdue: Overdue | None = None

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


@dataclass(frozen=True)
class VatBlock:
    rate: Decimal
    code: str
    base: Decimal
    vat: Decimal
    free_text: str | None = None


@dataclass(frozen=True)
class Draft:
    texts: Texts
    type_code: str
    type_code_un: str | None
    type_text: str
    number: str
    invoice_date: date
    due_date: date
    seller: Seller
    customer: Customer
    rows: list[Row]
    vat: list[VatBlock]
    net: Decimal
    vat_total: Decimal
    gross: Decimal
    reference: str
    scheme: Scheme
    original_number: str | None = None
    original_date: date | None = None
    period: tuple[date, date] | None = None
    terms_text: str | None = None
    free_texts: list[str] = field(default_factory=list)

    @property
    def rows_total(self) -> Decimal:
        return sum((r.net for r in self.rows), ZERO)


def default_scheme(customer: Customer) -> Scheme:
    """National reference (``SPY``) for a buyer in Finland, RF (``ISO``) abroad, where
    a Finnish reference means nothing to the payer's bank."""
    address = customer.data.address
    return "SPY" if address is None or address.country.upper() == "FI" else "ISO"


def vat_code(rate: Decimal) -> str:
    """``S`` standard rate; ``Z`` for 0 % (the document carries no exemption reason, so
    no finer code such as ``E`` or ``AE`` can be told)."""
    return "S" if rate > 0 else "Z"


def share_vat(nets: list[Decimal], rate: Decimal, total: Decimal) -> list[Decimal]:
    """Split ``total`` (the rate's VAT) over rows with these nets: largest remainder.

    Σ result == ``total`` always; each share is within a cent of ``net * rate / 100``
    when ``total`` is that rate's rounded VAT (as the document guarantees)."""
    if not nets:
        return []
    exact = [net * rate / 100 for net in nets]
    shares = [e.quantize(CENT, rounding=ROUND_FLOOR) for e in exact]
    left = int((total - sum(shares, ZERO)) / CENT)
    order = sorted(range(len(nets)), key=lambda i: exact[i] - shares[i], reverse=True)
    step = CENT if left >= 0 else -CENT
    for n in range(abs(left)):  # more cents than rows only when the document is inconsistent
        shares[order[n % len(order)]] += step
    return shares


def _invoice_rows(doc: InvoiceDocument) -> list[Row]:
    by_rate: dict[Decimal, list[int]] = defaultdict(list)
    for i, line in enumerate(doc.lines):
        by_rate[line.vat_rate].append(i)
    declared = {row.rate: row.vat for row in doc.vat_breakdown}
    vat = [ZERO] * len(doc.lines)
    for rate, indexes in by_rate.items():
        nets = [doc.lines[i].net for i in indexes]
        total = declared.get(rate, cents(sum(nets, ZERO) * rate / 100))
        for i, share in zip(indexes, share_vat(nets, rate, total), strict=True):
            vat[i] = share
    rows = []
    for line, line_vat in zip(doc.lines, vat, strict=True):
        period = line.service_period
        rows.append(
            Row(
                position=line.line_no,
                name=line.description,
                code=line.product_code,
                quantity=line.quantity,
                unit=line.unit,
                price=line.unit_price,
                net=line.net,
                vat=line_vat,
                rate=line.vat_rate,
                vat_code=vat_code(line.vat_rate),
                start=period.start if period else None,
                end=period.end if period else None,
            )
        )
    return rows


def draft_invoice(doc: InvoiceDocument, scheme: Scheme | None = None) -> Draft:
    texts = texts_for(doc.customer.data.language)
    if doc.document_type == "credit-note":
        type_code, type_un, type_text = "INV02", "381", texts.credit_note
    elif doc.document_type == "corrective":
        type_code, type_un, type_text = "INV01", "384", texts.corrective
    else:
        type_code, type_un, type_text = "INV01", "380", texts.invoice
    periods = [line.service_period for line in doc.lines if line.service_period is not None]
    scheme = scheme or default_scheme(doc.customer)
    return Draft(
        texts=texts,
        type_code=type_code,
        type_code_un=type_un,
        type_text=type_text,
        number=doc.invoice_number,
        invoice_date=doc.invoice_date,
        due_date=doc.due_date,
        seller=doc.seller,
        customer=doc.customer,
        rows=_invoice_rows(doc),
        vat=[
            VatBlock(r.rate, vat_code(r.rate), r.net, r.vat, None if r.rate > 0 else texts.vat_zero)
            for r in doc.vat_breakdown
        ],
        net=doc.totals.net,
        vat_total=doc.totals.vat,
        gross=doc.totals.gross,
        reference=doc.reference if scheme == "SPY" else doc.reference_rf,
        scheme=scheme,
        original_number=doc.original_invoice_number,
        original_date=doc.original_invoice_date,
        period=(min(p.start for p in periods), max(p.end for p in periods)) if periods else None,
        terms_text=texts.payment_terms(doc.payment_terms_days),
    )


def _reminder_rows(doc: ReminderDocument, texts: Texts) -> list[Row]:
    """The overdue invoice's open amount, the fee, the compensation and the interest
    (one row per interest period when the periods add up to it). None of these is a
    sale: 0 % VAT, code ``O`` (outside the scope of VAT)."""
    rows = [
        Row(
            position=1,
            name=texts.open_amount.format(number=doc.invoice_number),
            net=doc.open_amount,
            vat=ZERO,
            rate=ZERO,
            vat_code="O",
            overdue=Overdue(
                invoice_number=doc.invoice_number,
                invoice_date=doc.invoice_date,
                due_date=doc.invoice_due_date,
                invoice_total=doc.invoice_gross,
                reference=doc.reference,
                paid=doc.invoice_gross - doc.open_amount,
                unpaid=doc.open_amount,
            ),
        )
    ]
    if doc.fee:
        rows.append(Row(position=0, name=texts.reminder_fee, net=doc.fee, vat=ZERO, rate=ZERO, vat_code="O"))
    if doc.compensation:
        rows.append(Row(position=0, name=texts.compensation, net=doc.compensation, vat=ZERO, rate=ZERO, vat_code="O"))
    periods = doc.interest_periods
    if periods and sum((p.amount for p in periods), ZERO) == doc.interest:
        for p in periods:
            overdue = Overdue(
                invoice_number=doc.invoice_number,
                interest_rate=p.rate,
                interest_start=p.start,
                interest_end=p.end,
                interest_days=p.days,
                interest_amount=p.amount,
            )
            rows.append(
                Row(position=0, name=texts.interest, net=p.amount, vat=ZERO, rate=ZERO, vat_code="O", overdue=overdue)
            )
    elif doc.interest:
        rows.append(Row(position=0, name=texts.interest, net=doc.interest, vat=ZERO, rate=ZERO, vat_code="O"))
    return [replace(row, position=i) for i, row in enumerate(rows, start=1)]


def reminder_number(doc: ReminderDocument) -> str:
    """``InvoiceNumber`` of a reminder (at most 20 characters): the invoice number and
    the reminder's level, ``1000000001-1``; the bare invoice number if that is too long."""
    number = f"{doc.invoice_number}-{doc.level}"
    return number if len(number) <= 20 else doc.invoice_number


def draft_reminder(doc: ReminderDocument, scheme: Scheme | None = None) -> Draft:
    texts = texts_for(doc.customer.data.language)
    rows = _reminder_rows(doc, texts)
    base = sum((r.net for r in rows), ZERO)
    scheme = scheme or default_scheme(doc.customer)
    return Draft(
        texts=texts,
        type_code="INV08",
        type_code_un=None,
        type_text=texts.reminder,
        number=reminder_number(doc),
        invoice_date=doc.reminder_date,
        due_date=doc.due_date,
        seller=doc.seller,
        customer=doc.customer,
        rows=rows,
        vat=[VatBlock(ZERO, "O", base, ZERO, texts.vat_outside)],
        net=doc.total_due,
        vat_total=ZERO,
        gross=doc.total_due,
        reference=doc.reference if scheme == "SPY" else doc.reference_rf,
        scheme=scheme,
        original_number=doc.invoice_number,
        original_date=doc.invoice_date,
        free_texts=[texts.reminder_text(doc.level, doc.invoice_number, doc.invoice_date, doc.invoice_due_date)],
    )
