"""The raw floors the benchmarks put their numbers beside, measured in the same run: an
aiokafka producer and consumer with no work in between, and PostgreSQL COPY with no
logic. Shared by the per-service benchmarks and the whole pipeline's (``make bench``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


async def produce(bootstrap: str, topic: str, records: list[Any]) -> float:
    """Produce (key, value, headers) records with an idempotent acks=all producer; seconds."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20)
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for key, value, headers in records:
            pending.append(await producer.send(topic, value, key=key, headers=headers))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def consume_floor(bootstrap: str, topic: str, count: int) -> float:
    """A consumer group reading ``count`` records (read_committed, offsets committed per
    batch, as the services do) with no work: seconds from the first record read."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"floor-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    seen = 0
    started: float | None = None
    try:
        while seen < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            if started is None and batch:
                started = time.perf_counter()
            seen += sum(len(v) for v in batch.values())
            await consumer.commit()
    finally:
        await consumer.stop()
    assert started is not None
    return time.perf_counter() - started


async def copy_floor(dsn: str, table: str, select: str) -> tuple[float, int]:
    """COPY the rows of ``select`` into a fresh copy of ``table`` (no logic); seconds, rows."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.set_type_codec(  # jsonb as its text (binary form: version 1 + text): no parse, no dump
            "jsonb", encoder=lambda v: b"\x01" + v.encode(), decoder=lambda b: b[1:].decode(),
            schema="pg_catalog", format="binary",
        )  # fmt: skip
        rows = await conn.fetch(select)
        columns = list(rows[0].keys())
        await conn.execute(f"CREATE TABLE {table}_floor (LIKE {table} INCLUDING ALL)")
        records = [tuple(r) for r in rows]
        started = time.perf_counter()
        await conn.copy_records_to_table(f"{table}_floor", records=records, columns=columns)
        return time.perf_counter() - started, len(records)
    finally:
        await conn.close()
