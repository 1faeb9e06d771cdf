"""An invoice's open amount after a payment or a credit note, and the events that say so."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.invoicing.domain.payments import Balance, became_settled
from services.invoicing.store.invoices import StoredInvoice
from services.invoicing.uow import InvoicingUnitOfWork
from shared.events import topics
from shared.events.invoicing import InvoiceSettled, PaymentRecorded, PaymentReversed
from shared.tracing import TraceContext


async def _apply(
    uow: InvoicingUnitOfWork, invoice: StoredInvoice, after: Balance, on: date, trace: TraceContext | None = None
) -> tuple[Balance, bool]:
    before = Balance(invoice.totals.gross, invoice.credited, invoice.paid)
    settled = became_settled(before, after)
    await uow.invoices.set_balance(
        invoice.id,
        paid=after.paid,
        credited=after.credited,
        status=after.status,
        settled_on=on if after.settled else None,
    )
    if settled:
        assert invoice.number is not None
        uow.outbox.add(
            topics.INVOICES.name,
            InvoiceSettled(
                invoice_id=str(invoice.id),
                invoice_number=str(invoice.number),
                customer_number=invoice.customer_number,
                settled_on=on,
                status=after.status,
                open_amount=after.open_amount,
            ),
            key=invoice.customer_number,
            trace=trace,
        )
    return after, settled


async def credit(uow: InvoicingUnitOfWork, invoice: StoredInvoice, gross: Decimal, *, on: date) -> None:
    """A confirmed credit note (``gross`` < 0) lowers the original's open amount."""
    after = Balance(invoice.totals.gross, invoice.credited + gross, invoice.paid)
    await _apply(uow, invoice, after, on)


async def pay(
    uow: InvoicingUnitOfWork,
    invoice: StoredInvoice,
    *,
    payment_id: str,
    amount: Decimal,
    on: date,
    trace: TraceContext | None = None,
) -> Balance:
    """The payment on the invoice: PaymentRecorded (and InvoiceSettled when it settles
    it) in the outbox, with ``trace`` (the payment's; else the current trace)."""
    after = Balance(invoice.totals.gross, invoice.credited, invoice.paid + amount)
    assert invoice.number is not None
    uow.outbox.add(
        topics.INVOICES.name,
        PaymentRecorded(
            payment_id=payment_id,
            invoice_id=str(invoice.id),
            invoice_number=str(invoice.number),
            customer_number=invoice.customer_number,
            amount=amount,
            payment_date=on,
            paid_total=after.paid,
            open_amount=after.open_amount,
            status=after.status,
        ),
        key=invoice.customer_number,
        trace=trace,
    )
    await _apply(uow, invoice, after, on, trace)
    return after


async def reverse(
    uow: InvoicingUnitOfWork,
    invoice: StoredInvoice,
    *,
    payment_id: str,
    reverses_payment_id: str,
    amount: Decimal,
    on: date,
    trace: TraceContext | None = None,
) -> Balance:
    """The bank took a payment on the invoice back: the paid amount is lowered by
    ``amount`` and PaymentReversed goes in the outbox. An invoice the payment settled is
    open again (no longer settled); one still settled keeps its settlement date."""
    after = Balance(invoice.totals.gross, invoice.credited, invoice.paid - amount)
    assert invoice.number is not None
    uow.outbox.add(
        topics.INVOICES.name,
        PaymentReversed(
            payment_id=payment_id,
            reverses_payment_id=reverses_payment_id,
            invoice_id=str(invoice.id),
            invoice_number=str(invoice.number),
            customer_number=invoice.customer_number,
            amount=amount,
            payment_date=on,
            paid_total=after.paid,
            open_amount=after.open_amount,
            status=after.status,
        ),
        key=invoice.customer_number,
        trace=trace,
    )
    await uow.invoices.set_balance(
        invoice.id,
        paid=after.paid,
        credited=after.credited,
        status=after.status,
        settled_on=invoice.settled_on if after.settled else None,
    )
    return after
