"""The consumer loop every business topic uses.

FastStream's defaults are unsafe for business topics (``ACK_FIRST`` commits before the
work, ``auto_offset_reset="latest"`` skips what was published before the first start),
so :func:`subscribe` always sets ``ack_policy=NACK_ON_ERROR`` with auto-commit off,
``auto_offset_reset="earliest"``, a ``group_id`` and batch consumption (and the broker
itself refuses anything less: :mod:`shared.messaging.broker`).

One batch is one transaction: dead letters for records that are not valid events, the
inbox claim for the valid ones, the handler's effect and its outbox rows. Offsets are
committed only after that commit. When the transaction fails, what happens depends on
whose fault it is:

- **The record's own fault** (poison): a contract error found by :func:`decode` (not
  JSON, a missing CloudEvents attribute, an event type the topic does not carry, a
  field that fails validation), an explicit refusal by the handler
  (:class:`~shared.rejections.EventRejected`), or data PostgreSQL refuses (SQLSTATE
  class 22, data exception, and 23, integrity constraint). The batch is retried one
  record at a time, in order; the record that still fails is dead-lettered with its
  reason and *not* claimed in the inbox, so a replay of it after the cause is fixed
  (``billing dlq replay``) is handled like any new event. Its neighbours are handled.
- **Anything else** (the database or network away, a serialization conflict, and also
  a bug or a schema mismatch: ``AttributeError``, ``KeyError``, an undefined column):
  retrying the same record might help once the cause is gone, and dead-lettering it
  would eat the stream. The batch is retried with backoff; when it keeps failing, each
  partition of the batch is tried on its own, the partitions that work commit, and a
  partition that still fails **stops**: it is rewound to its first unhandled record and
  paused, and is tried again after a growing pause (up to ``stall_max_s``). A stopped
  partition is loud: ``/readyz`` reports the consumer as stalled, the
  ``billing_consumer_partition_stalled`` metric is 1, and an ERROR is logged with the
  exception type. The other partitions keep flowing. When the cause is fixed (a
  deploy, a migration), the partition resumes where it stopped; nothing was skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared import failpoints, tracing
from shared.db.uow import UnitOfWork
from shared.events.envelope import Envelope, Event, EventTypes, InvalidEvent, decode
from shared.events.topics import TopicSpec
from shared.messaging.poison import is_outage, is_poison, rejection, safe_text
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)
BatchHandler = Callable[[Sequence[Envelope[Any]], U], Awaitable[object]]


@dataclass
class Stall:
    """A partition this consumer stopped: where, since when, why (exception type)."""

    offset: int
    error: str
    since: float = field(default_factory=time.time)
    attempts: int = 1


@dataclass
class ConsumerStats:
    """Counters per subscription (exposed by the service's metrics endpoint)."""

    topic: str
    consumer: str = ""
    records: int = 0
    handled: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    retries: int = 0
    stalls: int = 0
    stalled: dict[int, Stall] = field(default_factory=dict)
    """Partitions stopped now (partition -> stall); empty when all flow."""
    batches: int = 0
    batch_seconds: float = 0.0
    on_batch: Callable[[str, float], None] | None = None
    """Called with (topic, seconds) after each batch (the latency histogram)."""
    on_stall: Callable[[str, int, bool], None] | None = None
    """Called with (topic, partition, stopped?) when a partition stops or flows again."""
    on_dead_letter: Callable[[str, int], None] | None = None
    """Called with (topic, count) after dead letters were committed."""


class PartitionControl(Protocol):
    """What the loop needs from the Kafka consumer to stop one partition."""

    def stall(self, topic: str, partition: int, offset: int, delay: float) -> bool:
        """Rewind ``partition`` to ``offset`` and pause it for ``delay`` seconds.
        False when this consumer cannot (the batch is then redelivered whole)."""
        ...


class KafkaPartitionControl:
    """Stops a partition of an aiokafka consumer: seek back, pause, resume later.

    FastStream then commits the consumer's positions, which for the stopped partition
    is the rewound offset, so even another group member taking the partition over
    starts at the first unhandled record. One per subscription: it keeps one resume
    timer per partition (a newer stall replaces the older timer)."""

    def __init__(self) -> None:
        self.consumer: Any = None
        self._timers: dict[TopicPartition, asyncio.TimerHandle] = {}

    def bind(self, consumer: Any) -> KafkaPartitionControl:
        """The consumer of the batch at hand (FastStream may recreate it)."""
        self.consumer = consumer
        return self

    def assigned(self, topic: str) -> set[int] | None:
        """Partitions of ``topic`` this consumer owns now (None: unknown)."""
        if not hasattr(self.consumer, "assignment"):
            return None
        return {tp.partition for tp in self.consumer.assignment() if tp.topic == topic}

    def stall(self, topic: str, partition: int, offset: int, delay: float) -> bool:
        if not all(hasattr(self.consumer, m) for m in ("seek", "pause", "resume", "assignment")):
            return False  # FastStream's in-memory broker has no real consumer
        tp = TopicPartition(topic, partition)
        try:
            self.consumer.seek(tp, offset)
            self.consumer.pause(tp)
        except Exception as exc:  # revoked meanwhile: its new owner starts from the last commit
            log.info("%s[%d] not paused: %s", topic, partition, type(exc).__name__)
            return True
        previous = self._timers.pop(tp, None)
        if previous is not None:
            previous.cancel()
        self._timers[tp] = asyncio.get_running_loop().call_later(delay, self._resume, tp)
        return True

    def _resume(self, tp: TopicPartition) -> None:
        self._timers.pop(tp, None)
        try:
            if tp in self.consumer.assignment():
                self.consumer.resume(tp)
        except Exception as exc:  # revoked meanwhile: its new owner starts from the commit
            log.info("not resuming %s[%d]: %s", tp.topic, tp.partition, type(exc).__name__)


class PartitionStalled(Exception):
    """A partition could not be handled and the consumer cannot pause it: the batch is
    handed back to FastStream (nack), which rewinds every partition of it."""


@dataclass
class _Item:
    record: Any
    envelope: Envelope[Any] | None = None
    error: InvalidEvent | None = None


class _Failed(Exception):
    def __init__(self, exc: Exception, poison: bool) -> None:
        super().__init__(type(exc).__name__)
        self.exc = exc
        self.poison = poison


async def _no_decode(msg: Any) -> None:
    """Leave bodies undecoded: :func:`decode` validates each record itself, so a
    malformed body reaches the dead-letter path instead of failing in FastStream."""
    return None


def consumer_name(settings: ServiceSettings, group: str, topic: TopicSpec) -> str:
    """The subscription's identity in the inbox: group id and topic. Two subscriptions
    of one service that consume the same event each handle it once."""
    return f"{settings.group(group)}:{settings.topic(topic.name)}"


def subscribe(
    broker: KafkaBroker,
    settings: ServiceSettings,
    *,
    topic: TopicSpec,
    group: str,
    handler: BatchHandler[U],
    uow_factory: Callable[[], U],
    attempts: int | None = None,
) -> ConsumerStats:
    """Subscribe ``handler`` to every event type of ``topic`` with the policy above.
    The handler gets the batch's new events in delivery order, each an
    :class:`Envelope` whose ``data`` is one of ``topic.events``."""
    name = settings.topic(topic.name)
    loop = ConsumerLoop(
        topic=name,
        consumer=consumer_name(settings, group, topic),
        types=topic.types,
        require_time=topic.requires_time,
        tombstone=topic.tombstone,
        handler=handler,
        uow_factory=uow_factory,
        attempts=attempts or settings.consumer_attempts,
        stall_max_s=settings.consumer_stall_max_s,
    )

    control = KafkaPartitionControl()

    async def consume(message: KafkaMessage) -> None:
        raw = message.raw_message
        records = raw if isinstance(raw, tuple | list) else (raw,)
        control.bind(getattr(message, "consumer", None))
        owned = control.assigned(name)
        if owned is not None:
            loop.forget_stalls(keep=owned)  # partitions moved to another member are theirs to report
        await loop.process(records, control)

    types = ", ".join(topic.types)
    broker.subscriber(
        name,
        group_id=settings.group(group),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        batch=True,
        max_records=settings.consumer_max_records,
        batch_timeout_ms=200,
        decoder=_no_decode,
        title=f"{name}:{group}",
        description=f"{types}; key = {topic.key}",
    )(consume)
    return loop.stats


class ConsumerLoop:
    """One subscription's batch processing (no Kafka in here: records in, effects out)."""

    def __init__(
        self,
        *,
        topic: str,
        consumer: str,
        types: EventTypes,
        handler: BatchHandler[U],
        uow_factory: Callable[[], U],
        require_time: bool = False,
        tombstone: type[Event] | None = None,
        attempts: int = 4,
        backoff_s: float = 0.25,
        stall_max_s: float = 60.0,
    ) -> None:
        self.topic = topic
        self.consumer = consumer
        self.stats = ConsumerStats(topic=topic, consumer=consumer)
        self._types = types
        self._require_time = require_time
        self._tombstone = tombstone
        self._handler = handler
        self._uow_factory = uow_factory
        self._attempts = max(1, attempts)
        self._backoff = backoff_s
        self._stall_max = stall_max_s

    async def process(self, records: Sequence[Any], control: PartitionControl | None = None) -> None:
        started = time.monotonic()
        items = [self._decode(r) for r in records]
        self.stats.records += len(records)
        stalled: list[int] = []
        try:
            self._handled(items, await self._retrying(items))
        except _Failed as failed:
            partitions = _by_partition(items)
            # the database or network away: no partition would get through on its own
            # either, and trying each would only keep the member from polling
            whole = len(partitions) == 1 or is_outage(failed.exc)
            if not whole and not failed.poison:
                log.warning(
                    "batch of %d from %s failed (%s); trying its %d partitions one by one",
                    len(items),
                    self.topic,
                    type(failed.exc).__name__,
                    len(partitions),
                )
            for partition, group in partitions:
                if whole and not failed.poison:
                    outcome: _Failed | None = failed  # the batch's failure is each partition's
                else:
                    outcome = None
                    try:
                        self._handled(group, await self._retrying(group))
                    except _Failed as f:
                        outcome = f
                if outcome is None:
                    self._flowing(partition)
                elif outcome.poison:
                    if not await self._isolate(partition, group, control):
                        stalled.append(partition)
                elif not self._stall(partition, group[0].record.offset, outcome.exc, control):
                    stalled.append(partition)
        else:
            for partition in {int(i.record.partition) for i in items}:
                self._flowing(partition)
        seconds = time.monotonic() - started
        self.stats.batches += 1
        self.stats.batch_seconds += seconds
        if self.stats.on_batch is not None:
            self.stats.on_batch(self.topic, seconds)
        failpoints.hit("consumer.after_commit")
        if stalled:
            raise PartitionStalled(f"{self.topic} partitions {stalled} stopped; the batch is redelivered")

    # --- steps ------------------------------------------------------------------

    def _decode(self, record: Any) -> _Item:
        try:
            # none, or an invalid trace context: this event starts a trace
            envelope = decode(
                record, self._types, require_time=self._require_time, tombstone=self._tombstone, start_trace=True
            )
        except InvalidEvent as bad:
            return _Item(record, error=bad)
        return _Item(record, envelope=envelope)

    async def _retrying(self, items: Sequence[_Item]) -> tuple[int, int, int]:
        """Run ``items`` as one transaction; retry what may pass next time. Raises
        :class:`_Failed` at once for poison, after the attempts for anything else."""
        attempt = 0
        while True:
            try:
                return await self._transaction(items)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                self.stats.retries += 1
                if is_poison(exc) or attempt >= self._attempts:
                    raise _Failed(exc, is_poison(exc)) from exc
                delay = min(self._backoff * 2 ** (attempt - 1), 10.0)
                log.warning(
                    "%d record(s) from %s failed (%s: %s); retry %d in %.2fs",
                    len(items),
                    self.topic,
                    type(exc).__name__,
                    safe_text(exc),
                    attempt,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _transaction(self, items: Sequence[_Item]) -> tuple[int, int, int]:
        """Dead letters, inbox claim, effect and outbox rows in one transaction.
        Returns (handled, duplicates, dead-lettered)."""
        async with self._uow_factory() as uow:
            dead = 0
            for item in items:
                if item.error is not None and await uow.dead_letters.add(item.record, item.error):
                    dead += 1
                    log.warning(
                        "dead letter %s[%d]@%d: %s",
                        item.record.topic,
                        item.record.partition,
                        item.record.offset,
                        item.error.code,
                    )
            valid = [i.envelope for i in items if i.envelope is not None]
            new = await uow.inbox.claim(self.consumer, [(e.meta.source, e.meta.id) for e in valid])
            todo: list[Envelope[Any]] = []
            for env in valid:
                pair = (env.meta.source, env.meta.id)
                if pair in new:
                    new.discard(pair)  # the same id twice in one batch: first one wins
                    todo.append(env)
            if todo:
                # the batch's current trace: its first event's (each event has one: its
                # own, or one started when it was read). A handler that emits one event
                # per inbound event passes that event's trace to the outbox instead.
                with tracing.use(todo[0].meta.trace):
                    await self._handler(todo, uow)
                    log.debug("%d event(s) from %s handled", len(todo), self.topic)  # with the trace id
            await uow.commit()
        return len(todo), len(valid) - len(todo), dead

    async def _isolate(self, partition: int, group: Sequence[_Item], control: PartitionControl | None) -> bool:
        """One transaction per record, in order. A record that fails on its own data
        is dead-lettered (not claimed: a replay is handled); one that fails otherwise
        stops the partition there. False if it had to stop and could not pause."""
        for item in group:
            try:
                self._handled([item], await self._retrying([item]))
            except _Failed as failed:
                if not failed.poison or item.envelope is None:
                    return self._stall(partition, item.record.offset, failed.exc, control)
                try:
                    await self._retrying([_Item(item.record, error=rejection(failed.exc))])
                except _Failed as dlq_failed:
                    return self._stall(partition, item.record.offset, dlq_failed.exc, control)
                self.stats.dead_lettered += 1
                if self.stats.on_dead_letter is not None:
                    self.stats.on_dead_letter(self.topic, 1)
                log.error(
                    "dead letter %s[%d]@%d: %s (%s)",
                    item.record.topic,
                    item.record.partition,
                    item.record.offset,
                    rejection(failed.exc).code,
                    type(failed.exc).__name__,
                )
        self._flowing(partition)
        return True

    def _handled(self, items: Sequence[_Item], counts: tuple[int, int, int]) -> None:
        handled, duplicates, dead = counts
        self.stats.handled += handled
        self.stats.duplicates += duplicates
        self.stats.dead_lettered += dead
        if dead and self.stats.on_dead_letter is not None:
            self.stats.on_dead_letter(self.topic, dead)

    def forget_stalls(self, keep: set[int]) -> None:
        """Drop the stall state of partitions this member no longer owns."""
        for partition in [p for p in self.stats.stalled if p not in keep]:
            self._flowing(partition)

    def _flowing(self, partition: int) -> None:
        if self.stats.stalled.pop(partition, None) is not None:
            log.warning("%s[%d] flows again", self.topic, partition)
            if self.stats.on_stall is not None:
                self.stats.on_stall(self.topic, partition, False)

    def _stall(self, partition: int, offset: int, exc: Exception, control: PartitionControl | None) -> bool:
        previous = self.stats.stalled.get(partition)
        attempts = previous.attempts + 1 if previous is not None and previous.offset == offset else 1
        stall = Stall(offset=offset, error=type(exc).__name__, attempts=attempts)
        if previous is not None and previous.offset == offset:
            stall.since = previous.since
        self.stats.stalled[partition] = stall
        self.stats.stalls += 1
        if self.stats.on_stall is not None:
            self.stats.on_stall(self.topic, partition, True)
        delay = min(1.0 * 2 ** (attempts - 1), self._stall_max)
        log.error(
            "%s[%d] STOPPED at offset %d: %s: %s (not the record's fault, so not dead-lettered); "
            "retrying in %.0fs, stalled %d time(s)",
            self.topic,
            partition,
            offset,
            type(exc).__name__,
            safe_text(exc),
            delay,
            attempts,
        )
        return control is not None and control.stall(self.topic, partition, offset, delay)


def _by_partition(items: Sequence[_Item]) -> list[tuple[int, list[_Item]]]:
    """Records of one partition together, in their order (a batch may interleave them)."""
    merged: dict[int, list[_Item]] = {}
    for item in items:
        merged.setdefault(int(item.record.partition), []).append(item)
    return list(merged.items())
