"""The bank's payment files as imported: one row per file (by its sha256) and one per
entry, each entry published once by its identity, archive id and kind
(``uq_bank_file_entries_archive_id`` over the entries that are not repeats: a correction
may reuse its payment's archive id). What became of an entry is read from ``payments``
by its event id (:func:`event_payment_id`: the consumer records it there): nothing is
copied back here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.store.sql import in_texts
from services.invoicing.tables import bank_file_entries, bank_files, invoices, payments

REVERSAL_PREFIX = "R:"


def event_payment_id(archive_id: str, kind: str) -> str:
    """The ``payment_id`` an entry is published under: a payment's archive id, or
    ``R:`` + a reversal's, so a correction that reuses its payment's archive id can
    never be taken for the payment (``PaymentId`` allows ``:``; an archive id does not
    start with ``R:``)."""
    return REVERSAL_PREFIX + archive_id if kind == "reversal" else archive_id


@dataclass(frozen=True)
class NewEntry:
    seq: int
    archive_id: str
    kind: str
    reference: str
    amount: Decimal
    payment_date: date
    reverses_archive_id: str | None
    location: str


@dataclass(frozen=True)
class StoredFile:
    id: int
    file_name: str
    format: str
    file_id: str
    imported_at: datetime
    imported_by: str
    count: int
    amount: Decimal
    reversals: int
    reversal_amount: Decimal
    recorded: int
    repeated: int
    matched: int
    unmatched: int
    reversed: int
    pending: int


@dataclass(frozen=True)
class StoredEntry:
    seq: int
    archive_id: str
    kind: str
    reference: str
    amount: Decimal
    payment_date: date
    reverses_archive_id: str | None
    location: str
    repeated: bool
    status: str
    """The payment's status in ``payments`` (matched, unmatched, allocated, reversed,
    reversal) or ``pending`` (not taken by the consumer yet)."""
    reason: str | None
    invoice_number: int | None
    payer_name: str | None


CHUNK = 2_000
"""Entries per INSERT: 10 parameters each, well under PostgreSQL's 32,767 per statement."""

_e = bank_file_entries
_p = payments
_EVENT_ID = case((_e.c.kind == "reversal", literal(REVERSAL_PREFIX) + _e.c.archive_id), else_=_e.c.archive_id)
_FIRST = and_(_p.c.payment_id == _EVENT_ID, _e.c.repeated.is_(False))
_COUNTS = {  # over the entries this file brought (the join finds no payment for a repeat)
    "matched": func.count().filter(_p.c.status.in_(("matched", "allocated"))),
    "unmatched": func.count().filter(_p.c.status == "unmatched"),
    "reversed": func.count().filter(_p.c.status.in_(("reversed", "reversal"))),
    "pending": func.count().filter(_e.c.repeated.is_(False), _p.c.payment_id.is_(None)),
}


class BankFileStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def id_of(self, sha256: str) -> int | None:
        found = await self.session.scalar(select(bank_files.c.id).where(bank_files.c.sha256 == sha256))
        return int(found) if found is not None else None

    async def brought(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """The ``(archive id, kind)`` an earlier file (or a payment event) brought already."""
        if not keys:
            return set()
        ids = sorted({a for a, _ in keys})
        in_files = await self.session.execute(
            select(_e.c.archive_id, _e.c.kind).where(in_texts(_e.c.archive_id, ids), _e.c.repeated.is_(False))
        )
        found = {(r.archive_id, r.kind) for r in in_files}
        by_event_id = {event_payment_id(a, k): (a, k) for a, k in keys}
        in_payments = await self.session.scalars(
            select(_p.c.payment_id).where(in_texts(_p.c.payment_id, sorted(by_event_id)))
        )
        return (found | {by_event_id[p] for p in in_payments}) & set(keys)

    async def invoices_by_reference(self, references: Sequence[str]) -> dict[str, tuple[int | None, str]]:
        """National reference -> (invoice number, document type), for the preview."""
        if not references:
            return {}
        rows = await self.session.execute(
            select(invoices.c.reference, invoices.c.number, invoices.c.document_type).where(
                in_texts(invoices.c.reference, sorted(set(references)))
            )
        )
        return {r.reference: (r.number, r.document_type) for r in rows}

    async def add_file(self, values: dict[str, Any]) -> int | None:
        """The file's row; None when a file of this sha256 is imported already."""
        row = (
            await self.session.execute(
                insert(bank_files)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["sha256"])
                .returning(bank_files.c.id)
            )
        ).first()
        return int(row[0]) if row is not None else None

    async def add_entries(
        self, file_id: int, entries: Sequence[NewEntry], known: set[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        """Every entry of the file; returns the ``(archive id, kind)`` it brought first (to
        publish). ``known``: seen before (:meth:`brought`); the unique index settles a
        race. Rows go in sorted by archive id and kind, so two imports that share entries
        take the index's locks in one order (no deadlock, one waits for the other)."""
        rows = [
            {
                "file_id": file_id,
                "seq": e.seq,
                "archive_id": e.archive_id,
                "kind": e.kind,
                "reference": e.reference,
                "amount": e.amount,
                "payment_date": e.payment_date,
                "reverses_archive_id": e.reverses_archive_id,
                "location": e.location,
            }
            for e in sorted(entries, key=lambda e: (e.archive_id, e.kind, e.seq))
        ]
        first = [{**r, "repeated": False} for r in rows if (r["archive_id"], r["kind"]) not in known]
        new: set[tuple[str, str]] = set()
        for start in range(0, len(first), CHUNK):
            result = await self.session.execute(
                insert(_e)
                .values(first[start : start + CHUNK])
                .on_conflict_do_nothing(index_elements=["archive_id", "kind"], index_where=text("NOT repeated"))
                .returning(_e.c.archive_id, _e.c.kind)
            )
            new |= {(r[0], r[1]) for r in result}
        repeats = [{**r, "repeated": True} for r in rows if (r["archive_id"], r["kind"]) not in new]
        for start in range(0, len(repeats), CHUNK):
            await self.session.execute(insert(_e).values(repeats[start : start + CHUNK]))
        return new

    async def set_counts(self, file_id: int, *, recorded: int, repeated: int) -> None:
        await self.session.execute(
            update(bank_files).where(bank_files.c.id == file_id).values(recorded=recorded, repeated=repeated)
        )

    def _files(self) -> Any:
        return (
            select(bank_files, *(c.label(n) for n, c in _COUNTS.items()))
            .select_from(bank_files.outerjoin(_e, _e.c.file_id == bank_files.c.id).outerjoin(_p, _FIRST))
            .group_by(bank_files.c.id)
        )

    async def page(self, *, limit: int, offset: int) -> tuple[int, list[StoredFile]]:
        """The page's file ids first (newest first), then the counts over those files'
        entries only: a page costs its own files' entries, not every entry ever imported."""
        newest = (bank_files.c.imported_at.desc(), bank_files.c.id.desc())
        total = await self.session.scalar(select(func.count()).select_from(bank_files))
        ids = list(await self.session.scalars(select(bank_files.c.id).order_by(*newest).limit(limit).offset(offset)))
        if not ids:
            return int(total or 0), []
        rows = await self.session.execute(self._files().where(bank_files.c.id.in_(ids)).order_by(*newest))
        return int(total or 0), [_to_file(r) for r in rows]

    async def get(self, file_id: int) -> tuple[StoredFile, list[StoredEntry]] | None:
        row = (await self.session.execute(self._files().where(bank_files.c.id == file_id))).first()
        if row is None:
            return None
        entries = await self.session.execute(
            select(
                _e,
                _p.c.status.label("payment_status"),
                _p.c.reason,
                _p.c.payer_name,
                invoices.c.number.label("invoice_number"),
            )
            .select_from(
                _e.outerjoin(_p, _p.c.payment_id == _EVENT_ID).outerjoin(invoices, invoices.c.id == _p.c.invoice_id)
            )
            .where(_e.c.file_id == file_id)
            .order_by(_e.c.seq)
        )
        return _to_file(row), [
            StoredEntry(
                seq=e.seq,
                archive_id=e.archive_id,
                kind=e.kind,
                reference=e.reference,
                amount=e.amount,
                payment_date=e.payment_date,
                reverses_archive_id=e.reverses_archive_id,
                location=e.location,
                repeated=e.repeated,
                status=e.payment_status or "pending",
                reason=e.reason,
                invoice_number=e.invoice_number,
                payer_name=e.payer_name,
            )
            for e in entries
        ]


def _to_file(r: Any) -> StoredFile:
    m = r._mapping  # a Row's ``count`` is tuple.count
    return StoredFile(**{name: m[name] for name in StoredFile.__dataclass_fields__})
