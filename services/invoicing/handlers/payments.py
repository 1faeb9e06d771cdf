"""Reference payments (``bank.reference-payments.v1``): matched by national or RF
reference to a confirmed invoice; anything else kept as unmatched for a clerk to
allocate by hand. Idempotent by the bank's payment id (a second copy changes nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.invoicing.domain.payments import normalise_reference
from services.invoicing.handlers import balances
from services.invoicing.handlers.errors import Conflict, NotFound
from services.invoicing.store.payments import StoredPayment
from services.invoicing.uow import InvoicingUnitOfWork
from shared.events.bank import ReferencePaymentReceived
from shared.events.envelope import Envelope

UNMATCHED_REASONS = {
    "reference-invalid": ("Viite ei ole kelvollinen viitenumero.", "The reference is not a valid reference number."),
    "reference-unknown": ("Viitteellä ei löydy laskua.", "No invoice has this reference."),
    "not-payable": ("Viite on hyvityslaskun: sitä ei makseta.", "The reference is a credit note's: nothing to pay."),
}


async def take_payments(events: Sequence[Envelope[Any]], uow: InvoicingUnitOfWork) -> dict[str, int]:
    counts = {"matched": 0, "unmatched": 0, "repeated": 0}
    for env in events:
        if not isinstance(env.data, ReferencePaymentReceived):
            continue
        p = env.data
        reference = normalise_reference(p.reference)
        invoice = await uow.invoices.by_reference(reference) if reference else None
        reason = None
        if reference is None:
            reason = "reference-invalid"
        elif invoice is None:
            reason = "reference-unknown"
        elif invoice.document_type == "credit-note":  # a corrective invoice (>= 0) is paid on its own
            reason = "not-payable"
        new = await uow.payments.add(
            {
                "payment_id": p.payment_id,
                "reference": p.reference,
                "amount": p.amount,
                "payment_date": p.payment_date,
                "payer_name": p.payer_name,
                "invoice_id": invoice.id if invoice is not None and reason is None else None,
                "status": "unmatched" if reason else "matched",
                "reason": reason,
                "event_id": env.meta.id,
            }
        )
        if not new:
            counts["repeated"] += 1
            continue
        if reason is not None or invoice is None:
            counts["unmatched"] += 1
            continue
        # each payment's events carry its own trace, not the batch's first one
        await balances.pay(
            uow, invoice, payment_id=p.payment_id, amount=p.amount, on=p.payment_date, trace=env.meta.trace
        )
        counts["matched"] += 1
    return counts


async def allocate(uow: InvoicingUnitOfWork, payment_id: str, invoice_number: int, *, actor: str) -> StoredPayment:
    """A clerk allocates an unmatched payment to an invoice by its number."""
    async with uow:
        payment = await uow.payments.get(payment_id, lock=True)
        if payment is None:
            raise NotFound("payment-not-found", f"Maksua {payment_id} ei löydy.", f"Payment {payment_id} not found.")
        if payment.status != "unmatched":
            raise Conflict(
                "payment-already-allocated",
                "Maksu on jo kohdistettu laskulle.",
                "The payment is already allocated to an invoice.",
            )
        found = await uow.invoices.by_number(invoice_number)
        if found is None or found.status != "confirmed" or found.document_type == "credit-note":
            raise NotFound(
                "invoice-not-found",
                f"Vahvistettua laskua {invoice_number} ei löydy.",
                f"No confirmed invoice {invoice_number}.",
            )
        invoice = await uow.invoices.get(found.id, lock=True, with_lines=False)
        assert invoice is not None
        await uow.payments.allocate(payment_id, invoice.id, actor)
        await balances.pay(uow, invoice, payment_id=payment_id, amount=payment.amount, on=payment.payment_date)
        await uow.commit()
    async with uow:
        stored = await uow.payments.get(payment_id)
    assert stored is not None
    return stored
