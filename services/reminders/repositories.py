"""The reminders service's repositories and its unit of work: the queries the use cases
need, over the tables in ``tables.py`` (statements in ``statements.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.reminders import statements as sql
from services.reminders.domain.interest import Payment
from services.reminders.domain.items import OpenItem, ReminderStep
from services.reminders.tables import (
    IssuedRow,
    Movement,
    NewHandover,
    NewReminder,
    PaymentState,
    Profile,
    StoredItem,
)
from shared.db.uow import UnitOfWork

_PAID, _LAST_LEVEL = 8, 18
"""Positions of paid_total and last_level in a row of ``statements.COLUMNS``."""


class OpenItemRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add_issued(self, rows: Sequence[IssuedRow]) -> None:
        """New open items (an invoice issued twice is added once). Payments or credit
        notes that arrived before their invoice are taken into account."""
        if rows:
            await self._s.execute(
                sql.ISSUE,
                {
                    "ids": [r.invoice_id for r in rows],
                    "numbers": [r.invoice_number for r in rows],
                    "customers": [r.customer_number for r in rows],
                    "consumers": [r.consumer for r in rows],
                    "types": [r.document_type for r in rows],
                    "invoice_dates": [r.invoice_date for r in rows],
                    "due_dates": [r.due_date for r in rows],
                    "gross": [r.gross for r in rows],
                    "refs": [r.reference for r in rows],
                    "rfs": [r.reference_rf for r in rows],
                    "sellers": [r.seller_json for r in rows],
                    "snapshots": [r.customer_json for r in rows],
                },
            )

    async def lock(self, ids: Sequence[str]) -> None:
        """Lock items in invoice-id order (the order the reminder job locks them in, so
        the two never deadlock)."""
        if ids:
            await self._s.execute(sql.LOCK, {"ids": sorted(set(ids))})

    async def add_movements(self, rows: Sequence[Movement]) -> set[tuple[str, str, str]]:
        """Record payments / credit notes; returns the (invoice, kind, ref) that were new."""
        if not rows:
            return set()
        result = await self._s.execute(
            sql.MOVEMENTS,
            {
                "ids": [r.invoice_id for r in rows],
                "kinds": [r.kind for r in rows],
                "refs": [r.ref for r in rows],
                "dates": [r.on for r in rows],
                "amounts": [r.amount for r in rows],
            },
        )
        return {(r.invoice_id, r.kind, r.ref) for r in result}

    async def apply_credits(self, credits: Sequence[Movement]) -> None:
        """Lower open items by new credit notes (amounts negative); an item credited
        to zero or below is settled as ``credited`` on the credit note's date."""
        if credits:
            await self._s.execute(
                sql.CREDIT,
                {
                    "ids": [c.invoice_id for c in credits],
                    "amounts": [c.amount for c in credits],
                    "dates": [c.on for c in credits],
                },
            )

    async def apply_states(self, states: Sequence[PaymentState]) -> None:
        """Invoicing's word on paid total, open amount and status (one per item)."""
        if states:
            await self._s.execute(
                sql.STATE,
                {
                    "ids": [s.invoice_id for s in states],
                    "paid": [s.paid_total for s in states],
                    "open": [s.open_amount for s in states],
                    "status": [s.status for s in states],
                    "settled": [s.settled_on for s in states],
                    "keep": [s.keep_settled_on for s in states],
                },
            )

    async def step(
        self,
        *,
        level: int,
        on: date,
        settled_since: date,
        after: str = "",
        limit: int = 1000,
        lock: bool = False,
    ) -> list[StoredItem]:
        """Items at the step before reminder ``level`` (``level - 1`` reminders made),
        overdue on ``on``, not handed over, open or settled since ``settled_since``,
        in invoice-id order after ``after``; ``lock``: FOR UPDATE (the creating
        transaction: a payment for one of them waits until it commits)."""
        stmt = sql.STEP_LOCK if lock else sql.STEP
        params = {"prev": level - 1, "on": on, "since": settled_since, "after": after, "limit": limit}
        rows = list(await self._s.execute(stmt, params))
        return await self._complete(rows)

    async def get_many(self, ids: Sequence[str], *, lock: bool = False) -> dict[str, StoredItem]:
        if not ids:
            return {}
        rows = list(await self._s.execute(sql.BY_IDS_LOCK if lock else sql.BY_IDS, {"ids": list(ids)}))
        return {s.item.invoice_id: s for s in await self._complete(rows)}

    async def plan_cuts(self, *, levels: Sequence[int], on: date, settled_since: date, size: int) -> list[str]:
        """Every ``size``-th invoice id (in order) of the items at the steps before
        ``levels``: the upper ends of a partitioned job's ranges."""
        params = {"prevs": [lv - 1 for lv in levels], "on": on, "since": settled_since, "size": size}
        return [r[0] for r in await self._s.execute(sql.PLAN_CUTS, params)]

    async def lock_range(
        self, *, levels: Sequence[int], on: date, settled_since: date, after: str, upto: str | None
    ) -> None:
        """Lock (in invoice-id order, in one statement) the items of a range at the steps
        before ``levels``: a part doing several levels then reads each level's items
        without taking locks out of that order (no deadlock with a payment's lock)."""
        params = {"prevs": [lv - 1 for lv in levels], "on": on, "since": settled_since, "after": after}
        if upto is None:
            await self._s.execute(sql.LOCK_TAIL, params)
        else:
            await self._s.execute(sql.LOCK_RANGE, {**params, "upto": upto})

    async def step_range(
        self, *, level: int, on: date, settled_since: date, after: str, upto: str | None
    ) -> list[StoredItem]:
        """As :meth:`step` (locked) over the ids in ``(after, upto]`` (``upto`` None: no end)."""
        params: dict[str, Any] = {"prev": level - 1, "on": on, "since": settled_since, "after": after}
        if upto is None:
            rows = list(await self._s.execute(sql.STEP_TAIL_LOCK, params))
        else:
            rows = list(await self._s.execute(sql.STEP_RANGE_LOCK, {**params, "upto": upto}))
        return await self._complete(rows)

    async def count_step(self, *, level: int, on: date, settled_since: date) -> int:
        return int(await self._s.scalar(sql.COUNT_STEP, {"prev": level - 1, "on": on, "since": settled_since}) or 0)

    async def _complete(self, rows: list[Any]) -> list[StoredItem]:
        """Rows with their payments (for interest) and earlier reminders."""
        paid_ids = [r[0] for r in rows if r[_PAID] != 0]  # invoice_id, paid_total (statements.COLUMNS)
        reminded_ids = [r[0] for r in rows if r[_LAST_LEVEL] > 0]
        payments: dict[str, list[Payment]] = {}
        if paid_ids:
            for m in await self._s.execute(sql.PAYMENTS, {"ids": paid_ids}):
                payments.setdefault(m.invoice_id, []).append(Payment(m.on_date, m.amount))
        steps: dict[str, list[ReminderStep]] = {}
        if reminded_ids:
            for r in await self._s.execute(sql.STEPS, {"ids": reminded_ids}):
                steps.setdefault(r.invoice_id, []).append(
                    ReminderStep(r.level, r.reminder_date, r.due_date, r.fee, r.compensation)
                )
        return [_stored(r, payments.get(r[0], ()), steps.get(r[0], ())) for r in rows]

    async def set_dispute(self, invoice_id: str, disputed: bool, reason: str | None, actor: str) -> bool:
        result = await self._s.execute(
            sql.DISPUTE, {"id": invoice_id, "disputed": disputed, "reason": reason, "actor": actor}
        )
        return bool(result.first())

    async def mark_handed_over(self, ids: Sequence[str], on: date) -> None:
        if ids:
            await self._s.execute(sql.HANDED_OVER, {"ids": list(ids), "on": on})

    async def collection_step(
        self, *, levels: int, settled_since: date, after: str = "", limit: int = 1000, lock: bool = False
    ) -> list[StoredItem]:
        stmt = sql.COLLECTION_LOCK if lock else sql.COLLECTION
        rows = list(
            await self._s.execute(stmt, {"levels": levels, "since": settled_since, "after": after, "limit": limit})
        )
        return await self._complete(rows)


class ProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def upsert(self, profiles: Sequence[Profile]) -> None:
        """Keep the highest version per customer (an older profile changes nothing)."""
        latest: dict[str, Profile] = {}
        for p in profiles:
            if p.customer_number not in latest or p.version > latest[p.customer_number].version:
                latest[p.customer_number] = p
        if latest:
            rows = list(latest.values())
            await self._s.execute(
                sql.PROFILES,
                {
                    "numbers": [p.customer_number for p in rows],
                    "versions": [p.version for p in rows],
                    "consumers": [p.consumer for p in rows],
                    "flags": [p.no_reminders for p in rows],
                    "valid": [p.valid for p in rows],
                    "snapshots": [p.snapshot_json for p in rows],
                },
            )


class ReminderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, rows: Sequence[NewReminder], *, job_id: Any, actor: str) -> set[str]:
        """Insert reminders, and move each one's open item to its level in the same
        statement. A reminder that exists at its (invoice, level) is not inserted (the
        unique constraint). Returns the invoice ids whose reminder was inserted."""
        if not rows:
            return set()
        result = await self._s.execute(
            sql.ADD_REMINDERS,
            {
                "rids": [r.reminder_id for r in rows],
                "ids": [r.invoice_id for r in rows],
                "levels": [r.level for r in rows],
                "customers": [r.customer_number for r in rows],
                "dates": [r.reminder_date for r in rows],
                "dues": [r.due_date for r in rows],
                "open": [r.open_amount for r in rows],
                "fees": [r.fee for r in rows],
                "comps": [r.compensation for r in rows],
                "interest": [r.interest for r in rows],
                "totals": [r.total_due for r in rows],
                "docs": [r.document_json for r in rows],
                "job": job_id,
                "actor": actor,
            },
        )
        return {r.invoice_id for r in result}

    async def of_invoice(self, invoice_id: str) -> list[dict[str, Any]]:
        rows = await self._s.execute(
            text(
                "SELECT reminder_id, level, reminder_date, due_date, open_amount, fee, compensation, interest,"
                " total_due, actor, created_at FROM reminders WHERE invoice_id = :id ORDER BY level"
            ),
            {"id": invoice_id},
        )
        return [dict(r._mapping) for r in rows]

    async def count(self, level: int | None = None) -> int:
        if level is None:
            return int(await self._s.scalar(text("SELECT count(*) FROM reminders")) or 0)
        return int(await self._s.scalar(text("SELECT count(*) FROM reminders WHERE level = :l"), {"l": level}) or 0)


class HandoverRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, rows: Sequence[NewHandover], actor: str) -> set[str]:
        if not rows:
            return set()
        result = await self._s.execute(
            sql.ADD_HANDOVERS,
            {
                "ids": [r.invoice_id for r in rows],
                "customers": [r.customer_number for r in rows],
                "dates": [r.handed_over_on for r in rows],
                "agencies": [r.agency for r in rows],
                "claims": [r.claim_json for r in rows],
                "actor": actor,
            },
        )
        return {r.invoice_id for r in result}


class RemindersUnitOfWork(UnitOfWork):
    items: OpenItemRepository
    profiles: ProfileRepository
    reminders: ReminderRepository
    handovers: HandoverRepository

    def _open(self) -> None:
        self.items = OpenItemRepository(self.session)
        self.profiles = ProfileRepository(self.session)
        self.reminders = ReminderRepository(self.session)
        self.handovers = HandoverRepository(self.session)


# --- rows to values -------------------------------------------------------------------


def _stored(row: Any, payments: Iterable[Payment], steps: Iterable[ReminderStep]) -> StoredItem:
    """A row (``statements.COLUMNS``, in that order) as a value. Seller and customer
    stay JSON text: parsed only for the documents that need them (and then once per
    distinct text). The row is unpacked by position: a job reads thousands per chunk,
    and attribute access by name was most of this function's time."""
    (
        invoice_id, invoice_number, customer_number, consumer, invoice_date, due_date, gross, credited, paid_total,
        open_amount, status, settled_on, reference, reference_rf, seller, customer, disputed, dispute_reason,
        _last_level, handed_over_on, no_reminders, profile_version, profile_snapshot,
    ) = row  # fmt: skip
    item = OpenItem(
        invoice_id=invoice_id,
        invoice_number=invoice_number,
        customer_number=customer_number,
        consumer=consumer,
        invoice_date=invoice_date,
        due_date=due_date,
        gross=gross,
        credited=credited,
        paid_total=paid_total,
        open_amount=open_amount,
        status=status,
        settled_on=settled_on,
        disputed=disputed,
        no_reminders=no_reminders,
        handed_over=handed_over_on is not None,
        payments=tuple(payments),
        reminders=tuple(sorted(steps, key=lambda s: s.level)) if steps else (),
    )
    return StoredItem(
        item=item,
        reference=reference,
        reference_rf=reference_rf,
        seller_json=seller,
        customer_json=customer,
        profile_version=profile_version,
        profile_json=profile_snapshot,
        disputed_reason=dispute_reason,
    )


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)
