"""Use cases that keep the open items: the invoicing service's events and the
customers service's billing profiles, applied in the consumer's transaction.

Events of ``invoicing.invoices.v1`` come in order per customer (the key), so an
invoice's payments follow its issue. A batch is applied in runs of consecutive events
of one kind (one statement per run, whatever its length), which keeps that order:

- invoice issued (and a corrective invoice whose total is positive: an invoice of its
  own, with its own reference and due date): a new open item; the same invoice again
  changes nothing;
- credit note (a corrective invoice whose total is negative): lowers the open amount of
  the invoice it corrects by its total, once (keyed by the credit note's id);
- payment recorded: the payment is kept with its date (penalty interest runs on the
  balance of each day) and invoicing's paid total, open amount and status are taken
  over; a payment id seen before changes nothing, so a replayed old payment cannot move
  the item back;
- payment reversed (the bank took a payment back): kept as a negative payment on its
  date (the balance of each day rises again from then on), and invoicing's totals and
  status taken over: an invoice the payment had settled is open, and remindable, again;
- invoice settled: status, open amount and the settlement date from invoicing.

Redelivery is harmless twice over: the inbox skips an event handled before, and every
effect here is keyed (invoice id, payment id, credit note id).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from services.reminders.domain.items import SETTLED
from services.reminders.repositories import RemindersUnitOfWork, dumps
from services.reminders.tables import IssuedRow, Movement, PaymentState, Profile
from shared.db.erasure import erase_profile_copies
from shared.events.customers import BillingProfileChanged, BillingProfileErased
from shared.events.envelope import Envelope
from shared.events.invoicing import (
    CorrectiveInvoiceIssued,
    InvoiceDocument,
    InvoiceIssued,
    InvoiceSettled,
    PaymentRecorded,
    PaymentReversed,
)
from shared.rejections import EventRejected


def _kind(env: Envelope[Any]) -> str:
    data = env.data
    if isinstance(data, InvoiceIssued):
        return "issued"
    if isinstance(data, CorrectiveInvoiceIssued):
        return "credit" if data.invoice.totals.gross < 0 else "issued"
    if isinstance(data, PaymentRecorded | PaymentReversed):
        return "payment"  # one run: a payment and its reversal keep their order
    if isinstance(data, InvoiceSettled):
        return "settled"
    return "other"


def issued_row(doc: InvoiceDocument) -> IssuedRow:
    return IssuedRow(
        invoice_id=doc.invoice_id,
        invoice_number=doc.invoice_number,
        customer_number=doc.customer.customer_number,
        consumer=doc.customer.consumer,
        document_type=doc.document_type,
        invoice_date=doc.invoice_date,
        due_date=doc.due_date,
        gross=doc.totals.gross,
        reference=doc.reference,
        reference_rf=doc.reference_rf,
        seller_json=doc.seller.model_dump_json(),
        customer_json=doc.customer.model_dump_json(),
    )


def credit_movement(doc: InvoiceDocument) -> Movement:
    if doc.original_invoice_id is None:
        raise EventRejected("credit-note-without-original", "a credit note must name original_invoice_id")
    return Movement(doc.original_invoice_id, "credit", doc.invoice_id, doc.invoice_date, doc.totals.gross)


async def apply_invoice_events(events: Sequence[Envelope[Any]], uow: RemindersUnitOfWork) -> None:
    for kind, run in itertools.groupby(events, key=_kind):
        envs = list(run)
        if kind == "issued":
            docs = [e.data.invoice for e in envs]
            await uow.items.add_issued([issued_row(d) for d in docs if d.totals.gross > 0])
        elif kind == "credit":
            credits = [credit_movement(e.data.invoice) for e in envs]
            await uow.items.lock([c.invoice_id for c in credits])
            new = await uow.items.add_movements(credits)
            await uow.items.apply_credits([c for c in credits if (c.invoice_id, c.kind, c.ref) in new])
        elif kind == "payment":
            payments: list[PaymentRecorded | PaymentReversed] = [e.data for e in envs]
            movements = [
                Movement(
                    p.invoice_id,
                    "payment",
                    p.payment_id,
                    p.payment_date,
                    -p.amount if isinstance(p, PaymentReversed) else p.amount,
                )
                for p in payments
            ]
            await uow.items.lock([m.invoice_id for m in movements])
            new = await uow.items.add_movements(movements)
            states = {
                p.invoice_id: PaymentState(
                    p.invoice_id,
                    p.paid_total,
                    p.open_amount,
                    p.status,
                    p.payment_date if p.status in SETTLED else None,
                    keep_settled_on=isinstance(p, PaymentReversed) and p.status in SETTLED,
                )
                for p in payments
                if (p.invoice_id, "payment", p.payment_id) in new
            }  # the last new payment per invoice wins: its totals are cumulative
            await uow.items.apply_states(list(states.values()))
        elif kind == "settled":
            settled: dict[str, PaymentState] = {
                e.data.invoice_id: PaymentState(
                    e.data.invoice_id, None, e.data.open_amount, e.data.status, e.data.settled_on
                )
                for e in envs
            }
            await uow.items.lock(list(settled))
            await uow.items.apply_states(list(settled.values()))


async def apply_profiles(events: Sequence[Envelope[Any]], uow: RemindersUnitOfWork, *, topic: str) -> None:
    """The latest billing profile per customer: its "no reminders" flag stops reminders
    for the customer's open invoices from now on, and a reminder is sent to the billing
    snapshot of the latest valid profile (the current address, e-mail and channel).

    A tombstone (the customer was erased) anonymises the copy (invalid from then on, so
    a reminder of an open invoice goes to the snapshot the invoice was issued with: an
    accounting record, kept; the debt is still a legal claim) and deletes the
    customer's profile dead letters on ``topic``."""
    erased = [e.data.customer_number for e in events if isinstance(e.data, BillingProfileErased)]
    events = [e for e in events if isinstance(e.data, BillingProfileChanged)]
    await uow.profiles.upsert(
        [
            Profile(
                customer_number=p.customer_number,
                version=p.version,
                consumer=p.consumer,
                no_reminders=p.snapshot.no_reminders,
                valid=p.valid,
                snapshot_json=dumps(p.snapshot.model_dump(mode="json")),
            )
            for p in (e.data for e in events)
        ]
    )
    if erased:
        await erase_profile_copies(
            uow.session,
            "customer_flags",
            erased,
            dead_letter_topic=topic,
            insert_defaults={"consumer": "true", "no_reminders": "false"},
            with_errors=False,
        )
