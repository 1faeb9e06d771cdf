"""The queries the dispatch handlers and workers need, and the unit of work that holds them.

The workers' part (claim, record, retries, print batches) is in
:mod:`services.dispatch.worker_queries`; the records the queries return in
:mod:`services.dispatch.records` (re-exported here)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, Text, and_, cast, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.domain.documents import NewDocument, State
from services.dispatch.domain.selection import Filters, Selection
from services.dispatch.profiles import ProfileRepository
from services.dispatch.records import LIST_COLUMNS, Claim, ClaimResult, DocumentRow, Queued, Rendering, Result
from services.dispatch.tables import delivery_attempts, documents, preview_items
from services.dispatch.worker_queries import WorkerQueries, claim_data
from shared import tracing
from shared.db.uow import UnitOfWork
from shared.tracing import TraceContext

__all__ = [
    "Claim",
    "ClaimResult",
    "DispatchUnitOfWork",
    "DocumentRepository",
    "DocumentRow",
    "Queued",
    "Rendering",
    "Result",
    "claim_data",
]


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


class DocumentRepository(WorkerQueries):
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    # --- arrival ----------------------------------------------------------------

    async def add(
        self,
        docs: Sequence[NewDocument],
        *,
        queued: Iterable[str] = (),
        traces: Mapping[str, TraceContext | None] | None = None,
    ) -> list[NewDocument]:
        """Store new documents (``waiting``; ``queued`` for the ids given, automatic
        sending), each with the trace of the event it came from (``traces`` by id). A
        document already stored (the same source and channel) is left as it is.
        Returns the ones stored now."""
        if not docs:
            return []
        auto = set(queued)
        traced = traces or {}
        # one statement with array parameters, compiled once whatever the batch size (a
        # multi-row VALUES was compiled anew for every batch: most of the intake's time)
        result = await self._s.execute(
            _ADD_DOCUMENTS,
            {
                "id": [d.id for d in docs],
                "source": [d.source for d in docs],
                "source_id": [d.source_id for d in docs],
                "channel": [d.channel for d in docs],
                "kind": [d.kind for d in docs],
                "number": [d.number for d in docs],
                "reminder_level": [d.reminder_level for d in docs],
                "customer_number": [d.customer_number for d in docs],
                "document_date": [d.document_date for d in docs],
                "due_date": [d.due_date for d in docs],
                "amount": [d.amount for d in docs],
                "language": [d.language for d in docs],
                "payload": [d.payload for d in docs],
                "queued": [d.id in auto for d in docs],
                "traceparent": [_traceparent(traced.get(d.id)) for d in docs],
                "tracestate": [_tracestate(traced.get(d.id)) for d in docs],
                "waiting": State.WAITING.value,
                "queued_state": State.QUEUED.value,
            },
        )
        stored = {r[0] for r in result}
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
            select(*LIST_COLUMNS).where(*where).order_by(documents.c.seq).limit(limit).offset(offset)
        )
        return int(total or 0), [DocumentRow.of(r) for r in rows]

    async def get(self, document_id: str) -> DocumentRow | None:
        row = (await self._s.execute(select(*LIST_COLUMNS).where(documents.c.id == document_id))).first()
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
                    c.traceparent,
                    c.tracestate,
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
                tracing.parse(r.traceparent, r.tracestate),
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


_ADD_DOCUMENTS = text(
    """
    INSERT INTO documents (id, source, source_id, channel, kind, number, reminder_level, customer_number,
                           document_date, due_date, amount, language, payload, state, queued_at, traceparent,
                           tracestate)
    SELECT id, source, source_id, channel, kind, number, reminder_level, customer_number, document_date, due_date,
           amount, language, CAST(payload AS jsonb), CASE WHEN queued THEN :queued_state ELSE :waiting END,
           CASE WHEN queued THEN now() END, traceparent, tracestate
    FROM unnest(CAST(:id AS text[]), CAST(:source AS text[]), CAST(:source_id AS text[]), CAST(:channel AS text[]),
                CAST(:kind AS text[]), CAST(:number AS text[]), CAST(:reminder_level AS smallint[]),
                CAST(:customer_number AS text[]), CAST(:document_date AS date[]), CAST(:due_date AS date[]),
                CAST(:amount AS numeric[]), CAST(:language AS text[]), CAST(:payload AS text[]),
                CAST(:queued AS boolean[]), CAST(:traceparent AS text[]), CAST(:tracestate AS text[]))
         WITH ORDINALITY
         AS d(id, source, source_id, channel, kind, number, reminder_level, customer_number, document_date, due_date,
              amount, language, payload, queued, traceparent, tracestate, arrival)
    ORDER BY arrival  -- seq in the batch's order (arrival order)
    ON CONFLICT ON CONSTRAINT uq_documents_one_per_channel DO NOTHING
    RETURNING id
    """
)


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


_SET_RECIPIENTS = text(
    """
    UPDATE documents d SET recipient = CAST(r.data AS jsonb), recipient_version = r.version
    FROM unnest(CAST(:ids AS text[]), CAST(:data AS text[]), CAST(:versions AS int[])) AS r(id, data, version)
    WHERE d.id = r.id
    """
)


class DispatchUnitOfWork(UnitOfWork):
    documents: DocumentRepository
    profiles: ProfileRepository

    def _open(self) -> None:
        self.documents = DocumentRepository(self.session)
        self.profiles = ProfileRepository(self.session)


def _traceparent(trace: TraceContext | None) -> str | None:
    return trace.traceparent if trace is not None else None


def _tracestate(trace: TraceContext | None) -> str | None:
    return trace.tracestate if trace is not None else None
