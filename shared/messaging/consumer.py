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
inbox claim for the valid ones, the handler's effect and its outbox rows. A failure
(database away, a bug) rolls everything back and is retried with backoff; nothing is
skipped. Only after the commit does FastStream commit the offsets.
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
    valid: list[Envelope[E]] = []
    invalid: list[tuple[Any, InvalidEvent]] = []
    for record in records:
        try:
            valid.append(decode(record, event_cls))
        except InvalidEvent as bad:
            invalid.append((record, bad))

    attempt = 0
    while True:
        try:
            async with uow_factory() as uow:
                dead = 0
                for record, err in invalid:
                    if await uow.dead_letters.add(record, err):
                        dead += 1
                        log.warning(
                            "dead letter %s[%d]@%d: %s",
                            record.topic,
                            record.partition,
                            record.offset,
                            err.code,
                        )
                new = await uow.inbox.claim(topic, [(e.meta.source, e.meta.id) for e in valid])
                todo: list[Envelope[E]] = []
                for env in valid:
                    pair = (env.meta.source, env.meta.id)
                    if pair in new:
                        new.discard(pair)  # the same id twice in one batch: first one wins
                        todo.append(env)
                if todo:
                    await handler(todo, uow)
                await uow.commit()
            break
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            attempt += 1
            stats.retries += 1
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
    stats.handled += len(todo)
    stats.duplicates += len(valid) - len(todo)
    stats.dead_lettered += dead
    failpoints.hit("consumer.after_commit")


def _safe(exc: Exception) -> str:
    """Error text for logs without statement parameters (they may hold personal data)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).split("\n")[0]
    return text[:200]
