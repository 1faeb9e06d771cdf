"""Kafka helpers for tests: publish events the way another system would, and read
topics back with a plain aiokafka consumer (waiting with a timeout, never a sleep)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


def ce_headers(
    event_type: str,
    event_id: str | None = None,
    source: str = "urn:test:crm",
    time: str = "2026-11-22T10:00:00+02:00",
) -> list[tuple[str, bytes]]:
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", (event_id or str(uuid.uuid4())).encode()),
        ("ce_source", source.encode()),
        ("ce_type", event_type.encode()),
        ("ce_time", time.encode()),
        ("content-type", b"application/json"),
    ]


class Publisher:
    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None

    async def __aenter__(self) -> Publisher:
        self._producer = AIOKafkaProducer(bootstrap_servers=self._bootstrap, acks="all", linger_ms=5)
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._producer is not None
        await self._producer.stop()

    async def send(
        self, topic: str, value: bytes | dict[str, Any], *, key: str, headers: list[tuple[str, bytes]]
    ) -> int:
        """Publish and wait for the ack; returns the partition the record went to."""
        assert self._producer is not None
        body = value if isinstance(value, bytes) else json.dumps(value).encode()
        meta = await self._producer.send_and_wait(topic, body, key=key.encode(), headers=headers)
        return int(meta.partition)

    async def send_many(self, items: list[tuple[str, bytes, str, list[tuple[str, bytes]]]]) -> None:
        assert self._producer is not None
        futures = [await self._producer.send(t, v, key=k.encode(), headers=h) for t, v, k, h in items]
        await asyncio.gather(*futures)


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    expect: int,
    timeout: float = 30.0,
    settle: float = 1.0,
    where: Callable[[ConsumerRecord[bytes, bytes]], bool] | None = None,
    isolation_level: str = "read_committed",
) -> list[ConsumerRecord[bytes, bytes]]:
    """Everything on ``topic`` from the start: waits until ``expect`` records are there
    (or the timeout), then ``settle`` seconds more so that extra ones would show.
    Reads committed records only, as the services do (the outbox relay is transactional)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        isolation_level=isolation_level,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + timeout
        settle_until: float | None = None
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(r for r in recs if where is None or where(r))
            if len(records) >= expect and settle_until is None:
                settle_until = time.monotonic() + settle
            if settle_until is not None and time.monotonic() >= settle_until:
                break
    finally:
        await consumer.stop()
    return records


async def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """Offsets the consumer group has committed on ``topic`` (partition -> offset)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0}


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        if not parts:
            await consumer._client.force_metadata_update()
            parts = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or set())]
        ends = await consumer.end_offsets(parts)
    finally:
        await consumer.stop()
    return {tp.partition: off for tp, off in ends.items()}


async def wait_for(predicate: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.2) -> Any:
    """Await ``predicate()`` (sync or async) until it is truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")
