"""Events on ``invoicing.invoices.v1`` and ``customers.billing-profiles.v1`` as the
invoicing and customers services publish them, for the reminders tests (built from
``tests.support.documents``, which works out the invoice arithmetic)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from shared.events.customers import BillingProfileChanged, CustomerData
from shared.events.envelope import Event
from shared.events.invoicing import (
    CorrectiveInvoiceIssued,
    InvoiceDocument,
    InvoiceIssued,
    InvoiceSettled,
    PaymentRecorded,
    PaymentReversed,
    PaymentStatus,
)
from shared.events.topics import BILLING_PROFILES, INVOICES
from tests.support.kafka import ce_headers

Record = tuple[str, bytes, str, list[tuple[str, bytes]]]
"""(topic, value, key, headers) for ``Publisher.send_many``."""


def record(prefix: str, event: Event, key: str, *, source: str = "urn:billing:invoicing", topic: str = "") -> Record:
    name = topic or INVOICES.name
    headers = ce_headers(event.EVENT_TYPE, str(uuid.uuid4()), source, "2026-11-23T10:00:00+02:00")
    return prefix + name, event.model_dump_json().encode(), key, headers


def issued(prefix: str, doc: InvoiceDocument) -> Record:
    return record(prefix, InvoiceIssued(invoice=doc), doc.customer.customer_number)


def corrective(prefix: str, doc: InvoiceDocument) -> Record:
    return record(prefix, CorrectiveInvoiceIssued(invoice=doc), doc.customer.customer_number)


def payment(
    prefix: str,
    doc: InvoiceDocument,
    amount: str,
    on: date,
    *,
    paid_total: str,
    open_amount: str,
    status: PaymentStatus,
    payment_id: str | None = None,
) -> Record:
    event = PaymentRecorded(
        payment_id=payment_id or f"pay-{uuid.uuid4().hex[:12]}",
        invoice_id=doc.invoice_id,
        invoice_number=doc.invoice_number,
        customer_number=doc.customer.customer_number,
        amount=Decimal(amount),
        payment_date=on,
        paid_total=Decimal(paid_total),
        open_amount=Decimal(open_amount),
        status=status,
    )
    return record(prefix, event, doc.customer.customer_number)


def reversal(
    prefix: str,
    doc: InvoiceDocument,
    amount: str,
    on: date,
    *,
    payment_id: str,
    reverses: str,
    paid_total: str,
    open_amount: str,
    status: PaymentStatus,
) -> Record:
    event = PaymentReversed(
        payment_id=payment_id,
        reverses_payment_id=reverses,
        invoice_id=doc.invoice_id,
        invoice_number=doc.invoice_number,
        customer_number=doc.customer.customer_number,
        amount=Decimal(amount),
        payment_date=on,
        paid_total=Decimal(paid_total),
        open_amount=Decimal(open_amount),
        status=status,
    )
    return record(prefix, event, doc.customer.customer_number)


def settled(prefix: str, doc: InvoiceDocument, on: date, *, status: PaymentStatus = "paid") -> Record:
    event = InvoiceSettled(
        invoice_id=doc.invoice_id,
        invoice_number=doc.invoice_number,
        customer_number=doc.customer.customer_number,
        settled_on=on,
        status=status,
        open_amount=Decimal("0.00"),
    )
    return record(prefix, event, doc.customer.customer_number)


def profile(prefix: str, number: str, data: CustomerData, *, version: int, consumer: bool) -> Record:
    event = BillingProfileChanged(
        customer_number=number, version=version, valid=True, errors=[], snapshot=data, consumer=consumer
    )
    return record(prefix, event, number, source="urn:billing:customers", topic=BILLING_PROFILES.name)
