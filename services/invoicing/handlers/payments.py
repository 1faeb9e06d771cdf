"""Reference payments (``bank.reference-payments.v1``): matched by national or RF
reference to a confirmed invoice; anything else kept as unmatched for a clerk to
allocate by hand. Idempotent by the bank's payment id (a second copy changes nothing).

A reversal (the bank took a payment back) finds its payment by the id the bank's file
names, else by reference and amount (the latest payment not reversed yet), and takes
the whole payment back: a matched or allocated one lowers its invoice's paid amount
(PaymentReversed; a settled invoice is open again), an unmatched one is just marked
``reversed``. A reversal whose payment is not found (or whose amount is not the
payment's) is kept for the clerk: unmatched, reason ``reversal-unknown``. The reversal
is recorded under its own id, so a second copy changes nothing either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.invoicing.domain.payments import normalise_reference
from services.invoicing.handlers import balances
from services.invoicing.handlers.errors import Conflict, NotFound
from services.invoicing.store.payments import REVERSIBLE, StoredPayment
from services.invoicing.uow import InvoicingUnitOfWork
from shared.events.bank import ReferencePaymentReceived, ReferencePaymentReversed
from shared.events.envelope import Envelope

UNMATCHED_REASONS = {
    "reference-invalid": ("Viite ei ole kelvollinen viitenumero.", "The reference is not a valid reference number."),
    "reference-unknown": ("Viitteellä ei löydy laskua.", "No invoice has this reference."),
    "not-payable": ("Viite on hyvityslaskun: sitä ei makseta.", "The reference is a credit note's: nothing to pay."),
    "reversal-unknown": (
        "Pankki peruutti maksun, jota ei löydy (tai summa ei täsmää).",
        "The bank reversed a payment that is not found (or whose amount differs).",
    ),
}


async def take_payments(events: Sequence[Envelope[Any]], uow: InvoicingUnitOfWork) -> dict[str, int]:
    counts = {"matched": 0, "unmatched": 0, "repeated": 0, "reversed": 0}
    for env in events:
        if isinstance(env.data, ReferencePaymentReversed):
            counts[await _take_reversal(env, env.data, uow)] += 1
            continue
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


async def _original(r: ReferencePaymentReversed, uow: InvoicingUnitOfWork) -> StoredPayment | None:
    """The payment ``r`` takes back (locked), or None."""
    if r.reverses_payment_id is not None:
        named = await uow.payments.get(r.reverses_payment_id, lock=True)
        if named is None or named.kind != "payment" or named.status not in REVERSIBLE or named.amount != r.amount:
            return None
        return named
    reference = normalise_reference(r.reference)
    invoice = await uow.invoices.by_reference(reference, lock=False) if reference else None
    return await uow.payments.reversible(
        compact_reference=r.reference.replace(" ", "").upper(),
        invoice_id=invoice.id if invoice is not None else None,
        amount=r.amount,
    )


async def _take_reversal(env: Envelope[Any], r: ReferencePaymentReversed, uow: InvoicingUnitOfWork) -> str:
    """One reversal: ``reversed``, ``unmatched`` (kept for the clerk) or ``repeated``."""
    if await uow.payments.get(r.payment_id) is not None:
        return "repeated"
    original = await _original(r, uow)
    new = await uow.payments.add(
        {
            "payment_id": r.payment_id,
            "kind": "reversal",
            "reverses_payment_id": original.payment_id if original is not None else r.reverses_payment_id,
            "reference": r.reference,
            "amount": r.amount,
            "payment_date": r.payment_date,
            "payer_name": None,
            "invoice_id": original.invoice_id if original is not None else None,
            "status": "reversal" if original is not None else "unmatched",
            "reason": None if original is not None else "reversal-unknown",
            "event_id": env.meta.id,
        }
    )
    if not new:
        return "repeated"
    if original is None:
        return "unmatched"
    await uow.payments.mark_reversed(original.payment_id)
    if original.invoice_id is not None and original.status in ("matched", "allocated"):
        invoice = await uow.invoices.get(original.invoice_id, lock=True, with_lines=False)
        assert invoice is not None
        await balances.reverse(
            uow,
            invoice,
            payment_id=r.payment_id,
            reverses_payment_id=original.payment_id,
            amount=original.amount,
            on=r.payment_date,
            trace=env.meta.trace,
        )
    return "reversed"


async def allocate(uow: InvoicingUnitOfWork, payment_id: str, invoice_number: int, *, actor: str) -> StoredPayment:
    """A clerk allocates an unmatched payment to an invoice by its number."""
    async with uow:
        payment = await uow.payments.get(payment_id, lock=True)
        if payment is None:
            raise NotFound("payment-not-found", f"Maksua {payment_id} ei löydy.", f"Payment {payment_id} not found.")
        if payment.kind == "reversal":
            raise Conflict(
                "payment-is-reversal",
                "Tämä on pankin peruutus, ei maksu: sitä ei kohdisteta laskulle.",
                "This is the bank's reversal, not a payment: it is not allocated to an invoice.",
            )
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
