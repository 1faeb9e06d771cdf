"""The channel workers' queries (claim, record, retries, print batches), part of
:class:`services.dispatch.repositories.DocumentRepository`."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Text, cast, func, insert, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.domain.documents import CLAIMABLE, State, parse_payload
from services.dispatch.domain.recipients import address_of
from services.dispatch.lease import alive_workers
from services.dispatch.records import Claim, ClaimResult, Result
from services.dispatch.render_queries import RenderQueries
from services.dispatch.tables import delivery_attempts, documents, print_batches
from shared import tracing
from shared.events.customers import CustomerData


class WorkerQueries(RenderQueries):
    _s: AsyncSession

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

    async def claim(
        self,
        ids: Sequence[str],
        *,
        channel: str,
        worker_key: int,
        worker: str,
        known_address: Callable[[Claim], str | None] | None = None,
    ) -> ClaimResult:
        """Take the batch's documents for one attempt each and record the attempts
        (``sending``), in the caller's transaction, which commits before any delivery.

        A document in ``sending`` by a live worker (its lease is held, see
        :mod:`services.dispatch.lease`) is that worker's: a rebalance handed its record
        to us too. By a dead worker, or by this one in an earlier try of the batch, it
        is taken over, its attempt marked ``abandoned``. ``known_address``: the address
        an attempt goes to when the caller knows it (e-mail: from the stored render made
        for the attempt's data), saving the parse of the document for it."""
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
                        "address": (known_address and known_address(c)) or address_of(c.channel, claim_data(c)),
                        "actor": c.actor,
                    }
                    for c in claimed
                ],
            )
        return result

    async def record(self, results: Sequence[Result], *, drop_renders: bool = False) -> set[str]:
        """Record attempts' outcomes. A document is updated only while the attempt is
        still its current one (nobody took it over); returns the ids updated. The
        attempts of the others are marked ``superseded``. ``drop_renders``: the stored
        renders of the documents whose way this ends (delivered, failed) are deleted too.
        One statement (one round trip) for the whole group."""
        if not results:
            return set()
        params = {
            "ids": [r.claim.id for r in results],
            "attempts": [r.claim.attempt for r in results],
            "states": [r.state.value for r in results],
            "outcomes": [r.outcome for r in results],
            "receipts": [r.receipt for r in results],
            "codes": [r.code for r in results],
            "reasons": [r.reason for r in results],
            "details": [r.detail for r in results],
            "next_ats": [r.next_attempt_at for r in results],
            "batches": [r.batch_id for r in results],
            "drop": drop_renders,
        }
        return {row[0] for row in await self._s.execute(_RECORD, params)}

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
            .returning(
                documents.c.id,
                documents.c.channel,
                documents.c.attempts,
                documents.c.job_id,
                documents.c.traceparent,
                documents.c.tracestate,
            )
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

    async def staged_in(self, batch_id: str, *, payloads: bool = True) -> list[Claim]:
        """The batch's staged documents, in arrival order, with their current attempt and
        their trace (the batch closer has no inbound event: DocumentDelivered carries on
        the document's). ``payloads=False``: without the documents themselves (``payload``
        empty; :meth:`payloads_of` reads them a few at a time)."""
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
                c.traceparent,
                c.tracestate,
                (cast(c.payload, Text) if payloads else literal("")).label("payload"),
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
                trace=tracing.parse(r.traceparent, r.tracestate),
            )
            for r in rows
        ]

    async def payloads_of(self, ids: Sequence[str]) -> dict[str, tuple[str, str, Any]]:
        """Each document's source, payload (JSON text) and recipient override."""
        c = documents.c
        rows = await self._s.execute(
            select(c.id, c.source, cast(c.payload, Text).label("payload"), c.recipient).where(c.id.in_(list(ids)))
        )
        return {r.id: (r.source, r.payload, r.recipient) for r in rows}

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


def claim_data(claim: Claim) -> CustomerData:
    """The billing data an attempt goes to: the recipient a re-send or move set, else
    the snapshot taken at issue."""
    if claim.recipient is not None:
        return CustomerData.model_validate(claim.recipient)
    return parse_payload(claim.source, claim.payload).customer.data


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

# The documents still on this attempt take its outcome (``won``); every attempt of the
# group is closed (``superseded`` when another attempt had taken its document over); the
# renders of the documents whose way ends are dropped when asked. Data-modifying CTEs:
# all run, on one snapshot, in one round trip.
_RECORD = text(
    """
    WITH r AS (
        SELECT * FROM unnest(
            CAST(:ids AS text[]), CAST(:attempts AS int[]), CAST(:states AS text[]), CAST(:outcomes AS text[]),
            CAST(:receipts AS text[]), CAST(:codes AS text[]), CAST(:reasons AS text[]),
            CAST(:details AS text[]), CAST(:next_ats AS timestamptz[]), CAST(:batches AS text[]))
        AS r(id, attempt, state, outcome, receipt, code, reason, detail, next_at, batch)
    ), won AS (
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
        FROM r
        WHERE d.id = r.id AND d.attempts = r.attempt AND d.state = 'sending'
        RETURNING d.id, r.state
    ), closed AS (
        UPDATE delivery_attempts a SET
            outcome = CASE WHEN w.id IS NULL THEN 'superseded' ELSE r.outcome END,
            final = w.id IS NOT NULL AND r.state IN ('delivered', 'failed'),
            receipt = r.receipt, code = r.code, reason = r.reason, detail = r.detail, finished_at = now()
        FROM r LEFT JOIN won w ON w.id = r.id
        WHERE a.document_id = r.id AND a.attempt = r.attempt
    ), dropped AS (
        DELETE FROM document_renders x USING won w
        WHERE CAST(:drop AS boolean) AND x.document_id = w.id AND w.state IN ('delivered', 'failed')
    )
    SELECT id FROM won
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
