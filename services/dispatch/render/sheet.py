"""What a document says, in the customer's language, before it is laid out: the
*sheet*. One place turns an invoice, credit note or payment reminder (*maksumuistutus*)
into titles, fields, table rows, totals and the payment slip; the PDF layout and the
e-mail body only arrange what the sheet holds, so both always say the same thing.

Pure: no I/O, no PDF library.

Which reference a customer gets: a customer whose postal address is in Finland (or who
has none) pays with the national reference (*viitenumero*, printed in groups of five,
bar code version 4); a customer abroad gets the international RF form (ISO 11649,
groups of four, bar code version 5), the only one a foreign bank takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

import pycountry

from services.dispatch.domain.barcode import NotCodable, virtual_barcode
from services.dispatch.render.texts import (
    Lang,
    T,
    fmt_date,
    fmt_money,
    fmt_quantity,
    fmt_rate,
    fmt_unit_price,
    language_of,
    unit,
)
from shared.events.customers import PostalAddress
from shared.events.invoicing import Customer, InvoiceDocument, Seller
from shared.events.reminders import ReminderDocument
from shared.references import format_national, format_rf

Doc = InvoiceDocument | ReminderDocument
SheetKind = Literal["invoice", "corrective", "credit-note", "reminder"]
TableKind = Literal["lines", "vat", "reminder"]
HOME_COUNTRY = "FI"


@dataclass(frozen=True, slots=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Row:
    cells: tuple[str, ...]
    note: str | None = None
    """A smaller second line under the first cell (a service period)."""


@dataclass(frozen=True, slots=True)
class Table:
    kind: TableKind
    headings: tuple[str, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class Amount:
    """One line of the totals: a label and an amount; ``strong`` is the amount to pay
    (or to credit), ``detail`` a smaller explanatory line (an interest period)."""

    label: str
    value: str
    strong: bool = False
    detail: bool = False


@dataclass(frozen=True, slots=True)
class Payment:
    """What the bank transfer form (*tilisiirtolomake*) carries."""

    iban: str
    """Printed in groups of four."""
    bic: str
    payee: str
    payer: tuple[str, ...]
    payer_tail: int
    """How many of the payer's last lines are postal code + city and country."""
    reference: str
    """Printed in groups (national: fives from the right; RF: fours)."""
    due: date
    amount: Decimal
    barcode: str | None
    """The 54-digit virtual bar code; None when the data cannot be coded (a foreign IBAN)."""
    invoice_number: str
    customer_number: str


@dataclass(frozen=True, slots=True)
class Sheet:
    lang: Lang
    kind: SheetKind
    title: str
    name: str
    """The document's kind as a word in a sentence: ``Lasku``, ``Credit note``."""
    number: str
    """The number printed beside the title: the invoice's (for a reminder: the reminded invoice's)."""
    original_number: str | None
    seller: tuple[str, ...]
    """Name first, then the postal address."""
    seller_ids: tuple[str, ...]
    seller_email: str | None
    seller_phone: str | None
    recipient: tuple[str, ...]
    recipient_tail: int
    """How many of the recipient's last lines are postal code + city and country."""
    fields: tuple[Field, ...]
    intro: str | None
    table: Table
    vat: Table | None
    summary: tuple[Amount, ...]
    notes: tuple[str, ...]
    payment: Payment | None
    file_name: str
    customer_number: str
    country: str
    """The recipient's country (ISO 3166 alpha-2), for the print house's postage."""

    @property
    def amount_due(self) -> Decimal | None:
        return self.payment.amount if self.payment else None


def build_sheet(doc: Doc) -> Sheet:
    if isinstance(doc, ReminderDocument):
        return _reminder_sheet(doc)
    return _invoice_sheet(doc)


# -- parts shared by both kinds ---------------------------------------------------------


def _address_lines(address: PostalAddress | None) -> tuple[str, ...]:
    if address is None:
        return ()
    lines = [line for line in address.street_lines if line]
    city = " ".join(part for part in (address.postal_code, address.city) if part)
    if city:
        lines.append(city)
    country = (address.country or HOME_COUNTRY).upper()
    if country != HOME_COUNTRY:
        # Posti: a letter abroad ends with the country's name in capitals.
        found = pycountry.countries.get(alpha_2=country)
        name = (getattr(found, "common_name", None) or found.name) if found else country
        lines.append(name.upper())
    return tuple(lines)


def _address_tail(address: PostalAddress | None) -> int:
    if address is None:
        return 0
    city = 1 if (address.postal_code or address.city) else 0
    return city + (1 if (address.country or HOME_COUNTRY).upper() != HOME_COUNTRY else 0)


def _country(customer: Customer) -> str:
    address = customer.data.address
    return (address.country if address and address.country else HOME_COUNTRY).upper()


def _recipient(customer: Customer) -> tuple[str, ...]:
    name = customer.data.name or customer.customer_number
    return (name, *_address_lines(customer.data.address))


def _seller(seller: Seller) -> tuple[str, ...]:
    return (seller.name, *_address_lines(seller.address))


def _seller_ids(seller: Seller, t: dict[str, str]) -> tuple[str, ...]:
    return (f"{t['business_id']} {seller.business_id}", f"{t['vat_number']} {seller.vat_number}")


def _grouped_iban(iban: str) -> str:
    compact = iban.replace(" ", "").upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _reference(customer: Customer, national: str, rf: str) -> tuple[str, str]:
    """(printed, coded) reference for this customer: national at home, RF abroad."""
    if _country(customer) == HOME_COUNTRY:
        return format_national(national), national
    return format_rf(rf), rf


def _payment(
    seller: Seller, customer: Customer, *, amount: Decimal, due: date, reference: str, invoice_number: str
) -> Payment:
    printed_ref, coded_ref = reference, reference.replace(" ", "")
    try:
        barcode: str | None = virtual_barcode(seller.iban, amount, coded_ref, due)
    except NotCodable:
        barcode = None
    return Payment(
        iban=_grouped_iban(seller.iban),
        bic=seller.bic,
        payee=seller.name,
        payer=_recipient(customer),
        payer_tail=_address_tail(customer.data.address),
        reference=printed_ref,
        due=due,
        amount=amount,
        barcode=barcode,
        invoice_number=invoice_number,
        customer_number=customer.customer_number,
    )


def _late_interest(t: dict[str, str]) -> Field:
    return Field(t["late_interest"], t["late_interest_value"])


# -- invoices, corrective invoices and credit notes ---------------------------------------


def _invoice_sheet(doc: InvoiceDocument) -> Sheet:
    lang = language_of(doc.customer.data.language)
    t = T[lang]
    kind: SheetKind = doc.document_type
    gross = doc.totals.gross
    payable = gross > 0 and kind != "credit-note"
    printed_ref, _ = _reference(doc.customer, doc.reference, doc.reference_rf)

    fields = [
        Field(t["invoice_number"], doc.invoice_number),
        Field(t["invoice_date"], fmt_date(doc.invoice_date, lang)),
        Field(t["customer_number"], doc.customer.customer_number),
    ]
    if doc.customer.data.customer_type == "company" and doc.customer.data.business_id:
        fields.append(Field(t["customer_business_id"], doc.customer.data.business_id))
    if doc.original_invoice_number:
        fields.append(Field(t["original_invoice"], doc.original_invoice_number))
    if payable:
        terms = t["terms_days"].format(days=doc.payment_terms_days) if doc.payment_terms_days else t["terms_now"]
        fields += [
            Field(t["payment_terms"], terms),
            Field(t["due_date"], fmt_date(doc.due_date, lang)),
            Field(t["reference"], printed_ref),
            _late_interest(t),
        ]

    rows = tuple(
        Row(
            cells=(
                line.description,
                fmt_quantity(line.quantity),
                unit(line.unit, lang),
                fmt_unit_price(line.unit_price),
                fmt_rate(line.vat_rate),
                fmt_money(line.net),
            ),
            note=(
                f"{fmt_date(line.service_period.start, lang)}–{fmt_date(line.service_period.end, lang)}"
                if line.service_period
                else None
            ),
        )
        for line in doc.lines
    )
    table = Table(
        "lines",
        (t["col.description"], t["col.quantity"], t["col.unit"], t["col.unit_price"], t["col.vat_rate"], t["col.net"]),
        rows,
    )
    vat = Table(
        "vat",
        (t["col.vat_rate"], t["col.net"], t["col.vat"], t["col.gross"]),
        tuple(
            Row((fmt_rate(r.rate), fmt_money(r.net), fmt_money(r.vat), fmt_money(r.gross))) for r in doc.vat_breakdown
        ),
    )
    summary = [
        Amount(t["total_net"], fmt_money(doc.totals.net)),
        Amount(t["total_vat"], fmt_money(doc.totals.vat)),
    ]
    notes: list[str] = []
    if kind == "credit-note":
        summary.append(Amount(t["credit_total"], fmt_money(gross), strong=True))
        notes.append(t["nothing_to_pay"].format(original=doc.original_invoice_number or "-"))
    elif payable:
        summary.append(Amount(t["to_pay"], fmt_money(gross), strong=True))
    else:
        summary.append(Amount(t["total_gross"], fmt_money(gross), strong=True))
    if kind == "corrective" and doc.original_invoice_number:
        notes.append(t["corrective_of"].format(original=doc.original_invoice_number))

    payment = (
        _payment(
            doc.seller,
            doc.customer,
            amount=gross,
            due=doc.due_date,
            reference=printed_ref,
            invoice_number=doc.invoice_number,
        )
        if payable
        else None
    )
    return Sheet(
        lang=lang,
        kind=kind,
        title=t[f"title.{kind}"],
        name=t[f"name.{kind}"],
        number=doc.invoice_number,
        original_number=doc.original_invoice_number,
        seller=_seller(doc.seller),
        seller_ids=_seller_ids(doc.seller, t),
        seller_email=doc.seller.email,
        seller_phone=doc.seller.phone,
        recipient=_recipient(doc.customer),
        recipient_tail=_address_tail(doc.customer.data.address),
        fields=tuple(fields),
        intro=None,
        table=table,
        vat=vat,
        summary=tuple(summary),
        notes=tuple(notes),
        payment=payment,
        file_name=f"{t[f'file.{kind}']}_{doc.invoice_number}.pdf",
        customer_number=doc.customer.customer_number,
        country=_country(doc.customer),
    )


# -- payment reminders --------------------------------------------------------------------


def _reminder_sheet(doc: ReminderDocument) -> Sheet:
    lang = language_of(doc.customer.data.language)
    t = T[lang]
    printed_ref, _ = _reference(doc.customer, doc.reference, doc.reference_rf)
    due = fmt_date(doc.due_date, lang)
    fields = (
        Field(t["reminder_date"], fmt_date(doc.reminder_date, lang)),
        Field(t["reminder_level"], str(doc.level)),
        Field(t["customer_number"], doc.customer.customer_number),
        Field(t["invoice_number"], doc.invoice_number),
        Field(t["new_due_date"], due),
        Field(t["reference"], printed_ref),
        _late_interest(t),
    )
    table = Table(
        "reminder",
        (t["col.invoice_number"], t["col.invoice_date"], t["col.invoice_due"], t["col.invoice_gross"], t["col.open"]),
        (
            Row(
                (
                    doc.invoice_number,
                    fmt_date(doc.invoice_date, lang),
                    fmt_date(doc.invoice_due_date, lang),
                    fmt_money(doc.invoice_gross),
                    fmt_money(doc.open_amount),
                )
            ),
        ),
    )
    summary = [Amount(t["open_amount"], fmt_money(doc.open_amount))]
    if doc.fee:
        summary.append(Amount(t["reminder_fee"], fmt_money(doc.fee)))
    if doc.compensation:
        summary.append(Amount(t["compensation"], fmt_money(doc.compensation)))
    if doc.interest or doc.interest_periods:
        summary.append(Amount(t["interest"], fmt_money(doc.interest)))
        summary += [
            Amount(
                t["interest_period"].format(
                    start=fmt_date(p.start, lang), end=fmt_date(p.end, lang), days=p.days, rate=fmt_rate(p.rate)
                ),
                fmt_money(p.amount),
                detail=True,
            )
            for p in doc.interest_periods
        ]
    summary.append(Amount(t["to_pay"], fmt_money(doc.total_due), strong=True))
    payment = (
        _payment(
            doc.seller,
            doc.customer,
            amount=doc.total_due,
            due=doc.due_date,
            reference=printed_ref,
            invoice_number=doc.invoice_number,
        )
        if doc.total_due > 0
        else None
    )
    return Sheet(
        lang=lang,
        kind="reminder",
        title=t["title.reminder"],
        name=t["name.reminder"],
        number=doc.invoice_number,
        original_number=None,
        seller=_seller(doc.seller),
        seller_ids=_seller_ids(doc.seller, t),
        seller_email=doc.seller.email,
        seller_phone=doc.seller.phone,
        recipient=_recipient(doc.customer),
        recipient_tail=_address_tail(doc.customer.data.address),
        fields=fields,
        intro=t["reminder_intro"].format(due=due),
        table=table,
        vat=None,
        summary=tuple(summary),
        notes=(),
        payment=payment,
        file_name=f"{t['file.reminder']}_{doc.invoice_number}_{doc.level}.pdf",
        customer_number=doc.customer.customer_number,
        country=_country(doc.customer),
    )
