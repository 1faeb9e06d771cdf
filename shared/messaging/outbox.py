"""Transactional outbox: the writer (inside a unit of work) and the relay (a task).

A handler never publishes to Kafka directly. It adds events to the outbox, and they
are inserted in the same transaction as its state change. The relay then publishes
them and deletes them.

**Order per key = commit order.** Outbox ids are assigned at INSERT, not at commit, so
two transactions writing events for the same key could commit in the opposite order of
their ids, and a relay reading in id order would then publish them out of commit order
(or publish the later one while the earlier is still invisible). So the writer
serialises writers *per key* at flush: right before inserting its rows (the last thing
before COMMIT) it takes a transaction-scoped advisory lock for each key it writes,
and holds it until commit. Two transactions with a key in common therefore flush and
commit one after the other, and the ids of one key's rows follow commit order; the
relay, reading in id order, publishes each key's events in commit order.
Keys are hashed onto ``key_lock_stripes`` stripes (an unrelated key may share a stripe:
harmless, it only waits). A transaction touching more stripes than
``max_key_locks`` (a billing run over 50,000 customers) takes one exclusive lock
instead, which every per-key writer holds *shared*: it waits for them and they for
it. So no transaction holds more than ``max_key_locks + 1`` locks, whatever its size,
and PostgreSQL's lock table (``max_locks_per_transaction`` x connections) is safe.
Locks are taken in one order (the global lock, then stripes ascending): no deadlock
among writers.

**The relay** (one leader per service, a fenced producer):
- Leadership: a session-level advisory lock on a connection the leader keeps. Other
  replicas' relays try again every ``follower_poll_s``. Leadership is sticky, so a
  healthy leader keeps it; a leader that loses its database connection loses the
  lock with it and stops.
- Fencing: the leader publishes with a *transactional* producer whose
  ``transactional_id`` is the service's (one per service). Starting it fences every
  earlier producer with that id: the previous leader (another replica, or this process
  before a failure) can no longer write, and its unfinished Kafka transaction is
  aborted. Consumers read ``read_committed``, so a stale copy of a batch that an old
  leader still had in flight never reaches them after a newer copy: the handover
  window is closed by Kafka, not by timing.
- A batch is one Kafka transaction and one database transaction: rows are read in id
  order (``FOR UPDATE``, waiting for an old leader's batch still in flight), sent,
  the Kafka transaction committed, then the rows deleted. A crash between the two
  commits publishes the batch again (same ``ce_id``; consumers' inboxes drop the
  copy): at least once on the wire, exactly once in effect.
- Kafka away: a batch not committed within ``send_timeout_s`` is abandoned (database
  rolled back, Kafka transaction aborted or fenced): the relay resigns, backs off and
  starts a new producer, which fences the abandoned one. No transaction stays open
  through an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from shared import tracing
from shared.events.envelope import Event, EventMeta, encode_data, header_texts
from shared.messaging.tables import MessagingTables
from shared.tracing import TraceContext

log = logging.getLogger(__name__)

# Advisory-lock namespace (first of the two int4 keys) of the per-key flush locks.
KEY_LOCK_NAMESPACE = zlib.crc32(b"outbox-key-order") & 0x7FFFFFFF
ALL_KEYS = -1
"""The stripe number of the one lock a large transaction takes instead of its stripes."""
MAX_RECORD_BYTES = 900 * 1024
"""Largest record (value, key and headers) the outbox accepts: under the producer's
``max_request_size`` and the broker's ``message.max.bytes`` (both 1 MiB by default), so
a row the relay can never publish cannot get in and block every row behind it."""


class RecordTooLarge(ValueError):
    """An event too large for Kafka: refused when it is written, not when published."""


def key_stripe(key: str, stripes: int) -> int:
    """The lock stripe of ``key``: stable across processes and releases (CRC-32)."""
    return zlib.crc32(key.encode()) % stripes


def flush_locks(keys: Sequence[str | None], *, stripes: int, max_locks: int) -> tuple[bool, list[int]]:
    """Which locks a flush of ``keys`` takes: (exclusive all-keys lock?, stripes, sorted).
    Few stripes: the all-keys lock shared plus each stripe; many: the all-keys lock
    exclusive alone."""
    wanted = sorted({key_stripe(k, stripes) for k in keys if k is not None})
    if not wanted:
        return False, []
    if len(wanted) > max_locks:
        return True, []
    return False, wanted


class OutboxWriter:
    """Collects outgoing records during a unit of work; ``flush`` inserts them."""

    def __init__(
        self,
        tables: MessagingTables,
        source: str,
        topic_prefix: str = "",
        *,
        key_lock_stripes: int = 4096,
        max_key_locks: int = 64,
    ) -> None:
        self._table = tables.outbox
        self._source = source
        self._prefix = topic_prefix
        self._stripes = key_lock_stripes
        self._max_locks = max_key_locks
        self._rows: list[tuple[str, str | None, bytes | None, str]] = []
        self._flushed = False

    def add(
        self,
        topic: str,
        event: Event,
        *,
        key: str | None,
        subject: str | None = None,
        meta: EventMeta | None = None,
        trace: TraceContext | None = None,
        encoded: bytes | None = None,
    ) -> EventMeta:
        """Queue ``event`` for ``topic`` (unprefixed registry name). Returns its meta.
        ``encoded``: the event's value when the caller has encoded it already
        (``encode_data(event)``, e.g. to store the same JSON elsewhere): not encoded again.

        The event carries a ``ce_traceparent``: a child of ``trace`` (what caused it: a
        stored request's, a document's), else of the unit of work's current trace
        (the inbound event's), else of a new trace (:func:`shared.tracing.emitted`)."""
        meta = meta or EventMeta.new(
            event.EVENT_TYPE, self._source, subject=subject or key, trace=tracing.emitted(trace)
        )
        value = encode_data(event) if encoded is None else encoded
        headers = json.dumps(header_texts(meta))
        size = len(value) + len(headers) + len(key or "")
        if size > MAX_RECORD_BYTES:
            raise RecordTooLarge(f"{event.EVENT_TYPE} is {size} bytes, over {MAX_RECORD_BYTES} for one Kafka record")
        self._rows.append((self._prefix + topic, key, value, headers))
        return meta

    def add_tombstone(
        self, topic: str, tombstone: type[Event], *, key: str, trace: TraceContext | None = None
    ) -> EventMeta:
        """Queue a tombstone for ``key`` on the compacted ``topic``: a record with a null
        value (compaction then drops the key's earlier records), with the CloudEvents
        headers of a ``tombstone`` event (``ce_type``, ``ce_id``, ...) so consumers
        handle it once like any event. Its ``ce_traceparent`` is chosen as
        :meth:`add`'s is."""
        if not key:
            raise ValueError("a tombstone needs a key: it deletes that key's records")
        meta = EventMeta.new(tombstone.EVENT_TYPE, self._source, subject=key, trace=tracing.emitted(trace))
        headers = json.dumps(header_texts(meta))
        self._rows.append((self._prefix + topic, key, None, headers))
        return meta

    def add_raw(self, topic: str, *, key: str | None, value: bytes | None, headers: list[list[str]]) -> None:
        """Queue an already-encoded record (dead letters keep the original bytes; a
        null value stays null: a tombstone). One too large for Kafka goes with its value
        cut (header ``outbox_value_truncated`` gives the original size); the full record
        stays where it came from."""
        encoded = json.dumps(headers)
        room = MAX_RECORD_BYTES - len(encoded) - len(key or "") - 100
        if value is not None and len(value) > room:
            encoded = json.dumps([*headers, ["outbox_value_truncated", str(len(value))]])
            value = value[: max(room, 0)]
        self._rows.append((topic, key, value, encoded))

    def committed(self) -> None:
        """The transaction committed: the next one may flush again."""
        self._flushed = False

    @property
    def pending(self) -> int:
        return len(self._rows)

    async def flush(self, session: AsyncSession) -> None:
        """Insert the queued rows, serialised per key with other writers (see the
        module's docstring). Call it last before COMMIT: the key locks are held until
        then, so anything slow after it would hold up other writers of those keys."""
        if self._rows:
            if self._flushed:
                raise RuntimeError("the outbox is flushed once per transaction, right before COMMIT")
            self._flushed = True
            topics, keys, values, headers = (list(col) for col in zip(*self._rows, strict=True))
            exclusive, stripes = flush_locks(keys, stripes=self._stripes, max_locks=self._max_locks)
            if exclusive:
                await session.execute(_LOCK_ALL, {"ns": KEY_LOCK_NAMESPACE, "all": ALL_KEYS})
            elif stripes:
                await session.execute(_LOCK_STRIPES, {"ns": KEY_LOCK_NAMESPACE, "all": ALL_KEYS, "stripes": stripes})
            await session.execute(_INSERT, {"topics": topics, "keys": keys, "values": values, "headers": headers})
            self._rows = []


_LOCK_ALL = text("SELECT pg_advisory_xact_lock(CAST(:ns AS int), CAST(:all AS int))")
# The shared all-keys lock first, then the stripes in ascending order (one order for
# every writer: no deadlock). ORDER BY in the subquery fixes the order of the calls.
_LOCK_STRIPES = text(
    """
    SELECT pg_advisory_xact_lock_shared(CAST(:ns AS int), CAST(:all AS int)),
           (SELECT count(pg_advisory_xact_lock(CAST(:ns AS int), s))
              FROM (SELECT unnest(CAST(:stripes AS int[])) AS s ORDER BY 1) AS ordered)
    """
)


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


ProducerFactory = Callable[[], AIOKafkaProducer]


class OutboxRelay:
    """Publishes outbox rows to Kafka. Run :meth:`run` as a background task."""

    def __init__(
        self,
        engine: AsyncEngine,
        tables: MessagingTables,
        producer_factory: ProducerFactory | None = None,
        *,
        lock_name: str,
        batch_size: int = 1000,
        poll_interval_s: float = 0.2,
        send_timeout_s: float = 15.0,
        follower_poll_s: float = 1.0,
    ) -> None:
        self._engine = engine
        self._table = tables.outbox
        self.producer_factory = producer_factory
        self.producer: AIOKafkaProducer | None = None
        self._lock_key = zlib.crc32(f"outbox-relay:{lock_name}".encode())
        self._batch_size = batch_size
        self._poll = poll_interval_s
        self._send_timeout = send_timeout_s
        self._follower_poll = follower_poll_s
        self._leader_conn: AsyncConnection | None = None
        self._wake = asyncio.Event()
        self.published = 0
        self.failures = 0
        self.healthy = True
        self.leader = False
        self.leaderships = 0
        """How many times this relay became the leader (each time fencing the last)."""
        self.on_batch: Callable[[float, int], None] | None = None
        """Called with (seconds, rows) after each published batch (latency histogram)."""
        self.backlog = 0
        """Rows left behind by the last full batch read (0 when the relay caught up)."""

    def notify(self) -> None:
        """Wake the relay now (a unit of work committed outbox rows)."""
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.5
        try:
            while True:
                try:
                    if not await self.lead():
                        self.healthy = True  # a follower is healthy: the leader publishes
                        await asyncio.sleep(self._follower_poll)
                        continue
                    sent = await self.publish_once()
                    self.healthy = True
                    backoff = 0.5
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # Kafka or database away: keep the rows, retry
                    self.failures += 1
                    self.healthy = False
                    log.warning("outbox relay failed (%s); resigning, retrying in %.1fs", type(exc).__name__, backoff)
                    await self.resign()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                if sent < self._batch_size:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
        finally:
            await self.resign()

    async def lead(self) -> bool:
        """Be the leader: hold the advisory lock and a started (fencing) producer."""
        if self._leader_conn is not None:
            await self._leader_conn.execute(select(1))  # the lock lives as long as this connection
            return True
        conn = await self._engine.connect()
        try:
            # autocommit: the leader's connection holds the lock, never a transaction
            # (no snapshot pinning vacuum, no idle-in-transaction timeout)
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = bool(await conn.scalar(select(func.pg_try_advisory_lock(self._lock_key))))
        except BaseException:
            await conn.invalidate()
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self._leader_conn = conn
        try:
            if self.producer_factory is None:
                raise RuntimeError("outbox relay has no producer factory (runtime not started)")
            producer = self.producer_factory()
        except BaseException:
            await self.resign()
            raise
        try:
            await asyncio.wait_for(producer.start(), timeout=self._send_timeout)  # fences the last leader
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), timeout=self._send_timeout)
            await self.resign()
            raise
        self.producer = producer
        self.leader = True
        self.leaderships += 1
        log.info("outbox relay leads (producer started, earlier ones fenced)")
        return True

    async def resign(self) -> None:
        """Stop the producer (abandoning what it had in flight: the next leader's
        producer fences it) and release the lock."""
        producer, self.producer = self.producer, None
        conn, self._leader_conn = self._leader_conn, None
        self.leader = False
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), timeout=self._send_timeout)
        if conn is not None:
            # the connection goes back to the pool: the session lock must not go with it
            try:
                await asyncio.wait_for(conn.execute(select(func.pg_advisory_unlock(self._lock_key))), timeout=5.0)
            except BaseException:
                with contextlib.suppress(Exception):
                    await conn.invalidate()  # closes the session, which releases the lock
            finally:
                with contextlib.suppress(Exception):
                    await conn.close()

    async def publish_once(self) -> int:
        """Publish one batch; returns how many rows went out."""
        if self.producer is None:
            return 0
        started = time.monotonic()
        async with self._engine.begin() as conn:
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
                    # not SKIP LOCKED: a new leader must wait for an old leader's batch
                    # still in flight (its rows locked), or it would publish later rows
                    # of a key before that batch's earlier ones come back
                    .with_for_update()
                )
            ).all()
            if not rows:
                self.backlog = 0
                return 0
            await asyncio.wait_for(self._send(self.producer, rows), timeout=self._send_timeout)
            await conn.execute(_DELETE, {"ids": [r.id for r in rows]})
        self.published += len(rows)
        self.backlog = len(rows) if len(rows) >= self._batch_size else 0
        if self.on_batch is not None:
            self.on_batch(time.monotonic() - started, len(rows))
        return len(rows)

    async def _send(self, producer: AIOKafkaProducer, rows: Sequence[Any]) -> None:
        """One Kafka transaction for the batch: visible to consumers all or nothing."""
        await producer.begin_transaction()
        try:
            for row in rows:
                headers = [(k, v.encode()) for k, v in row.headers]
                await producer.send(
                    row.topic,
                    value=row.value,
                    key=row.key.encode() if row.key is not None else None,
                    headers=headers,
                )
            await producer.commit_transaction()
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.abort_transaction(), timeout=2.0)
            raise

    async def pending(self) -> int:
        """Rows waiting, counted exactly (tests and one-off checks; not for scrapes)."""
        async with self._engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(self._table)) or 0)

    async def pending_estimate(self) -> int:
        """Rows waiting, without counting the table: from the oldest and newest ids
        (an upper bound; exact when no ids were skipped)."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(_SPAN)).first()
        if row is None or row.lo is None:
            return 0
        return int(row.hi - row.lo + 1)


_SPAN = text(
    "SELECT (SELECT id FROM outbox ORDER BY id LIMIT 1) AS lo, (SELECT id FROM outbox ORDER BY id DESC LIMIT 1) AS hi"
)
_DELETE = text("DELETE FROM outbox WHERE id = ANY(CAST(:ids AS bigint[]))")
