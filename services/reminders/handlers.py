"""Use cases of the reminders service (seed steps 1-6): list the candidates for payment
reminder #N, create the reminders (a job), mark an invoice disputed, list and hand over
collection candidates. Each works in the caller's unit of work and never commits.

The rules come from :class:`Rules`: the dated policy, the reference-rate table and the
clock, loaded and checked once at start.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from services.reminders.documents import DocumentBuilder
from services.reminders.domain import collection, eligibility
from services.reminders.domain.clock import Clock
from services.reminders.domain.eligibility import Candidate, Decision, Exclusion
from services.reminders.domain.messages import Text, created_summary, general_reason, handed_over_summary
from services.reminders.domain.policy import Policy, PolicyBook
from services.reminders.domain.rates import RateTable
from services.reminders.repositories import RemindersUnitOfWork
from services.reminders.tables import NewHandover, StoredItem
from shared.events import topics
from shared.money import ZERO

JOB_CREATE = "reminders.create"
"""Job kind: create the reminders of some levels on a date, for all candidates or a selection."""
JOB_DAILY = "reminders.daily"
"""Job kind: the scheduled run, every level, once per date."""
PAGE = 2000
MAX_HANDOVER = 10_000


class LevelOutOfRange(ValueError):
    def __init__(self, level: int, levels: int) -> None:
        super().__init__(f"level {level} is not one of 1..{levels}")
        self.level = level
        self.levels = levels


@dataclass(frozen=True)
class Rules:
    policy: PolicyBook
    rates: RateTable
    clock: Clock
    agency: str = "perintatoimisto"

    def policy_at(self, on: date, level: int | None = None) -> Policy:
        """The policy of ``on`` (PolicyMissing if none); checks ``level`` against it."""
        policy = self.policy.at(on)
        if level is not None and not 1 <= level <= policy.levels:
            raise LevelOutOfRange(level, policy.levels)
        return policy


def settled_since(on: date, policy: Policy) -> date:
    """The earliest settlement date still listed as "paid" on ``on``."""
    window = policy.paid_near_window
    return on - (window.last_day(on) - on)


# --- candidates ------------------------------------------------------------------------


@dataclass
class Totals:
    candidates: int = 0
    open_amount: Decimal = ZERO
    fees: Decimal = ZERO
    compensation: Decimal = ZERO
    interest: Decimal = ZERO
    total_due: Decimal = ZERO
    excluded: Counter[str] = field(default_factory=Counter)

    def add(self, decision: Decision | collection.CollectionDecision) -> None:
        if isinstance(decision, Exclusion):
            self.excluded[decision.reason] += 1
            return
        self.candidates += 1
        self.open_amount += decision.item.open
        if isinstance(decision, Candidate):
            self.fees += decision.charges.fee
            self.compensation += decision.charges.compensation
            self.interest += decision.charges.interest
            self.total_due += decision.total_due
        else:
            self.fees += decision.fees
            self.compensation += decision.compensation
            self.interest += decision.interest
            self.total_due += decision.total


@dataclass
class Listing:
    on: date
    level: int
    rows: list[tuple[StoredItem, Any]]
    """The page: (item, Candidate | Claim | Exclusion) in invoice-id order."""
    totals: Totals
    next_after: str | None


async def list_candidates(
    rules: Rules, uow: RemindersUnitOfWork, *, level: int, on: date, after: str = "", limit: int = 100
) -> Listing:
    """Candidates for reminder ``level`` on ``on`` and the near invoices left out, one
    page after ``after``; the totals count every one of them."""
    policy = rules.policy_at(on, level)
    since = settled_since(on, policy)
    totals, more, cursor = Totals(), False, ""
    rows: list[tuple[StoredItem, Any]] = []
    while True:
        batch = await uow.items.step(level=level, on=on, settled_since=since, after=cursor, limit=PAGE)
        for stored in batch:
            decision = eligibility.listed(stored.item, level, on, policy, rules.rates)
            if decision is None:
                continue
            totals.add(decision)
            if stored.item.invoice_id > after:
                if len(rows) < limit:
                    rows.append((stored, decision))
                else:
                    more = True
        if len(batch) < PAGE:
            break
        cursor = batch[-1].item.invoice_id
    return Listing(on, level, rows, totals, rows[-1][0].item.invoice_id if more and rows else None)


async def list_collection(
    rules: Rules, uow: RemindersUnitOfWork, *, on: date, after: str = "", limit: int = 100
) -> Listing:
    """Invoices still open after the last reminder: hand-over candidates with their
    claim, and the near ones left out."""
    policy = rules.policy_at(on)
    since = settled_since(on, policy)
    totals, more, cursor = Totals(), False, ""
    rows: list[tuple[StoredItem, Any]] = []
    while True:
        batch = await uow.items.collection_step(levels=policy.levels, settled_since=since, after=cursor, limit=PAGE)
        for stored in batch:
            decision = collection.listed(stored.item, on, policy, rules.rates)
            if decision is None:
                continue
            totals.add(decision)
            if stored.item.invoice_id > after:
                if len(rows) < limit:
                    rows.append((stored, decision))
                else:
                    more = True
        if len(batch) < PAGE:
            break
        cursor = batch[-1].item.invoice_id
    return Listing(on, policy.levels, rows, totals, rows[-1][0].item.invoice_id if more and rows else None)


# --- creating reminders (a job) ----------------------------------------------------------


def create_params(levels: Sequence[int], on: date, invoice_ids: Sequence[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {"levels": list(levels), "date": on.isoformat()}
    if invoice_ids is not None:
        params["invoice_ids"] = list(dict.fromkeys(invoice_ids))
    return params


def summary(result: Mapping[str, int]) -> dict[str, Any]:
    """A create job's result as the clerk reads it: per level, created and skipped (why)."""
    levels: dict[int, tuple[int, dict[str, int]]] = {}
    for key, n in result.items():
        parts = key.split(":")
        if parts[0] == "created" and len(parts) == 2:
            level = int(parts[1])
            levels[level] = (n, levels.get(level, (0, {}))[1])
        elif parts[0] == "skipped" and len(parts) == 3:
            level = int(parts[1])
            created, skipped = levels.get(level, (0, {}))
            skipped[parts[2]] = skipped.get(parts[2], 0) + n
            levels[level] = (created, skipped)
    out: list[dict[str, Any]] = []
    for level in sorted(levels):
        created, skipped = levels[level]
        text = created_summary(level, created, skipped)
        out.append(
            {
                "level": level,
                "created": created,
                "skipped": [{"reason": r, "count": c, **_texts(general_reason(r))} for r, c in sorted(skipped.items())],
                "message_fi": text.fi,
                "message_en": text.en,
            }
        )
    return {
        "levels": out,
        "message_fi": " ".join(x["message_fi"] for x in out),
        "message_en": " ".join(x["message_en"] for x in out),
    }


def _texts(text: Text) -> dict[str, str]:
    return {"message_fi": text.fi, "message_en": text.en}


# --- disputes ---------------------------------------------------------------------------


async def set_dispute(
    uow: RemindersUnitOfWork, invoice_id: str, *, disputed: bool, reason: str | None, actor: str
) -> bool:
    """Mark (or clear) an invoice as disputed: a disputed invoice gets no reminder and
    is not handed over until cleared. False: no such open item."""
    return await uow.items.set_dispute(invoice_id, disputed, reason if disputed else None, actor)


# --- collection ---------------------------------------------------------------------------


@dataclass
class HandoverResult:
    handed_over: list[str]
    skipped: Counter[str]
    more: bool
    text: Text


async def hand_over(
    rules: Rules,
    uow: RemindersUnitOfWork,
    *,
    on: date,
    invoice_ids: Sequence[str] | None,
    agency: str,
    actor: str,
) -> HandoverResult:
    """Hand over the collection candidates (all, or the selected ones) on ``on``: one
    row per invoice (primary key: a second hand-over is impossible) and one
    ``HandedOverToCollection`` with the whole claim each, in the caller's transaction."""
    policy = rules.policy_at(on)
    skipped: Counter[str] = Counter()
    decisions: list[tuple[StoredItem, collection.Claim]] = []
    more = False
    if invoice_ids is not None:
        found = await uow.items.get_many(list(dict.fromkeys(invoice_ids)), lock=True)
        for invoice_id in sorted(set(invoice_ids)):
            stored = found.get(invoice_id)
            if stored is None:
                skipped["not_found"] += 1
            elif stored.item.handed_over:
                skipped["handed_over"] += 1
            else:
                decision = collection.decide(stored.item, on, policy, rules.rates)
                if isinstance(decision, Exclusion):
                    skipped[decision.reason] += 1
                else:
                    decisions.append((stored, decision))
    else:
        batch = await uow.items.collection_step(
            levels=policy.levels, settled_since=settled_since(on, policy), limit=MAX_HANDOVER + 1, lock=True
        )
        more = len(batch) > MAX_HANDOVER
        for stored in batch[:MAX_HANDOVER]:
            listed = collection.listed(stored.item, on, policy, rules.rates)
            if isinstance(listed, Exclusion):
                skipped[listed.reason] += 1
            elif listed is not None:
                decisions.append((stored, listed))
    builder = DocumentBuilder()
    events = {s.item.invoice_id: builder.handover(s, claim, agency, actor) for s, claim in decisions}
    rows = [
        NewHandover(
            invoice_id=s.item.invoice_id,
            customer_number=s.item.customer_number,
            handed_over_on=on,
            agency=agency,
            claim_json=events[s.item.invoice_id].model_dump_json(),
        )
        for s, _ in decisions
    ]
    added = await uow.handovers.add(rows, actor)
    await uow.items.mark_handed_over(sorted(added), on)
    for row in rows:
        if row.invoice_id in added:
            uow.outbox.add(topics.REMINDERS.name, events[row.invoice_id], key=row.customer_number)
        else:
            skipped["handed_over"] += 1
    return HandoverResult(sorted(added), skipped, more, handed_over_summary(len(added), skipped))
