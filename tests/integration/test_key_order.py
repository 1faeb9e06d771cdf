"""Order per key under concurrent writers, on real PostgreSQL and Kafka.

Each writer inserts its outbox row first (its id is fixed there), then does its work
for the key (a counter row: PostgreSQL's row lock orders the writers of one key, so
the counter value is the key's commit order), waits a little and commits. Without
per-key serialisation at flush, ids follow insert order and the relay publishes in
id order: a writer that inserted first but committed last goes out first."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text

from services.customers.app import build
from services.customers.config import Settings
from shared.events.envelope import Event
from tests.support.isolation import Sandbox
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration

WRITERS = 120
KEYS = 4


class OrderProbe(Event):
    EVENT_TYPE = "fi.billing.test.order-probe.v1"
    writer: int
    key: str


async def test_events_of_one_key_reach_kafka_in_the_order_their_transactions_committed(sandbox: Sandbox) -> None:
    runtime = build(Settings(**sandbox.settings_kwargs(database_pool_size=20)))
    await runtime.start()
    topic = sandbox.topic("order-probe.v1")
    admin = AIOKafkaAdminClient(bootstrap_servers=sandbox.bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    await admin.close()
    await sandbox.fetch("CREATE TABLE probe_seq (key text PRIMARY KEY, n int NOT NULL)")
    await sandbox.fetch("INSERT INTO probe_seq SELECT 'k' || i, 0 FROM generate_series(0, $1::int - 1) AS i", KEYS)
    commit_rank: dict[int, int] = {}
    rng = random.Random(7)
    delays = [rng.uniform(0, 0.01) for _ in range(WRITERS)]

    async def writer(i: int) -> None:
        key = f"k{i % KEYS}"
        async with runtime.uow() as uow:
            uow.outbox.add("order-probe.v1", OrderProbe(writer=i, key=key), key=key)
            await uow.outbox.flush(uow.session)  # the row and its id exist from here
            rank = await uow.session.scalar(
                text("UPDATE probe_seq SET n = n + 1 WHERE key = :k RETURNING n"), {"k": key}
            )
            await asyncio.sleep(delays[i])
            await uow.commit()
        commit_rank[i] = int(rank)

    try:
        await asyncio.gather(*(writer(i) for i in range(WRITERS)))
        records = await read_topic(sandbox.bootstrap, topic, expect=WRITERS, timeout=60)
    finally:
        await runtime.stop()

    published: dict[str, list[int]] = defaultdict(list)
    for record in records:
        probe = OrderProbe.model_validate_json(record.value)
        published[probe.key].append(commit_rank[probe.writer])
    assert sum(len(v) for v in published.values()) == WRITERS
    for key, ranks in published.items():
        deduped = list(dict.fromkeys(ranks))  # the relay is at least once on the wire
        assert deduped == list(range(1, len(deduped) + 1)), f"{key}: published in commit ranks {deduped}"
