"""Kafka for the demo, as the other systems use it: publish events with CloudEvents
headers, wait until a service's consumer group has taken everything, delete the
demo's topics on a reset."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.events.envelope import Event

GROUPS: dict[str, tuple[str, ...]] = {
    # the services' consumer groups (demo may not import services: listed here)
    "customers": ("customers",),
    "invoicing": ("invoicing-requests", "invoicing-profiles", "invoicing-payments"),
    "reminders": ("reminders",),
    "dispatch": ("dispatch", "dispatch-email", "dispatch-einvoice", "dispatch-print"),
}


def ce_headers(event_type: str, source: str) -> list[tuple[str, bytes]]:
    """CloudEvents binary-mode headers, as the CRM, the order systems and the bank send them."""
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(uuid.uuid4()).encode()),
        ("ce_source", source.encode()),
        ("ce_type", event_type.encode()),
        ("ce_time", datetime.now(UTC).isoformat().encode()),
        ("content-type", b"application/json"),
    ]


async def publish(bootstrap: str, topic: str, source: str, events: Sequence[tuple[str, Event]]) -> None:
    """Publish ``(key, event)`` pairs in order (per key) and wait for every ack."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, enable_idempotence=True)
    await producer.start()
    try:
        futures = []
        for key, event in events:
            body = event.model_dump_json().encode()
            futures.append(
                await producer.send(topic, body, key=key.encode(), headers=ce_headers(event.EVENT_TYPE, source))
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _ends(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        parts = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        ends = await consumer.end_offsets(parts) if parts else {}
    finally:
        await consumer.stop()
    return {tp.partition: off for tp, off in ends.items()}


async def caught_up(
    bootstrap: str, group: str, topic: str, *, transactional: bool = False, within_s: float = 300.0
) -> None:
    """Wait until ``group`` has committed past everything on ``topic``.

    A topic written in transactions (the services' outbox relays) ends each transaction
    with a commit marker the consumer may not have committed past yet, so there one
    offset short of the end is caught up: an unconsumed transaction is at least a
    record and its marker, two offsets."""
    slack = 1 if transactional else 0
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    deadline = time.monotonic() + within_s
    try:
        while True:
            ends = await _ends(bootstrap, topic)
            offsets = await admin.list_consumer_group_offsets(group)
            committed = {tp.partition: m.offset for tp, m in offsets.items() if tp.topic == topic}
            behind = sum(max(end - slack - max(committed.get(p, 0), 0), 0) for p, end in ends.items() if end > 0)
            if behind == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{group} still {behind} record(s) behind on {topic} after {within_s:.0f} s")
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, topics: Sequence[str], groups: Sequence[str]) -> int:
    """Delete the demo's topics (those that exist) and wait until they are gone, so the
    services create them afresh; returns how many were deleted.

    Kafka drops a group's committed offsets of a deleted topic with it, so the
    services' groups start the new topics from the beginning; checked here (aiokafka's
    admin client cannot delete groups), and a leftover offset stops the reset."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [t for t in topics if t in existing]
        if doomed:
            await admin.delete_topics(doomed)
        deadline = time.monotonic() + 60
        while doomed and time.monotonic() < deadline:
            if not set(doomed) & set(await admin.list_topics()):
                break
            await asyncio.sleep(0.5)
        known = {g for g, *_ in await admin.list_consumer_groups()}
        for group in (g for g in groups if g in known):
            for _ in range(20):
                offsets = await admin.list_consumer_group_offsets(group)
                if not any(tp.topic in doomed for tp in offsets):
                    break
                await asyncio.sleep(0.5)
            else:
                raise RuntimeError(f"consumer group {group} still has offsets of deleted topics")
        return len(doomed)
    finally:
        await admin.close()
