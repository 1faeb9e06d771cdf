"""The queries the dispatch handlers and workers need, and the unit of work that holds them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, Text, and_, cast, func, insert, literal, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.domain.documents import CLAIMABLE, NewDocument, State, parse_payload
from services.dispatch.domain.recipients import address_of
from services.dispatch.domain.selection import Filters, Selection
from services.dispatch.lease import alive_workers
from services.dispatch.profiles import ProfileRepository
from services.dispatch.tables import delivery_attempts, documents, preview_items, print_batches
from shared.db.uow import UnitOfWork
from shared.events.customers import CustomerData

_LIST_COLUMNS = [c for c in documents.c if c.name not in ("payload", "claimed_by", "recipient")]


@dataclass(frozen=True)
class DocumentRow:
    """A document as lists and detail views show it (without its payload)."""

    id: str
    seq: int
    source: str
    source_id: str
    channel: str
    kind: str
    number: str
    reminder_level: int | None
    customer_number: str
    document_date: date
    due_date: date
    amount: Decimal
    language: str
    state: str
    attempts: int
    job_id: uuid.UUID | None
    batch_id: str | None
    next_attempt_at: datetime | None
    error_code: str | None
    error_reason: str | None
    error_detail: str | None
    receipt: str | None
    recipient_version: int | None
    queued_by: str | None
    moved_from: str | None
    moved_to: str | None
    moved_by: str | None
    created_at: datetime
    queued_at: datetime | None
    delivered_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, row: Any) -> DocumentRow:
        return cls(**{c.name: getattr(row, c.name) for c in _LIST_COLUMNS})


@dataclass(frozen=True)
class Rendering:
    """What rendering a document needs: its identity and the document itself."""

    id: str
    seq: int
    source: str
    source_id: str
    channel: str
    kind: str
    customer_number: str
    payload: str
    recipient: dict[str, Any] | None = None
    """The customer's current billing data a re-send or a move set (None: as issued)."""
    recipient_version: int | None = None


@dataclass(frozen=True)
class Claim:
    """A document a worker took for one attempt (committed before the external call)."""

    id: str
    source: str
    source_id: str
    channel: str
    kind: str
    customer_number: str
    attempt: int
    job_id: uuid.UUID | None
    batch_id: str | None
    payload: str
    resumed: bool
    """An earlier attempt's worker died before recording its outcome: this one may be
    a second delivery of the same document (same Message-ID / file name)."""
    recipient: dict[str, Any] | None = None
    """The billing data this attempt goes to when a re-send or a move set it (None: the
    snapshot in the payload, taken at issue)."""
    actor: str | None = None
    """Who sent or re-sent the document (None: automatic sending)."""


@dataclass(frozen=True)
class Queued:
    """A document a send queued, and what choosing its billing data needs."""

    id: str
    seq: int
    attempts: int
    resend: bool
    """It had failed: a re-send, which goes to the customer's current billing data."""
    customer_number: str
    issued_version: int
    """The profile version of the snapshot taken at issue."""
    recipient_version: int | None
    """The profile version of the data an earlier re-send or move set (None: none)."""


@dataclass
class ClaimResult:
    claimed: list[Claim]
    skipped: dict[str, int]
    """Why jobs were not taken: ``delivered`` (a duplicate job), ``busy`` (another live
    worker has it), ``stale`` (the document is not queued)."""
    unknown: list[str]


@dataclass(frozen=True)
class Result:
    """An attempt's outcome to record."""

    claim: Claim
    state: State
    """delivered, staged, retry, failed or queued (the channel was unavailable)."""
    outcome: str
    receipt: str | None = None
    code: str | None = None
    reason: str | None = None
    next_attempt_at: datetime | None = None
    batch_id: str | None = None
    detail: str | None = None

    @property
    def final(self) -> bool:
        return self.state in (State.DELIVERED, State.FAILED)


def _filters(f: Filters) -> list[ColumnElement[bool]]:
    c = documents.c
    out: list[ColumnElement[bool]] = []
    if f.kind:
        out.append(c.kind == f.kind)
    if f.customer_number:
        out.append(c.customer_number == f.customer_number)
    if f.number:
        out.append(c.number == f.number)
    if f.date_from:
        out.append(c.document_date >= f.date_from)
    if f.date_to:
        out.append(c.document_date <= f.date_to)
    return out


def _selected(sel: Selection) -> list[ColumnElement[bool]]:
    c = documents.c
    where = [c.channel == sel.channel, c.state.in_([s.value for s in sel.states]), *_filters(sel.filters)]
    if sel.ids is not None:
        where.append(c.id.in_(list(sel.ids)))
    else:
        where.append(c.seq <= sel.max_seq)
    return where


class DocumentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    # --- arrival ----------------------------------------------------------------

    async def add(self, docs: Sequence[NewDocument], *, queued: Iterable[str] = ()) -> list[NewDocument]:
        """Store new documents (``waiting``; ``queued`` for the ids given, automatic
        sending). A document already stored (the same source and channel) is left as
        it is. Returns the ones stored now."""
        if not docs:
            return []
        auto = set(queued)
        rows = [
            {
                "id": d.id,
                "source": d.source,
                "source_id": d.source_id,
                "channel": d.channel,
                "kind": d.kind,
                "number": d.number,
                "reminder_level": d.reminder_level,
                "customer_number": d.customer_number,
                "document_date": d.document_date,
                "due_date": d.due_date,
                "amount": d.amount,
                "language": d.language,
                "payload": text_json(d.payload),
                "state": (State.QUEUED if d.id in auto else State.WAITING).value,
                "queued_at": func.now() if d.id in auto else None,
            }
            for d in docs
        ]
        stmt = (
            pg_insert(documents)
            .values(rows)
            .on_conflict_do_nothing(constraint="uq_documents_one_per_channel")
            .returning(documents.c.id)
        )
        stored = {r[0] for r in await self._s.execute(stmt)}
        return [d for d in docs if d.id in stored]

    # --- the Sending tab ----------------------------------------------------------

    async def summary(self) -> dict[str, dict[str, int]]:
        rows = await self._s.execute(
            select(documents.c.channel, documents.c.state, func.count()).group_by(
                documents.c.channel, documents.c.state
            )
        )
        out: dict[str, dict[str, int]] = {}
        for channel, state, n in rows:
            out.setdefault(channel, {})[state] = int(n)
        return out

    async def page(
        self, channel: str, states: Sequence[str], filters: Filters, *, limit: int, offset: int
    ) -> tuple[int, list[DocumentRow]]:
        where = [documents.c.channel == channel, *_filters(filters)]
        if states:
            where.append(documents.c.state.in_(list(states)))
        total = await self._s.scalar(select(func.count()).select_from(documents).where(*where))
        rows = await self._s.execute(
            select(*_LIST_COLUMNS).where(*where).order_by(documents.c.seq).limit(limit).offset(offset)
        )
        return int(total or 0), [DocumentRow.of(r) for r in rows]

    async def get(self, document_id: str) -> DocumentRow | None:
        row = (await self._s.execute(select(*_LIST_COLUMNS).where(documents.c.id == document_id))).first()
        return DocumentRow.of(row) if row else None

    async def rendering(self, document_id: str) -> Rendering | None:
        row = (await self._s.execute(_rendering_select().where(documents.c.id == document_id))).first()
        return Rendering(**row._mapping) if row else None

    async def attempts_of(self, document_id: str) -> list[dict[str, Any]]:
        a = delivery_attempts.c
        rows = await self._s.execute(
            select(
                a.attempt,
                a.channel,
                a.job_id,
                a.worker,
                a.started_at,
                a.finished_at,
                a.outcome,
                a.final,
                a.code,
                a.reason,
                a.detail,
                a.receipt,
                a.resumed,
                a.address,
                a.actor,
            )
            .where(a.document_id == document_id)
            .order_by(a.attempt)
        )
        return [dict(r._mapping) for r in rows]

    async def max_seq(self) -> int:
        return int(await self._s.scalar(select(func.coalesce(func.max(documents.c.seq), 0))) or 0)

    async def count_selection(self, sel: Selection) -> int:
        return int(await self._s.scalar(select(func.count()).select_from(documents).where(*_selected(sel))) or 0)

    # --- sending: the job queues ---------------------------------------------------

    async def queue_next(
        self, sel: Selection, *, after: int, limit: int, job_id: uuid.UUID, batch_id: str | None, actor: str | None
    ) -> list[Queued]:
        """Queue the next ``limit`` selected documents after ``seq`` ``after`` for the
        job (sent by ``actor``); returns those queued, in ``seq`` order. Documents
        another transaction holds (another send) are skipped; they are no longer waiting
        when it commits."""
        c = documents.c
        picked = list(
            await self._s.execute(
                select(
                    c.id,
                    c.seq,
                    c.attempts,
                    c.state,
                    c.customer_number,
                    c.recipient_version,
                    cast(c.payload["customer"]["profile_version"].astext, Integer).label("issued_version"),
                )
                .where(*_selected(sel), c.seq > after)
                .order_by(c.seq)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not picked:
            return []
        await self._s.execute(
            update(documents)
            .where(c.id.in_([r.id for r in picked]))
            .values(
                state=State.QUEUED.value,
                job_id=job_id,
                batch_id=batch_id,
                queued_by=actor,
                queued_at=func.now(),
                updated_at=func.now(),
                next_attempt_at=None,
                error_code=None,
                error_reason=None,
                error_detail=None,
            )
        )
        return [
            Queued(
                r.id,
                r.seq,
                r.attempts,
                r.state == State.FAILED,
                r.customer_number,
                r.issued_version or 0,
                r.recipient_version,
            )
            for r in picked
        ]

    async def set_recipients(self, recipients: Sequence[tuple[str, dict[str, Any], int]]) -> None:
        """The billing data the next attempts of these documents go to: (id, data, profile version)."""
        if recipients:
            await self._s.execute(
                _SET_RECIPIENTS,
                {
                    "ids": [r[0] for r in recipients],
                    "data": [json.dumps(r[1]) for r in recipients],
                    "versions": [r[2] for r in recipients],
                },
            )

    async def selection_after(self, sel: Selection, *, after: int, limit: int) -> list[Rendering]:
        """The next selected documents (no lock, no change): what a preview renders."""
        rows = await self._s.execute(
            _rendering_select().where(*_selected(sel), documents.c.seq > after).order_by(documents.c.seq).limit(limit)
        )
        return [Rendering(**r._mapping) for r in rows]

    async def job_outcomes(self, job_id: uuid.UUID) -> tuple[int, int]:
        """(delivered, failed for good) among the attempts the job's documents made."""
        a = delivery_attempts.c
        row = (
            await self._s.execute(
                select(
                    func.count().filter(a.outcome == "delivered"),
                    func.count().filter(and_(a.outcome == "failed", a.final)),
                ).where(a.job_id == job_id)
            )
        ).one()
        return int(row[0]), int(row[1])

    # --- the worker ---------------------------------------------------------------

    async def lock_for_claim(self, ids: Sequence[str]) -> list[Any]:
        """The documents of a worker's batch, locked in id order (two workers never
        deadlock on them)."""
        c = documents.c
        stmt = (
            select(
                c.id,
                c.source,
                c.source_id,
                c.channel,
                c.kind,
                c.customer_number,
                c.state,
                c.attempts,
                c.job_id,
                c.batch_id,
                c.claimed_by,
                c.queued_by,
                c.recipient,
                cast(c.payload, Text).label("payload"),
            )
            .where(c.id.in_(list(ids)))
            .order_by(c.id)
            .with_for_update()
        )
        return list(await self._s.execute(stmt))

    async def claim(self, ids: Sequence[str], *, channel: str, worker_key: int, worker: str) -> ClaimResult:
        """Take the batch's documents for one attempt each and record the attempts
        (``sending``), in the caller's transaction, which commits before any delivery.

        A document in ``sending`` by a live worker (its lease is held, see
        :mod:`services.dispatch.lease`) is that worker's: a rebalance handed its record
        to us too. By a dead worker, or by this one in an earlier try of the batch, it
        is taken over, its attempt marked ``abandoned``."""
        rows = await self.lock_for_claim(ids)
        others = {r.claimed_by for r in rows if r.state == State.SENDING and r.claimed_by not in (None, worker_key)}
        alive = await alive_workers(self._s, others)
        found = {r.id for r in rows}
        result = ClaimResult(claimed=[], skipped={}, unknown=[i for i in dict.fromkeys(ids) if i not in found])
        taken: list[Any] = []
        abandoned: list[tuple[str, int]] = []
        for r in rows:
            if r.channel != channel:
                result.unknown.append(r.id)
                continue
            if r.state == State.DELIVERED:
                reason = "delivered"
            elif r.state not in CLAIMABLE:
                reason = "stale"
            elif r.state == State.SENDING and r.claimed_by is not None and r.claimed_by in alive:
                reason = "busy"
            else:
                reason = ""
            if reason:
                result.skipped[reason] = result.skipped.get(reason, 0) + 1
                continue
            resumed = r.state == State.SENDING
            if resumed:
                abandoned.append((r.id, r.attempts))
            taken.append(r)
            result.claimed.append(
                Claim(
                    id=r.id,
                    source=r.source,
                    source_id=r.source_id,
                    channel=r.channel,
                    kind=r.kind,
                    customer_number=r.customer_number,
                    attempt=r.attempts + 1,
                    job_id=r.job_id,
                    batch_id=r.batch_id,
                    payload=r.payload,
                    resumed=resumed,
                    recipient=r.recipient,
                    actor=r.queued_by,
                )
            )
        if abandoned:
            await self._s.execute(_ABANDON, {"ids": [a[0] for a in abandoned], "attempts": [a[1] for a in abandoned]})
        if taken:
            claimed = result.claimed
            await self._s.execute(
                _CLAIM,
                {"ids": [c.id for c in claimed], "attempts": [c.attempt for c in claimed], "worker_key": worker_key},
            )
            await self._s.execute(
                insert(delivery_attempts),
                [
                    {
                        "document_id": c.id,
                        "attempt": c.attempt,
                        "channel": c.channel,
                        "job_id": c.job_id,
                        "worker": worker,
                        "outcome": "sending",
                        "resumed": c.resumed,
                        "address": address_of(c.channel, claim_data(c)),
                        "actor": c.actor,
                    }
                    for c in claimed
                ],
            )
        return result

    async def record(self, results: Sequence[Result]) -> set[str]:
        """Record attempts' outcomes. A document is updated only while the attempt is
        still its current one (nobody took it over); returns the ids updated. The
        attempts of the others are marked ``superseded``."""
        if not results:
            return set()
        params = {
            "ids": [r.claim.id for r in results],
            "attempts": [r.claim.attempt for r in results],
            "states": [r.state.value for r in results],
            "receipts": [r.receipt for r in results],
            "codes": [r.code for r in results],
            "reasons": [r.reason for r in results],
            "details": [r.detail for r in results],
            "next_ats": [r.next_attempt_at for r in results],
            "batches": [r.batch_id for r in results],
        }
        won = {row[0] for row in await self._s.execute(_RECORD_DOCUMENTS, params)}
        outcomes = [r.outcome if r.claim.id in won else "superseded" for r in results]
        await self._s.execute(
            _RECORD_ATTEMPTS,
            {
                "ids": params["ids"],
                "attempts": params["attempts"],
                "outcomes": outcomes,
                "finals": [r.final and r.claim.id in won for r in results],
                "receipts": params["receipts"],
                "codes": params["codes"],
                "reasons": params["reasons"],
                "details": params["details"],
            },
        )
        return won

    async def assign_batch(self, ids: Sequence[str], batch_id: str) -> None:
        await self._s.execute(update(documents).where(documents.c.id.in_(list(ids))).values(batch_id=batch_id))

    # --- retries ------------------------------------------------------------------

    async def due_retries(self, limit: int) -> list[Any]:
        """Documents whose retry time has come, queued again (the caller puts their jobs
        in the outbox); several service replicas share the work (SKIP LOCKED)."""
        due = (
            select(documents.c.id)
            .where(documents.c.state == State.RETRY.value, documents.c.next_attempt_at <= func.now())
            .order_by(documents.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(documents)
            .where(documents.c.id.in_(due.scalar_subquery()))
            .values(state=State.QUEUED.value, next_attempt_at=None, queued_at=func.now(), updated_at=func.now())
            .returning(documents.c.id, documents.c.channel, documents.c.attempts, documents.c.job_id)
        )
        return list(await self._s.execute(stmt))

    # --- print batches --------------------------------------------------------------

    async def open_batch(self, batch_id: str, job_id: uuid.UUID | None, *, sealed: bool) -> None:
        await self._s.execute(
            pg_insert(print_batches)
            .values(id=batch_id, job_id=job_id, sealed=sealed)
            .on_conflict_do_nothing(index_elements=["id"])
        )

    async def seal_batch(self, batch_id: str) -> None:
        await self._s.execute(update(print_batches).where(print_batches.c.id == batch_id).values(sealed=True))

    async def closable_batches(self, *, worker_key: int, limit: int = 5) -> list[str]:
        """Sealed batches no document of which is still on its way, open or left
        ``closing`` by a worker that died; locked (SKIP LOCKED) for the caller."""
        b = print_batches.c
        rows = list(
            await self._s.execute(
                select(b.id, b.state, b.closing_by)
                .where(b.sealed, b.state != "closed")
                .order_by(b.created_at)
                .limit(limit * 4)
                .with_for_update(skip_locked=True)
            )
        )
        alive = await alive_workers(self._s, {r.closing_by for r in rows if r.closing_by not in (None, worker_key)})
        out: list[str] = []
        for r in rows:
            if r.state == "closing" and r.closing_by in alive:
                continue
            busy = await self._s.scalar(
                select(func.count())
                .select_from(documents)
                .where(
                    documents.c.batch_id == r.id,
                    documents.c.state.in_([s.value for s in (State.QUEUED, State.SENDING, State.RETRY)]),
                )
            )
            if not busy:
                out.append(r.id)
            if len(out) >= limit:
                break
        return out

    async def start_closing(self, batch_id: str, worker_key: int) -> None:
        await self._s.execute(
            update(print_batches).where(print_batches.c.id == batch_id).values(state="closing", closing_by=worker_key)
        )

    async def staged_in(self, batch_id: str) -> list[Claim]:
        """The batch's staged documents, in arrival order, with their current attempt."""
        c = documents.c
        rows = await self._s.execute(
            select(
                c.id,
                c.source,
                c.source_id,
                c.channel,
                c.kind,
                c.customer_number,
                c.attempts,
                c.job_id,
                c.batch_id,
                c.recipient,
                c.queued_by,
                cast(c.payload, Text).label("payload"),
            )
            .where(c.batch_id == batch_id, c.state == State.STAGED.value)
            .order_by(c.seq)
        )
        return [
            Claim(
                id=r.id,
                source=r.source,
                source_id=r.source_id,
                channel=r.channel,
                kind=r.kind,
                customer_number=r.customer_number,
                attempt=r.attempts,
                job_id=r.job_id,
                batch_id=r.batch_id,
                payload=r.payload,
                resumed=False,
                recipient=r.recipient,
                actor=r.queued_by,
            )
            for r in rows
        ]

    async def deliver_staged(self, batch_id: str, receipt: str) -> None:
        """Every staged document of the batch is delivered (its attempt too)."""
        await self._s.execute(_DELIVER_STAGED, {"batch": batch_id, "receipt": receipt})

    async def close_batch(
        self, batch_id: str, *, documents_count: int, file_name: str | None, manifest: str | None
    ) -> None:
        await self._s.execute(
            update(print_batches)
            .where(print_batches.c.id == batch_id)
            .values(
                state="closed",
                documents=documents_count,
                file_name=file_name,
                manifest_name=manifest,
                closed_at=func.now(),
                closing_by=None,
            )
        )

    async def batch(self, batch_id: str) -> dict[str, Any] | None:
        row = (await self._s.execute(select(print_batches).where(print_batches.c.id == batch_id))).first()
        return dict(row._mapping) if row else None

    # --- previews -------------------------------------------------------------------

    async def add_preview_items(self, items: Sequence[dict[str, Any]]) -> None:
        if items:
            await self._s.execute(
                pg_insert(preview_items).values(list(items)).on_conflict_do_nothing(constraint="pk_preview_items")
            )

    async def preview_list(
        self, job_id: uuid.UUID, *, limit: int, offset: int, problems_only: bool = False
    ) -> tuple[int, list[dict[str, Any]]]:
        p = preview_items.c
        where = [p.job_id == job_id] + ([~p.ok] if problems_only else [])
        total = await self._s.scalar(select(func.count()).select_from(preview_items).where(*where))
        rows = await self._s.execute(
            select(
                p.document_id,
                p.ok,
                p.code,
                p.reason,
                p.detail,
                p.file_name,
                p.content_type,
                (p.content.is_not(None)).label("downloadable"),
            )
            .where(*where)
            .order_by(p.seq)
            .limit(limit)
            .offset(offset)
        )
        return int(total or 0), [dict(r._mapping) for r in rows]

    async def preview_content(self, job_id: uuid.UUID, document_id: str) -> tuple[str, str, bytes] | None:
        p = preview_items.c
        row = (
            await self._s.execute(
                select(p.file_name, p.content_type, p.content).where(
                    p.job_id == job_id, p.document_id == document_id, p.content.is_not(None)
                )
            )
        ).first()
        return (row.file_name, row.content_type, row.content) if row else None


def text_json(payload: str) -> Any:
    """A JSON text as a JSONB value, parsed by PostgreSQL (not again in Python)."""
    return cast(literal(payload, type_=Text), JSONB)


def _rendering_select() -> Any:
    c = documents.c
    return select(
        c.id,
        c.seq,
        c.source,
        c.source_id,
        c.channel,
        c.kind,
        c.customer_number,
        cast(c.payload, Text).label("payload"),
        c.recipient,
        c.recipient_version,
    )


def claim_data(claim: Claim) -> CustomerData:
    """The billing data an attempt goes to: the recipient a re-send or move set, else
    the snapshot taken at issue."""
    if claim.recipient is not None:
        return CustomerData.model_validate(claim.recipient)
    return parse_payload(claim.source, claim.payload).customer.data


_SET_RECIPIENTS = text(
    """
    UPDATE documents d SET recipient = CAST(r.data AS jsonb), recipient_version = r.version
    FROM unnest(CAST(:ids AS text[]), CAST(:data AS text[]), CAST(:versions AS int[])) AS r(id, data, version)
    WHERE d.id = r.id
    """
)


_CLAIM = text(
    """
    UPDATE documents d SET state = 'sending', attempts = r.attempt, claimed_by = :worker_key, updated_at = now()
    FROM unnest(CAST(:ids AS text[]), CAST(:attempts AS int[])) AS r(id, attempt)
    WHERE d.id = r.id
    """
)

_ABANDON = text(
    """
    UPDATE delivery_attempts a SET outcome = 'abandoned', finished_at = now()
    FROM unnest(CAST(:ids AS text[]), CAST(:attempts AS int[])) AS r(id, attempt)
    WHERE a.document_id = r.id AND a.attempt = r.attempt AND a.outcome = 'sending'
    """
)

_RECORD_DOCUMENTS = text(
    """
    UPDATE documents d SET
        state = r.state,
        receipt = COALESCE(r.receipt, d.receipt),
        delivered_at = CASE WHEN r.state = 'delivered' THEN now() ELSE d.delivered_at END,
        error_code = r.code,
        error_reason = r.reason,
        error_detail = r.detail,
        next_attempt_at = r.next_at,
        batch_id = COALESCE(r.batch, d.batch_id),
        claimed_by = NULL,
        updated_at = now()
    FROM unnest(CAST(:ids AS text[]), CAST(:attempts AS int[]), CAST(:states AS text[]),
                CAST(:receipts AS text[]), CAST(:codes AS text[]), CAST(:reasons AS text[]),
                CAST(:details AS text[]), CAST(:next_ats AS timestamptz[]), CAST(:batches AS text[]))
         AS r(id, attempt, state, receipt, code, reason, detail, next_at, batch)
    WHERE d.id = r.id AND d.attempts = r.attempt AND d.state = 'sending'
    RETURNING d.id
    """
)

_RECORD_ATTEMPTS = text(
    """
    UPDATE delivery_attempts a SET
        outcome = r.outcome, final = r.final, receipt = r.receipt, code = r.code, reason = r.reason,
        detail = r.detail, finished_at = now()
    FROM unnest(CAST(:ids AS text[]), CAST(:attempts AS int[]), CAST(:outcomes AS text[]),
                CAST(:finals AS boolean[]), CAST(:receipts AS text[]), CAST(:codes AS text[]),
                CAST(:reasons AS text[]), CAST(:details AS text[]))
         AS r(id, attempt, outcome, final, receipt, code, reason, detail)
    WHERE a.document_id = r.id AND a.attempt = r.attempt
    """
)

_DELIVER_STAGED = text(
    """
    WITH done AS (
        UPDATE documents SET state = 'delivered', receipt = :receipt, delivered_at = now(), updated_at = now()
        WHERE batch_id = :batch AND state = 'staged'
        RETURNING id, attempts
    )
    UPDATE delivery_attempts a SET outcome = 'delivered', final = true, receipt = :receipt, finished_at = now()
    FROM done WHERE a.document_id = done.id AND a.attempt = done.attempts
    """
)


class DispatchUnitOfWork(UnitOfWork):
    documents: DocumentRepository
    profiles: ProfileRepository

    def _open(self) -> None:
        self.documents = DocumentRepository(self.session)
        self.profiles = ProfileRepository(self.session)
