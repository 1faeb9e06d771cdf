"""Reference payments (``bank.reference-payments.v1``): matched by national or RF
reference to a confirmed invoice; anything else kept as unmatched for a clerk to
allocate by hand. Idempotent by the bank's payment id (a second copy changes nothing).

A reversal (the bank took a payment back) finds its payment by the id the bank's file
names, else by the normalised reference and the amount (of the payments not reversed
yet, the one paid on or before the reversal's date and closest to it; else the earliest
after it), and takes the whole payment back: a matched or allocated one lowers its
invoice's paid amount (PaymentReversed; a settled invoice is open again), an unmatched
one is just marked ``reversed``. Only the whole amount is taken back. A reversal whose
payment is not found (or whose amount is not the payment's) is kept: unmatched, reason
``reversal-unknown``; when its payment arrives later (files imported out of order, an
outside publisher), taking that payment applies the waiting reversal; the clerk can
also apply it to a payment by hand (:func:`apply_reversal`). The reversal is recorded
under its own id, so a second copy changes nothing either.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from services.invoicing.domain.payments import normalise_reference
from services.invoicing.handlers import balances
from services.invoicing.handlers.errors import Conflict, NotFound
from services.invoicing.store.payments import REVERSIBLE, StoredPayment
from services.invoicing.uow import InvoicingUnitOfWork
from shared.events.bank import ReferencePaymentReceived, ReferencePaymentReversed
from shared.events.envelope import Envelope
from shared.tracing import TraceContext

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
            if await _apply_waiting(p, uow, env.meta.trace):
                counts["reversed"] += 1
            continue
        # each payment's events carry its own trace, not the batch's first one
        await balances.pay(
            uow, invoice, payment_id=p.payment_id, amount=p.amount, on=p.payment_date, trace=env.meta.trace
        )
        counts["matched"] += 1
        if await _apply_waiting(p, uow, env.meta.trace):
            counts["reversed"] += 1
    return counts


def same_reference(a: str, b: str) -> bool:
    """Two reference texts stand for the same reference (RF or national form, spaces,
    leading zeros)."""
    na, nb = normalise_reference(a), normalise_reference(b)
    if na is not None or nb is not None:
        return na == nb
    return a.replace(" ", "").upper() == b.replace(" ", "").upper()


async def _apply_waiting(p: ReferencePaymentReceived, uow: InvoicingUnitOfWork, trace: TraceContext | None) -> bool:
    """A reversal taken before its payment (``reversal-unknown``) that names this payment,
    or (naming none) has its reference and amount, is applied now."""
    for waiting in await uow.payments.waiting_reversals(p.amount):
        named = waiting.reverses_payment_id
        if named == p.payment_id or (named is None and same_reference(waiting.reference, p.reference)):
            payment = await uow.payments.get(p.payment_id, lock=True)
            assert payment is not None
            await _reverse(uow, waiting, payment, trace=trace)
            return True
    return False


async def _original(r: ReferencePaymentReversed, uow: InvoicingUnitOfWork) -> StoredPayment | None:
    """The payment ``r`` takes back (locked), or None."""
    if r.reverses_payment_id is not None:
        named = await uow.payments.get(r.reverses_payment_id, lock=True)
        if named is None or named.kind != "payment" or named.status not in REVERSIBLE or named.amount != r.amount:
            return None
        return named
    reference = normalise_reference(r.reference)
    invoice = await uow.invoices.by_reference(reference, lock=False) if reference else None
    invoice_id = invoice.id if invoice is not None else None
    candidates = [
        c
        for c in await uow.payments.reversible(invoice_id=invoice_id, amount=r.amount)
        if (invoice_id is not None and c.invoice_id == invoice_id) or same_reference(c.reference, r.reference)
    ]
    if not candidates:
        return None
    chosen = min(candidates, key=lambda c: closest(c.payment_date, r.payment_date))
    locked = await uow.payments.get(chosen.payment_id, lock=True)
    return locked if locked is not None and locked.status in REVERSIBLE else None


def closest(paid: date, reversed_on: date) -> tuple[int, int]:
    """Sort key of the payment a reversal takes back: paid on or before the reversal's
    date, the closest first; then those paid after it, the earliest first."""
    days = (reversed_on - paid).days
    return (0, days) if days >= 0 else (1, -days)


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
    await _effects(uow, r.payment_id, r.payment_date, original, trace=env.meta.trace)
    return "reversed"


async def _effects(
    uow: InvoicingUnitOfWork, reversal_id: str, on: date, original: StoredPayment, *, trace: TraceContext | None
) -> None:
    """The original marked reversed and, if it was on an invoice, the invoice's paid
    amount lowered (PaymentReversed)."""
    await uow.payments.mark_reversed(original.payment_id)
    if original.invoice_id is not None and original.status in ("matched", "allocated"):
        invoice = await uow.invoices.get(original.invoice_id, lock=True, with_lines=False)
        assert invoice is not None
        await balances.reverse(
            uow,
            invoice,
            payment_id=reversal_id,
            reverses_payment_id=original.payment_id,
            amount=original.amount,
            on=on,
            trace=trace,
        )


async def _reverse(
    uow: InvoicingUnitOfWork, reversal: StoredPayment, original: StoredPayment, *, trace: TraceContext | None
) -> None:
    """A waiting reversal applied to ``original`` (locked, reversible, same amount)."""
    await uow.payments.link_reversal(
        reversal.payment_id, original_id=original.payment_id, invoice_id=original.invoice_id
    )
    await _effects(uow, reversal.payment_id, reversal.payment_date, original, trace=trace)


async def apply_reversal(uow: InvoicingUnitOfWork, reversal_id: str, payment_id: str) -> StoredPayment:
    """A clerk applies a reversal kept as ``reversal-unknown`` to the payment it took back."""
    async with uow:
        reversal = await uow.payments.get(reversal_id, lock=True)
        if reversal is None:
            raise NotFound("payment-not-found", f"Maksua {reversal_id} ei löydy.", f"Payment {reversal_id} not found.")
        if reversal.kind != "reversal" or reversal.status != "unmatched":
            raise Conflict(
                "not-a-waiting-reversal",
                "Tämä ei ole odottava pankin peruutus.",
                "This is not a bank reversal waiting for its payment.",
            )
        original = await uow.payments.get(payment_id, lock=True)
        if original is None or original.kind != "payment":
            raise NotFound("payment-not-found", f"Maksua {payment_id} ei löydy.", f"Payment {payment_id} not found.")
        if original.status not in REVERSIBLE:
            raise Conflict("payment-already-reversed", "Maksu on jo peruutettu.", "The payment is reversed already.")
        if original.amount != reversal.amount:
            raise Conflict(
                "reversal-amount-differs",
                "Peruutuksen summa ei ole maksun summa.",
                "The reversal's amount is not the payment's amount.",
            )
        await _reverse(uow, reversal, original, trace=None)
        await uow.commit()
    async with uow:
        stored = await uow.payments.get(reversal_id)
    assert stored is not None
    return stored


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
