"""Events of the invoicing service.

``invoicing.invoices.v1`` (key = customer number, so one customer's invoices and the
payments on them stay in order): invoice issued, corrective invoice issued, payment
recorded, invoice settled. ``invoicing.runs.v1`` (key = run id): billing run finished.

An issued document carries everything needed to render and send it without asking
another service (ARCHITECTURE §7): header, lines, VAT breakdown, totals, references
(national and RF), due date, the seller, and the customer's billing snapshot as it was
at issue. Amounts are decimal strings on the wire (``"12.40"``), never floats.

Arithmetic every consumer may rely on (the invoicing service guarantees it):
- ``line.net = round(quantity * unit_price, 2)`` (half away from zero);
- per VAT rate: ``net`` = sum of the lines' ``net``, ``vat = round(net * rate / 100, 2)``,
  ``gross = net + vat`` (VAT rounded once per invoice per rate);
- ``totals`` = sums of the breakdown; ``gross`` is what the customer pays.
A corrective invoice's lines are the original lines negated followed by the new lines,
so its totals are the difference; a negative ``gross`` makes it a credit note, zero or
more a corrective invoice the customer pays on its own reference and due date.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.events.customers import Code, CustomerData, CustomerNumber, Name, PostalAddress
from shared.events.envelope import Event
from shared.events.sales import Description, OrderId, RequestId, RequestKind, ServicePeriod, Unit
from shared.limits import MAX_DOCUMENT_LINES
from shared.money import Money, Quantity, Rate, Sum, UnitPrice

InvoiceNumber = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=20, pattern=r"^[0-9]+$")]
DocumentType = Literal["invoice", "corrective", "credit-note"]
"""``corrective``: a corrective invoice with a total >= 0; ``credit-note``: one < 0."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Seller(_Model):
    """The publisher, as printed on its invoices and written in its e-invoices."""

    name: Name
    business_id: Annotated[str, StringConstraints(max_length=16)]
    vat_number: Annotated[str, StringConstraints(max_length=20)]
    """``FI`` + Y-tunnus digits, e.g. ``FI07375462``."""
    address: PostalAddress
    iban: Annotated[str, StringConstraints(max_length=34)]
    """Electronic form, no spaces."""
    bic: Annotated[str, StringConstraints(max_length=11)]
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    einvoice_address: Annotated[str, StringConstraints(max_length=42)]
    einvoice_operator: Annotated[str, StringConstraints(max_length=35)]


class Customer(_Model):
    """The customer's billing snapshot at issue (from its billing profile)."""

    customer_number: CustomerNumber
    profile_version: int = Field(ge=0)
    consumer: bool
    """Consumer (True) or business (False): reminder fees and interest depend on it."""
    data: CustomerData


class DocumentLine(_Model):
    line_no: int = Field(ge=1)
    request_id: RequestId | None = None
    order_id: OrderId | None = None
    product_code: Code
    description: Description
    quantity: Quantity
    unit: Unit
    unit_price: UnitPrice
    vat_rate: Rate
    net: Money
    service_period: ServicePeriod | None = None


class VatRow(_Model):
    rate: Rate
    net: Money
    vat: Money
    gross: Money


class Totals(_Model):
    net: Money
    vat: Money
    gross: Money


class InvoiceDocument(_Model):
    """An issued (confirmed) invoice or corrective invoice, whole."""

    invoice_id: Annotated[str, StringConstraints(max_length=40)]
    invoice_number: InvoiceNumber
    series: Code
    document_type: DocumentType
    kind: RequestKind
    invoice_date: date
    due_date: date
    payment_terms_days: int = Field(ge=0)
    currency: Literal["EUR"] = "EUR"
    reference: Annotated[str, StringConstraints(max_length=20, pattern=r"^[0-9]+$")]
    """National reference, no spaces (print it with :func:`shared.references.format_national`)."""
    reference_rf: Annotated[str, StringConstraints(max_length=25, pattern=r"^RF[0-9]{2}[0-9A-Z]+$")]
    seller: Seller
    customer: Customer
    lines: list[DocumentLine] = Field(min_length=1, max_length=MAX_DOCUMENT_LINES)
    vat_breakdown: list[VatRow] = Field(min_length=1, max_length=20)
    totals: Totals
    original_invoice_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    original_invoice_number: InvoiceNumber | None = None
    """Set on a corrective invoice / credit note: the invoice it corrects."""
    original_invoice_date: date | None = None
    """Set on a corrective invoice / credit note: the invoice date of the invoice it
    corrects (Finvoice ``OriginalInvoiceDate``). Corrective invoices published before
    this field existed lack it: read as None, and consumers then leave the date out."""
    run_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    issued_at: datetime


class InvoiceIssued(Event):
    EVENT_TYPE = "fi.billing.invoicing.invoice-issued.v1"

    invoice: InvoiceDocument


class CorrectiveInvoiceIssued(Event):
    """A corrective invoice or credit note (``invoice.document_type``), referring to the
    original through ``invoice.original_invoice_number`` and ``original_invoice_date``.
    A credit note lowers the open amount of the invoice it corrects by its (negative)
    ``totals.gross``; a corrective invoice (``gross`` >= 0) bills the difference on its
    own reference and due date, and leaves the original's open amount as it was."""

    EVENT_TYPE = "fi.billing.invoicing.corrective-invoice-issued.v1"

    invoice: InvoiceDocument


PaymentStatus = Literal["open", "partially-paid", "paid", "overpaid", "credited"]


class PaymentRecorded(Event):
    """A payment matched to an invoice (by its reference, or allocated by a clerk)."""

    EVENT_TYPE = "fi.billing.invoicing.payment-recorded.v1"

    payment_id: Annotated[str, StringConstraints(max_length=64)]
    invoice_id: Annotated[str, StringConstraints(max_length=40)]
    invoice_number: InvoiceNumber
    customer_number: CustomerNumber
    amount: Money
    payment_date: date
    paid_total: Money
    """Everything paid on the invoice so far, this payment included."""
    open_amount: Money
    """What is left to pay (gross - credits - paid); negative when overpaid."""
    status: PaymentStatus


class PaymentReversed(Event):
    """A recorded payment the bank took back: the invoice's paid amount is lowered by
    ``amount`` (an invoice that was settled is open again)."""

    EVENT_TYPE = "fi.billing.invoicing.payment-reversed.v1"

    payment_id: Annotated[str, StringConstraints(max_length=64)]
    """The reversal's own id (the bank's archive id of the reversal entry)."""
    reverses_payment_id: Annotated[str, StringConstraints(max_length=64)]
    """The payment it reverses (recorded earlier by a PaymentRecorded)."""
    invoice_id: Annotated[str, StringConstraints(max_length=40)]
    invoice_number: InvoiceNumber
    customer_number: CustomerNumber
    amount: Money
    """Euros taken back (> 0)."""
    payment_date: date
    paid_total: Money
    """Everything paid on the invoice after the reversal."""
    open_amount: Money
    status: PaymentStatus


class InvoiceSettled(Event):
    """The invoice's open amount reached zero or less (paid, credited or overpaid)."""

    EVENT_TYPE = "fi.billing.invoicing.invoice-settled.v1"

    invoice_id: Annotated[str, StringConstraints(max_length=40)]
    invoice_number: InvoiceNumber
    customer_number: CustomerNumber
    settled_on: date
    status: PaymentStatus
    open_amount: Money


RunMode = Literal["preview", "draft", "confirm"]
MAX_LEFT_OUT_CUSTOMERS = 50


class RunVatTotal(_Model):
    rate: Rate
    net: Sum
    vat: Sum
    gross: Sum


class RunTotals(_Model):
    """A run's totals: sums over all its invoices (wider than one invoice's amounts)."""

    net: Sum
    vat: Sum
    gross: Sum


class LeftOut(_Model):
    """Requests the run did not invoice, grouped by why (a code and fi/en text)."""

    code: Code
    count: int = Field(ge=0)
    message_fi: Annotated[str, StringConstraints(max_length=300)]
    message_en: Annotated[str, StringConstraints(max_length=300)]
    customers: list[CustomerNumber] = Field(default_factory=list, max_length=MAX_LEFT_OUT_CUSTOMERS)
    """For a reason that is the customer's own (an invoice that cannot be made, e.g.
    over :data:`shared.limits.MAX_INVOICE_AMOUNT`): the customers left out, the first
    :data:`MAX_LEFT_OUT_CUSTOMERS` in customer-number order."""


class BillingRunFinished(Event):
    """A billing run (draft or confirm) finished; previews publish nothing."""

    EVENT_TYPE = "fi.billing.invoicing.billing-run-finished.v1"

    run_id: Annotated[str, StringConstraints(max_length=40)]
    kind: RequestKind
    mode: RunMode
    invoice_date: date | None = None
    """The invoices' date when they all share one; None when they have several. A run
    with no invoice gives the date it ran up to, if any."""
    invoices: int = Field(ge=0)
    requests: int = Field(ge=0)
    totals: RunTotals
    by_vat_rate: list[RunVatTotal] = Field(default_factory=list, max_length=20)
    by_channel: dict[Code, int] = Field(default_factory=dict)
    left_out: list[LeftOut] = Field(default_factory=list, max_length=50)
    actor: Annotated[str, StringConstraints(max_length=100)]
    finished_at: datetime
