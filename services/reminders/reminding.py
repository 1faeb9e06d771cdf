"""The create job (``reminders.create`` and the daily ``reminders.daily``): reminders of
some levels on a date, for all candidates or a selection, as a *partitioned* job
(``shared/jobs/parts.py``): its parts are taken by whichever replicas run.

- **plan** (once): the candidates (the items at the step before each level) cut into
  ranges of invoice ids of about ``chunk_size`` items (every ``chunk_size``-th id a
  cut, the last range open-ended), or the selected invoices cut into slices.
- **part** (any runner, one transaction each): for each level in order, lock the
  range's items (FOR UPDATE, in invoice-id order), decide again with the rules of the
  job's date (an invoice paid since the list was fetched is skipped and counted),
  insert the reminders (the unique (invoice, level) constraint drops a second one),
  move the items to their level, and put one ``ReminderIssued`` per inserted reminder
  in the outbox. The part commits with its result; a runner that dies mid-part leaves
  it pending for the next one. Ranges do not overlap, and each level of a range runs
  after the one before inside the same transaction, so the result is the one the
  single-runner job gave (#1 first; the same run then finds those at the step before
  #2, too early).
- **finish** (once): the job's result is the parts' counts added up.

An item whose data cannot make a reminder (a broken snapshot) is counted as
``skipped:<level>:bad_data`` and a failure; the rest of its part goes on.

Result counts: ``created:<level>`` and ``skipped:<level>:<reason>``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from services.reminders.documents import DocumentBuilder
from services.reminders.domain import eligibility
from services.reminders.domain.eligibility import Decision, Exclusion
from services.reminders.handlers import Rules, settled_since
from services.reminders.repositories import RemindersUnitOfWork
from services.reminders.tables import NewReminder, StoredItem
from shared import failpoints
from shared.events import topics
from shared.events.envelope import encode_data
from shared.events.reminders import ReminderDocument, ReminderIssued
from shared.jobs import JobContext, JobFailed, Step
from shared.jobs.parts import PartResult

log = logging.getLogger(__name__)

PhaseObserver = Callable[[str, float], None]
"""Called with (phase, seconds) as a part of the create job goes (metrics)."""

_BAD_DATA = (ValueError, ArithmeticError, TypeError, KeyError)
"""What one item's broken data raises while deciding or building (pydantic's
ValidationError and JSON errors are ValueErrors)."""


class _Stopwatch:
    def __init__(self, observe: PhaseObserver | None) -> None:
        self._observe = observe
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        if self._observe is not None:
            self._observe(phase, now - self._last)
        self._last = now


class Reminding:
    def __init__(self, rules: Rules, observe: PhaseObserver | None = None) -> None:
        self.rules = rules
        self.observe = observe

    def _params(self, ctx: JobContext) -> tuple[list[int], date, list[str] | None]:
        try:
            on = date.fromisoformat(str(ctx.params["date"]))
            levels = [int(v) for v in ctx.params["levels"]]
            ids = ctx.params.get("invoice_ids")
        except (KeyError, TypeError, ValueError):
            raise JobFailed("bad-params", "levels (list of numbers) and date (YYYY-MM-DD) are required") from None
        policy = self.rules.policy.at(on)
        if not levels or any(not 1 <= lv <= policy.levels for lv in levels):
            raise JobFailed("bad-params", f"levels must be within 1..{policy.levels}")
        return levels, on, None if ids is None else [str(i) for i in ids]

    async def total(self, ctx: JobContext, uow: RemindersUnitOfWork) -> int:
        levels, on, ids = self._params(ctx)
        if ids is not None:
            return len(ids) * len(levels)
        since = settled_since(on, self.rules.policy.at(on))
        return sum([await uow.items.count_step(level=lv, on=on, settled_since=since) for lv in levels])

    async def plan(self, ctx: JobContext, uow: RemindersUnitOfWork) -> list[dict[str, Any]]:
        """The parts: ranges of invoice ids (``after``, ``upto``], or slices (``pos``,
        ``count``) of the selected invoices. Always at least one part (a job over
        nothing still says ``created:<level>: 0``)."""
        levels, on, ids = self._params(ctx)
        size = max(1, ctx.chunk_size)
        if ids is not None:
            return [{"pos": pos, "count": min(size, len(ids) - pos)} for pos in range(0, len(ids), size)] or [
                {"pos": 0, "count": 0}
            ]
        since = settled_since(on, self.rules.policy.at(on))
        cuts = await uow.items.plan_cuts(levels=levels, on=on, settled_since=since, size=size)
        bounds: list[str | None] = ["", *cuts]
        return [{"after": bounds[i], "upto": cuts[i] if i < len(cuts) else None} for i in range(len(bounds))]

    async def finish(self, ctx: JobContext, uow: RemindersUnitOfWork, parts: list[PartResult]) -> dict[str, int]:
        """Every level of the job named in its result, 0 when nothing was made."""
        levels, _, _ = self._params(ctx)
        return {f"created:{lv}": 0 for lv in levels}

    async def chunk(self, ctx: JobContext, uow: RemindersUnitOfWork) -> Step:
        """One part: each level of the job over the part's range (or slice), in order."""
        if ctx.part is None:
            raise JobFailed("not-partitioned", "the create job runs as parts")
        levels, on, ids = self._params(ctx)
        policy = self.rules.policy.at(on)
        since = settled_since(on, policy)
        part = ctx.part
        counts: Counter[str] = Counter()
        done = failures = 0
        watch = _Stopwatch(self.observe)
        if ids is None and len(levels) > 1:  # every level's items locked at once, in id order
            await uow.items.lock_range(
                levels=levels, on=on, settled_since=since, after=str(part["after"]), upto=part["upto"]
            )
        for level in levels:
            decisions: list[tuple[StoredItem | None, Decision | str]] = []
            if ids is not None:
                pos = int(part["pos"])
                batch_ids = ids[pos : pos + int(part["count"])]
                found = await uow.items.get_many(batch_ids, lock=True)
                watch.lap("select")
                for invoice_id in sorted(batch_ids):
                    stored = found.get(invoice_id)
                    item = stored.item if stored else None
                    rechecked = self._decided(item, level, on, listed=False)
                    decisions.append((stored, "not_found" if rechecked is None else rechecked))  # never None
                done += len(batch_ids)
            else:
                batch = await uow.items.step_range(
                    level=level, on=on, settled_since=since, after=str(part["after"]), upto=part["upto"]
                )
                watch.lap("select")
                for stored in batch:
                    decision = self._decided(stored.item, level, on, listed=True)
                    if decision is not None:
                        decisions.append((stored, decision))
                done += len(batch)
            watch.lap("decide")
            made, bad = await self._create(ctx, uow, level, decisions, watch)
            counts.update(made)
            failures += bad
        failpoints.hit("reminders.create.before_commit")  # crash tests: die with this part uncommitted
        return Step(done=done, failures=failures, counts=dict(counts))

    def _decided(self, item: Any, level: int, on: date, *, listed: bool) -> Decision | str | None:
        """The rules' decision (``listed``: a range's item, None if not near; else a
        selected invoice, rechecked), or ``bad_data`` when the item's data breaks them."""
        policy, rates = self.rules.policy.at(on), self.rules.rates
        try:
            if listed:
                return eligibility.listed(item, level, on, policy, rates)
            return eligibility.recheck(item, level, on, policy, rates)
        except _BAD_DATA as exc:
            log.warning("reminder #%d for %s not decided: %s", level, item.invoice_id, type(exc).__name__)
            return "bad_data"

    async def _create(
        self,
        ctx: JobContext,
        uow: RemindersUnitOfWork,
        level: int,
        decisions: Sequence[tuple[StoredItem | None, Decision | str]],
        watch: _Stopwatch,
    ) -> tuple[Counter[str], int]:
        counts: Counter[str] = Counter()
        bad = 0
        builder = DocumentBuilder()
        issued_at = self.rules.clock.now()
        events: dict[str, tuple[ReminderIssued, bytes]] = {}
        rows = []
        for stored, decision in decisions:
            if isinstance(decision, str):
                counts[f"skipped:{level}:{decision}"] += 1
                bad += decision == "bad_data"
                continue
            if isinstance(decision, Exclusion):
                counts[f"skipped:{level}:{decision.reason}"] += 1
                continue
            assert stored is not None
            try:
                event = builder.reminder(stored, decision, issued_at)
                value = encode_data(event)  # once: the outbox's value, and the stored document inside it
            except _BAD_DATA as exc:  # e.g. a snapshot the contract's model refuses: this item only
                log.warning("reminder #%d for %s not built: %s", level, stored.item.invoice_id, type(exc).__name__)
                counts[f"skipped:{level}:bad_data"] += 1
                bad += 1
                continue
            doc = event.reminder
            events[doc.invoice_id] = (event, value)
            rows.append(
                NewReminder(
                    reminder_id=doc.reminder_id,
                    invoice_id=doc.invoice_id,
                    level=level,
                    customer_number=stored.item.customer_number,
                    reminder_date=doc.reminder_date,
                    due_date=doc.due_date,
                    open_amount=doc.open_amount,
                    fee=doc.fee,
                    compensation=doc.compensation,
                    interest=doc.interest,
                    total_due=doc.total_due,
                    document_json=_document_json(value, doc),
                )
            )
        watch.lap("documents")
        created = await uow.reminders.add(rows, job_id=ctx.id, actor=ctx.actor)
        watch.lap("insert")
        for row in rows:
            if row.invoice_id in created:
                event, value = events[row.invoice_id]
                uow.outbox.add(topics.REMINDERS.name, event, key=row.customer_number, encoded=value)
            else:  # another run made it first (the unique constraint said so)
                counts[f"skipped:{level}:already_reminded"] += 1
        counts[f"created:{level}"] += len(created)
        watch.lap("outbox")
        return counts, bad


_WRAPPER = b'{"reminder":'


def _document_json(value: bytes, doc: ReminderDocument) -> str:
    """The document's JSON cut out of its event's (``{"reminder": <document>}``, the
    event's only field), so the document is encoded once."""
    if value.startswith(_WRAPPER) and value.endswith(b"}"):
        return value[len(_WRAPPER) : -1].decode()
    return doc.model_dump_json()
