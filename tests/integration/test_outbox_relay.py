"""The outbox relay against real PostgreSQL and Kafka: several replicas at once."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import insert

from services.customers.app import SPEC
from shared.db.engine import make_engine
from shared.db.migrations import upgrade
from shared.messaging.connection import make_producer
from shared.messaging.outbox import OutboxRelay
from shared.settings import ServiceSettings
from tests.support.isolation import Sandbox
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration


async def test_three_relays_publish_every_row_once_or_more_and_keep_order_per_key(sandbox: Sandbox) -> None:
    await upgrade(SPEC.migrations_dir, sandbox.db_url)
    topic = sandbox.topic("relay-order")
    admin = AIOKafkaAdminClient(bootstrap_servers=sandbox.bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
    await admin.close()

    rows = [
        {
            "topic": topic,
            "key": f"k{i % 20}",
            "value": json.dumps({"key": f"k{i % 20}", "seq": i}).encode(),
            "headers": [["ce_id", f"e{i}"]],
        }
        for i in range(3000)
    ]
    engine = make_engine(sandbox.db_url)
    async with engine.begin() as conn:
        await conn.execute(insert(SPEC.tables.outbox), rows)

    settings = ServiceSettings(**sandbox.settings_kwargs())
    relays = []
    for _ in range(3):
        producer = make_producer(settings)
        await producer.start()
        relays.append(OutboxRelay(engine, SPEC.tables, producer, lock_name="customers", batch_size=250))

    async def drain(relay: OutboxRelay) -> None:
        while await relay.pending():
            await relay.publish_once()

    await asyncio.gather(*(drain(r) for r in relays))
    for r in relays:
        assert r.producer is not None
        await r.producer.stop()
    await engine.dispose()

    records = await read_topic(sandbox.bootstrap, topic, expect=3000)
    by_key: dict[str, list[int]] = defaultdict(list)
    for rec in records:
        body = json.loads(rec.value)
        assert rec.key == body["key"].encode()
        by_key[body["key"]].append(body["seq"])
    assert sorted(s for seqs in by_key.values() for s in set(seqs)) == list(range(3000))
    for seqs in by_key.values():
        assert seqs == sorted(seqs), "records of one key came out of order"
    assert sum(r.published for r in relays) == 3000
