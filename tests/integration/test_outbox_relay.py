"""The outbox relay against real PostgreSQL and Kafka: several replicas, a leader that
goes away, and the fence that keeps an old leader's stale copy from landing last."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import insert, text

from services.customers.app import SPEC
from shared.db.engine import make_engine
from shared.db.migrations import upgrade
from shared.messaging.connection import make_producer
from shared.messaging.outbox import OutboxRelay
from shared.settings import ServiceSettings
from tests.support.isolation import Sandbox
from tests.support.kafka import read_topic, wait_for

pytestmark = pytest.mark.integration


async def create_topic(sandbox: Sandbox, name: str, partitions: int = 4) -> str:
    topic = sandbox.topic(name)
    admin = AIOKafkaAdminClient(bootstrap_servers=sandbox.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()
    return topic


async def test_three_relays_one_leader_killed_publish_every_row_and_keep_order_per_key(sandbox: Sandbox) -> None:
    await upgrade(SPEC.migrations_dir, sandbox.db_url)
    topic = await create_topic(sandbox, "relay-order")
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

    settings = ServiceSettings(**sandbox.settings_kwargs(service_name="customers"))
    relays = [
        OutboxRelay(
            engine,
            SPEC.tables,
            lambda: make_producer(settings),
            lock_name="customers",
            batch_size=10,
            poll_interval_s=0.05,
            follower_poll_s=0.1,
        )
        for _ in range(3)
    ]
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        await wait_for(lambda: sum(r.published for r in relays) >= 100, timeout=60, interval=0.01)
        assert sum(r.leader for r in relays) == 1, "exactly one relay leads"
        (first,) = [i for i, r in enumerate(relays) if r.leader]
        tasks[first].cancel()  # the leader goes away mid-stream: another takes over
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[first]
        await wait_for(lambda: _empty(engine), timeout=60)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    await engine.dispose()

    records = await read_topic(sandbox.bootstrap, topic, expect=3000)
    by_key: dict[str, list[int]] = defaultdict(list)
    for rec in records:
        body = json.loads(rec.value)
        assert rec.key == body["key"].encode()
        by_key[body["key"]].append(body["seq"])
    assert sorted(s for seqs in by_key.values() for s in set(seqs)) == list(range(3000))
    for seqs in by_key.values():
        deduped = list(dict.fromkeys(seqs))  # a batch in flight at the handover may come twice
        assert deduped == sorted(deduped), "records of one key came out of order"
    assert sum(r.leaderships for r in relays) >= 2  # the leadership moved


async def _empty(engine: object) -> bool:
    from sqlalchemy import text

    async with engine.connect() as conn:  # type: ignore[attr-defined]
        return (await conn.scalar(text("SELECT count(*) FROM outbox"))) == 0


async def test_a_new_leaders_producer_fences_the_old_ones_unfinished_batch(sandbox: Sandbox) -> None:
    """The handover window: an old leader whose batch is still in flight when another
    leader takes over. Its copy must never reach consumers after the new one's."""
    topic = await create_topic(sandbox, "relay-fence", partitions=1)
    settings = ServiceSettings(**sandbox.settings_kwargs(service_name="customers"))
    old = make_producer(settings)
    await old.start()
    await old.begin_transaction()
    await old.send_and_wait(topic, b"stale copy", key=b"C-1")  # on the broker, not yet committed

    new = make_producer(settings)  # same transactional id: starting it fences the old one
    await new.start()
    async with new.transaction():
        await new.send_and_wait(topic, b"fresh copy", key=b"C-1")

    with pytest.raises(Exception) as fenced:
        await old.commit_transaction()
    assert "Fenced" in type(fenced.value).__name__ or "Epoch" in type(fenced.value).__name__
    with contextlib.suppress(Exception):
        await old.stop()
    await new.stop()

    committed = await read_topic(sandbox.bootstrap, topic, expect=1, settle=1.0)
    assert [r.value for r in committed] == [b"fresh copy"]
    everything = await read_topic(sandbox.bootstrap, topic, expect=2, isolation_level="read_uncommitted")
    assert b"stale copy" in [r.value for r in everything]  # it did reach the log: only the fence hides it


async def test_a_leader_holds_its_lock_outside_any_transaction_and_resigning_frees_it(sandbox: Sandbox) -> None:
    await upgrade(SPEC.migrations_dir, sandbox.db_url)
    settings = ServiceSettings(**sandbox.settings_kwargs(service_name="customers"))
    engine = make_engine(sandbox.db_url, pool_size=2)
    first, second = (
        OutboxRelay(engine, SPEC.tables, lambda: make_producer(settings), lock_name="customers") for _ in range(2)
    )
    try:
        assert await first.lead()
        assert await first.lead()  # still the leader: checks its connection
        assert not await second.lead()
        assert first._leader_conn is not None
        pid = await first._leader_conn.scalar(text("SELECT pg_backend_pid()"))
        state = await sandbox.scalar("SELECT state FROM pg_stat_activity WHERE pid = $1", pid)
        assert state == "idle"  # not "idle in transaction": no snapshot held, no idle timeout to hit
        held = (  # in this test's database only: other databases' services hold their own
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        assert await sandbox.scalar(held) == 1

        await first.resign()  # its connection goes back to the pool without the lock
        assert await sandbox.scalar(held) == 0
        assert await second.lead()
    finally:
        await first.resign()
        await second.resign()
        await engine.dispose()
