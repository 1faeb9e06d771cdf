"""Use cases of the customers service: async functions over a unit of work.

Every change to a card, from the CRM or from a clerk, goes the same way: compute the
change (pure), save the card, append to its audit trail, and put the new billing
profile in the outbox, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from services.customers import erasure
from services.customers.domain import cards, ownership
from services.customers.domain.identifiers import normalised
from services.customers.domain.rules import validate
from services.customers.tables import AuditEntry, CrmSeen, CustomersUnitOfWork, StoredCard
from shared.events import topics
from shared.events.customers import BillingProfileErased, CustomerData, CustomerUpserted
from shared.events.envelope import Envelope
from shared.jobs import JobContext, Step
from shared.tracing import TraceContext


class CustomerNotFound(Exception):
    def __init__(self, customer_number: str) -> None:
        super().__init__(customer_number)
        self.customer_number = customer_number


def _emit(uow: CustomersUnitOfWork, change: cards.Change, trace: TraceContext | None = None) -> None:
    """The new billing profile in the outbox; ``trace``: what caused it (else the unit
    of work's current trace)."""
    uow.outbox.add(
        topics.BILLING_PROFILES.name,
        cards.profile(change.card, change.errors),
        key=change.card.customer_number,
        trace=trace,
    )


@dataclass(frozen=True)
class UpsertOutcome:
    """What a batch of upserts did: new card versions, and upserts ignored as stale."""

    versions: int
    stale: int
    erased: int = 0
    """Upserts of an erased customer, ignored (audit ``{"ignored": "erased"}``)."""


async def apply_upserts(events: Sequence[Envelope[CustomerUpserted]], uow: CustomersUnitOfWork) -> UpsertOutcome:
    """Customer upserts from the CRM (a batch, in delivery order).

    Each upsert applies only the fields the CRM changed since its previous upsert
    (:mod:`~services.customers.domain.ownership`); an upsert equal to the stored card
    makes no version and no event; an upsert older (``ce_time``) than the last one
    applied for the customer changes nothing and leaves an audit row
    ``{"ignored": "stale"}`` (no version)."""
    tracked = await uow.customers.get_for_upsert({e.data.customer_number for e in events})
    current = {n: t.card for n, t in tracked.items()}
    crm = {n: t.crm for n, t in tracked.items()}
    last_time = {n: t.crm_time for n, t in tracked.items()}
    erased = {n for n, t in tracked.items() if t.erased}
    final: dict[str, cards.Change] = {}
    seen: dict[str, CrmSeen] = {}
    audit: list[AuditEntry] = []
    stale = ignored_erased = 0
    for env in events:
        number = env.data.customer_number
        actor = f"event:{env.meta.source}"
        if number in erased:
            # an erasure request anonymised the card: an upsert (a late one, a replay)
            # must not fill it again; the CRM erases its own copy
            ignored_erased += 1
            audit.append(AuditEntry(number, None, actor, {"ignored": "erased"}, env.meta.id))
            continue
        last = last_time.get(number)
        if ownership.is_stale(last, env.meta.time):
            stale += 1
            assert last is not None
            ignored = {"ignored": "stale", "sent_at": env.meta.time.isoformat(), "last_applied": last.isoformat()}
            audit.append(AuditEntry(number, None, actor, ignored, env.meta.id))
            continue
        sent = env.data.customer
        card = current.get(number)
        change = cards.apply(card, number, ownership.merge_upsert(card.data if card else None, crm.get(number), sent))
        crm[number], last_time[number] = sent, env.meta.time
        seen[number] = CrmSeen(sent, env.meta.time)
        if change is None:
            continue
        current[number] = change.card
        final[number] = change
        audit.append(AuditEntry(number, change.card.version, actor, change.changes, env.meta.id))
        _emit(uow, change, env.meta.trace)  # its own upsert's trace, not the batch's
    # cards, what the CRM sent for cards it did not change, audit: one round trip
    unchanged = {n: s for n, s in seen.items() if n not in final}
    await uow.customers.save_upserts(list(final.values()), seen, unchanged, audit)
    return UpsertOutcome(versions=len(audit) - stale - ignored_erased, stale=stale, erased=ignored_erased)


@dataclass(frozen=True)
class UpdateCard:
    """A clerk's fix of a card (seed step 10): the fields to set, the rest kept."""

    customer_number: str
    fields: dict[str, Any]
    actor: str


class InvalidCard(Exception):
    """The card a patch would make is not valid data (field paths in ``errors``)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid card")
        self.errors = errors


async def update_card(cmd: UpdateCard, uow: CustomersUnitOfWork) -> StoredCard:
    """Apply a clerk's fix; publish the new profile and, for the CRM, the correction."""
    async with uow:
        current = (await uow.customers.get_many([cmd.customer_number])).get(cmd.customer_number)
        if current is None:
            raise CustomerNotFound(cmd.customer_number)
        if await erasure.erased_at(uow, cmd.customer_number) is not None:
            raise erasure.CustomerErased(cmd.customer_number)
        merged = current.data.model_dump()
        for key, value in cmd.fields.items():
            if key == "address" and isinstance(value, dict) and merged.get("address"):
                merged["address"] = {**merged["address"], **value}
            else:
                merged[key] = value
        try:
            data = CustomerData.model_validate(merged)
        except ValidationError as exc:
            errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
            raise InvalidCard(errors) from None
        change = cards.apply(current, cmd.customer_number, data)
        if change is not None:
            await uow.customers.save([change])
            await uow.customers.add_audit(
                [AuditEntry(cmd.customer_number, change.card.version, cmd.actor, change.changes)]
            )
            _emit(uow, change)
            uow.outbox.add(
                topics.CUSTOMER_CORRECTIONS.name,
                cards.correction(change, cmd.actor),
                key=cmd.customer_number,
            )
        await uow.commit()
    async with uow:
        stored = await uow.customers.get(cmd.customer_number)
    assert stored is not None
    return stored


REPUBLISH_PROFILES = "customers.republish-profiles"
"""Job kind: re-validate every card and publish every billing profile again."""


async def count_cards(job: JobContext, uow: CustomersUnitOfWork) -> int:
    return await uow.customers.count()


async def republish_profiles(job: JobContext, uow: CustomersUnitOfWork) -> Step:
    """One chunk of the republish job (cards in customer-number order after the
    cursor), in the caller's transaction: re-validate each card with today's rules and
    publish its profile again.

    A card whose errors changed, or whose identifiers were stored in printed form
    (an IBAN with spaces), gets a new version (audit actor ``revalidation``); the
    others are published again at their version.
    """
    after = str(job.cursor or "")
    numbers = await uow.customers.all_numbers_after(after, job.chunk_size)
    if not numbers:
        return Step(done=0, cursor=after, finished=True)
    changed: list[cards.Change] = []
    audit: list[AuditEntry] = []
    stored_cards = await uow.customers.stored_many(numbers)
    for stored in stored_cards:
        if stored.erased_at is not None:  # its tombstone again, never its profile
            uow.outbox.add_tombstone(
                topics.BILLING_PROFILES.name, BillingProfileErased, key=stored.card.customer_number
            )
            continue
        data = normalised(stored.card.data)  # a card stored before identifiers were normalised
        errors = validate(data)
        card = stored.card
        if errors != stored.errors or data != card.data:
            card = cards.Card(card.customer_number, data, card.version + 1)
            what = {**cards.diff(stored.card.data, data), "errors": [len(stored.errors), len(errors)]}
            change = cards.Change(card, what, errors)
            changed.append(change)
            audit.append(AuditEntry(card.customer_number, card.version, "revalidation", change.changes))
        _emit(uow, cards.Change(card, {}, errors))
    await uow.customers.save(changed)
    await uow.customers.add_audit(audit)
    return Step(
        done=len(numbers),
        cursor=numbers[-1],
        counts={"published": len(stored_cards), "revalidated": len(changed)},
        finished=len(numbers) < job.chunk_size,
    )
