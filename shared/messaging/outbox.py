"""Transactional outbox: the writer (inside a unit of work) and the relay (a task).

A handler never publishes to Kafka directly. It adds events to the outbox, and they
are inserted in the same transaction as its state change. The relay then publishes
them with an idempotent producer (``acks=all``) and deletes them.

Relay guarantees:
- At least once: rows are deleted only after Kafka acknowledged every record of the
  batch; a crash in between publishes them again, and consumers skip the duplicate
  by its event id (inbox).
- Order per key: one relay at a time publishes (a transaction-scoped advisory lock),
  rows go out in id order, and the idempotent producer keeps per-partition order.
  Other replicas' relays find the lock taken and wait for the next round, so any
  number of replicas is safe. Rows are also locked ``FOR UPDATE SKIP LOCKED``.
- Kafka away: a batch not acknowledged within ``send_timeout_s`` rolls back (its rows
  stay) and the relay backs off. Its unfinished sends are awaited, outside any
  transaction, before the next batch is read, so an outage holds no transaction open
  and piles up no copies; at most one extra copy of that batch reaches Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import zlib
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from shared.events.envelope import Event, EventMeta, encode_data, encode_headers
from shared.messaging.tables import MessagingTables

log = logging.getLogger(__name__)


class OutboxWriter:
    """Collects outgoing records during a unit of work; ``flush`` inserts them."""

    def __init__(self, tables: MessagingTables, source: str, topic_prefix: str = "") -> None:
        self._table = tables.outbox
        self._source = source
        self._prefix = topic_prefix
        self._rows: list[tuple[str, str | None, bytes, str]] = []

    def add(
        self,
        topic: str,
        event: Event,
        *,
        key: str | None,
        subject: str | None = None,
        meta: EventMeta | None = None,
    ) -> EventMeta:
        """Queue ``event`` for ``topic`` (unprefixed registry name). Returns its meta."""
        meta = meta or EventMeta.new(event.EVENT_TYPE, self._source, subject=subject or key)
        self._rows.append(
            (
                self._prefix + topic,
                key,
                encode_data(event),
                json.dumps([[k, v.decode()] for k, v in encode_headers(meta)]),
            )
        )
        return meta

    def add_raw(self, topic: str, *, key: str | None, value: bytes, headers: list[list[str]]) -> None:
        """Queue an already-encoded record (dead letters keep the original bytes)."""
        self._rows.append((topic, key, value, json.dumps(headers)))

    @property
    def pending(self) -> int:
        return len(self._rows)

    async def flush(self, session: AsyncSession) -> None:
        if self._rows:
            topics, keys, values, headers = (list(col) for col in zip(*self._rows, strict=True))
            await session.execute(_INSERT, {"topics": topics, "keys": keys, "values": values, "headers": headers})
            self._rows = []


# One statement with array parameters, whatever the number of rows: compiled once and
# cheap per row (no per-row parameter processing), rows keep their order (ordinality).
_INSERT = text(
    """
    INSERT INTO outbox (topic, key, value, headers)
    SELECT t, k, v, CAST(h AS jsonb)
    FROM unnest(CAST(:topics AS text[]), CAST(:keys AS text[]), CAST(:values AS bytea[]), CAST(:headers AS text[]))
         WITH ORDINALITY AS r(t, k, v, h, n)
    ORDER BY n
    """
)


class OutboxRelay:
    """Publishes outbox rows to Kafka. Run :meth:`run` as a background task."""

    def __init__(
        self,
        engine: AsyncEngine,
        tables: MessagingTables,
        producer: AIOKafkaProducer | None = None,
        *,
        lock_name: str,
        batch_size: int = 1000,
        poll_interval_s: float = 0.2,
        send_timeout_s: float = 15.0,
    ) -> None:
        self._engine = engine
        self._table = tables.outbox
        self.producer = producer
        self._lock_key = zlib.crc32(f"outbox-relay:{lock_name}".encode())
        self._batch_size = batch_size
        self._poll = poll_interval_s
        self._send_timeout = send_timeout_s
        self._unfinished: list[asyncio.Future[Any]] = []
        self._wake = asyncio.Event()
        self.published = 0
        self.failures = 0
        self.healthy = True

    def notify(self) -> None:
        """Wake the relay now (a unit of work committed outbox rows)."""
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.5
        while True:
            try:
                sent = await self.publish_once()
                self.healthy = True
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Kafka or database away: keep the rows, retry
                self.failures += 1
                self.healthy = False
                log.warning("outbox relay failed (%s); retrying in %.1fs", type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if sent < self._batch_size:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll)

    async def publish_once(self) -> int:
        """Publish one batch; returns how many rows went out."""
        if self._unfinished:  # sends of a batch that timed out: let them end first
            done, _ = await asyncio.wait(self._unfinished, timeout=self._send_timeout)
            if len(done) < len(self._unfinished):
                raise TimeoutError("Kafka has not acknowledged the previous batch yet")
            self._unfinished = []
        async with self._engine.begin() as conn:
            if not await self._try_lock(conn):
                return 0
            rows = (
                await conn.execute(
                    select(
                        self._table.c.id,
                        self._table.c.topic,
                        self._table.c.key,
                        self._table.c.value,
                        self._table.c.headers,
                    )
                    .order_by(self._table.c.id)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            await self._send(rows)
            await conn.execute(_DELETE, {"ids": [r.id for r in rows]})
        self.published += len(rows)
        return len(rows)

    async def _try_lock(self, conn: AsyncConnection) -> bool:
        got = await conn.scalar(select(func.pg_try_advisory_xact_lock(self._lock_key)))
        return bool(got)

    async def _send(self, rows: Sequence[Any]) -> None:
        if self.producer is None:
            raise RuntimeError("outbox relay has no producer (runtime not started)")
        futures = []
        for row in rows:
            headers = [(k, v.encode()) for k, v in row.headers]
            fut = await self.producer.send(
                row.topic,
                value=row.value,
                key=row.key.encode() if row.key is not None else None,
                headers=headers,
            )
            futures.append(fut)
        done, pending = await asyncio.wait(futures, timeout=self._send_timeout)
        if pending:
            self._unfinished = list(pending)
            raise TimeoutError(f"{len(pending)} of {len(futures)} records not acknowledged by Kafka")
        for fut in done:
            fut.result()  # raises the first delivery error

    async def pending(self) -> int:
        async with self._engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(self._table)) or 0)


_DELETE = text("DELETE FROM outbox WHERE id = ANY(CAST(:ids AS bigint[]))")
