"""The consumer loop every business topic uses.

FastStream's defaults are unsafe for business topics (``ACK_FIRST`` commits before the
work, ``auto_offset_reset="latest"`` skips what was published before the first start),
so :func:`subscribe` always sets:

- ``ack_policy=NACK_ON_ERROR`` with auto-commit off: offsets are committed only after
  the handler returned, i.e. after its transaction committed; on an error FastStream
  seeks back and the batch is delivered again;
- ``auto_offset_reset="earliest"``, a ``group_id``, and batch consumption
  (``max_records`` from settings) so one transaction carries many events.

One batch is one transaction: dead letters for records that are not valid events, the
inbox claim for the valid ones, the handler's effect and its outbox rows. Only after the
commit does FastStream commit the offsets. When the transaction fails:

- a transient failure (database or network away, serialization conflict, anything not
  listed below) rolls back and is retried with backoff; after ``max_attempts`` the
  batch is handed back to FastStream, which seeks back and delivers it again. Nothing
  is skipped, however long the outage.
- a poison record (the handler fails on its data: ``IntegrityError``, ``DataError``,
  ``ValueError``, ``TypeError``, ... see :func:`is_poison`) is found by retrying the
  batch one record at a time; the record that still fails is dead-lettered with code
  ``handler-error`` and claimed in the inbox, and the rest are handled. One bad record
  never blocks its partition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy import exc as sa_exc

from shared import failpoints
from shared.db.uow import UnitOfWork
from shared.events.envelope import E, Envelope, InvalidEvent, decode
from shared.events.topics import TopicSpec
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)
BatchHandler = Callable[[Sequence[Envelope[E]], U], Awaitable[object]]


@dataclass
class ConsumerStats:
    """Counters per subscription (exposed by the service's metrics endpoint)."""

    topic: str
    records: int = 0
    handled: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    retries: int = 0


async def _no_decode(msg: Any) -> None:
    """Leave bodies undecoded: :func:`decode` validates each record itself, so a
    malformed body reaches the dead-letter path instead of failing in FastStream."""
    return None


def subscribe(
    broker: KafkaBroker,
    settings: ServiceSettings,
    *,
    topic: TopicSpec,
    group: str,
    event_cls: type[E],
    handler: BatchHandler[E, U],
    uow_factory: Callable[[], U],
    max_attempts: int = 8,
) -> ConsumerStats:
    """Subscribe ``handler`` to ``topic`` with the safe policy described above."""
    if event_cls is not topic.event:
        raise ValueError(f"{topic.name} carries {topic.event.__name__}, not {event_cls.__name__}")
    name = settings.topic(topic.name)
    stats = ConsumerStats(topic=name)

    async def consume(message: KafkaMessage) -> None:
        raw = message.raw_message
        records = raw if isinstance(raw, tuple | list) else (raw,)
        await process_batch(
            records,
            topic=name,
            event_cls=event_cls,
            handler=handler,
            uow_factory=uow_factory,
            stats=stats,
            max_attempts=max_attempts,
        )

    broker.subscriber(
        name,
        group_id=settings.group(group),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        batch=True,
        max_records=settings.consumer_max_records,
        batch_timeout_ms=200,
        decoder=_no_decode,
        title=f"{name}:{group}",
        description=f"{event_cls.EVENT_TYPE}, key = {topic.key}",
    )(consume)
    return stats


async def process_batch(
    records: Sequence[Any],
    *,
    topic: str,
    event_cls: type[E],
    handler: BatchHandler[E, U],
    uow_factory: Callable[[], U],
    stats: ConsumerStats,
    max_attempts: int = 8,
) -> None:
    valid: list[tuple[Any, Envelope[E]]] = []
    invalid: list[tuple[Any, InvalidEvent]] = []
    for record in records:
        try:
            valid.append((record, decode(record, event_cls)))
        except InvalidEvent as bad:
            invalid.append((record, bad))

    attempt = 0
    while True:
        try:
            handled, dead = await _transaction(topic, valid, invalid, handler, uow_factory)
            break
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            attempt += 1
            stats.retries += 1
            if is_poison(exc) and attempt >= min(max_attempts, 3):
                log.warning("batch of %d from %s: %s; isolating the record", len(records), topic, type(exc).__name__)
                await _isolate(
                    topic, valid=valid, invalid=invalid, handler=handler, uow_factory=uow_factory, stats=stats
                )
                return
            if attempt >= max_attempts:
                log.error(
                    "batch of %d from %s failed %d times (%s); redelivering",
                    len(records),
                    topic,
                    attempt,
                    type(exc).__name__,
                )
                raise
            delay = min(0.25 * 2 ** (attempt - 1), 10.0)
            log.warning(
                "batch of %d from %s failed (%s: %s); retry %d in %.2fs",
                len(records),
                topic,
                type(exc).__name__,
                _safe(exc),
                attempt,
                delay,
            )
            await asyncio.sleep(delay)

    stats.records += len(records)
    stats.handled += handled
    stats.duplicates += len(valid) - handled
    stats.dead_lettered += dead
    failpoints.hit("consumer.after_commit")


async def _transaction(
    topic: str,
    valid: Sequence[tuple[Any, Envelope[E]]],
    invalid: Sequence[tuple[Any, InvalidEvent]],
    handler: BatchHandler[E, U],
    uow_factory: Callable[[], U],
) -> tuple[int, int]:
    """Dead letters, inbox claim, effect and outbox rows in one transaction."""
    async with uow_factory() as uow:
        dead = 0
        for record, err in invalid:
            if await uow.dead_letters.add(record, err):
                dead += 1
                log.warning("dead letter %s[%d]@%d: %s", record.topic, record.partition, record.offset, err.code)
        new = await uow.inbox.claim(topic, [(e.meta.source, e.meta.id) for _, e in valid])
        todo: list[Envelope[E]] = []
        for _, env in valid:
            pair = (env.meta.source, env.meta.id)
            if pair in new:
                new.discard(pair)  # the same id twice in one batch: first one wins
                todo.append(env)
        if todo:
            await handler(todo, uow)
        await uow.commit()
    return len(todo), dead


async def _isolate(
    topic: str,
    *,
    valid: Sequence[tuple[Any, Envelope[E]]],
    invalid: Sequence[tuple[Any, InvalidEvent]],
    handler: BatchHandler[E, U],
    uow_factory: Callable[[], U],
    stats: ConsumerStats,
) -> None:
    """One transaction per record, in order; a record that fails on its data is
    dead-lettered (and claimed, so a redelivery skips it) instead of its effect."""
    stats.records += len(valid) + len(invalid)
    stats.dead_lettered += (await _transaction(topic, [], invalid, handler, uow_factory))[1]
    for record, env in valid:
        attempt = 0
        while True:
            try:
                stats.handled += (await _transaction(topic, [(record, env)], [], handler, uow_factory))[0]
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                if not is_poison(exc):
                    if attempt >= 8:
                        raise
                    await asyncio.sleep(min(0.25 * 2 ** (attempt - 1), 10.0))
                    continue
                async with uow_factory() as uow:
                    await uow.inbox.claim(topic, [(env.meta.source, env.meta.id)])
                    if await uow.dead_letters.add(record, InvalidEvent("handler-error", type(exc).__name__)):
                        stats.dead_lettered += 1
                    await uow.commit()
                log.error(
                    "dead letter %s[%d]@%d: handler-error (%s)",
                    record.topic,
                    record.partition,
                    record.offset,
                    type(exc).__name__,
                )
                break
    failpoints.hit("consumer.after_commit")


_POISON: tuple[type[BaseException], ...] = (
    ValueError,  # pydantic's ValidationError too
    TypeError,
    LookupError,
    AttributeError,
    ArithmeticError,
    AssertionError,
)
# PostgreSQL SQLSTATE classes caused by the data: 22 data exception (a NUL character,
# a number out of range), 23 integrity constraint violation, 42 syntax or access rule.
# Classes 08 (connection), 40 (serialization, deadlock), 53, 57 (shutdown) and the
# rest are transient.
_POISON_SQLSTATE_CLASSES = frozenset({"22", "23", "42"})


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, however SQLAlchemy and asyncpg wrapped it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "sqlstate", None)
        if isinstance(code, str) and len(code) == 5:
            return code
        current = getattr(current, "orig", None) or current.__cause__
    return None


def is_poison(exc: BaseException) -> bool:
    """Does the failure come from the data (retrying the same record cannot help)?
    Anything else counts as transient and is retried without end."""
    if isinstance(exc, sa_exc.DBAPIError):
        code = sqlstate(exc)
        return code is not None and code[:2] in _POISON_SQLSTATE_CLASSES
    return isinstance(exc, _POISON)


def _safe(exc: Exception) -> str:
    """Error text for logs without statement parameters (they may hold personal data)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).split("\n")[0]
    return text[:200]
