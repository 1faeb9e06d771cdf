"""Several replicas of a service in one consumer group (how ops scale it), one of them
killed while events flow: every event still has exactly one effect."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from shared.events.topics import BILLING_PROFILES, CUSTOMER_UPSERTS
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.isolation import Sandbox, ServiceProcess
from tests.support.kafka import Publisher, ce_headers, read_topic, wait_for

pytestmark = pytest.mark.integration


async def test_two_replicas_one_killed_mid_stream_every_event_has_one_effect(sandbox: Sandbox, log_dir: Path) -> None:
    topic = sandbox.topic(CUSTOMER_UPSERTS.name)
    first = ServiceProcess(sandbox, "customers", log_dir, consumer_max_records=20).start()
    await first.wait_ready()
    second = ServiceProcess(sandbox, "customers", log_dir, consumer_max_records=20, run_migrations_on_start=False)
    second.start()
    numbers = [f"R-{i:04d}" for i in range(600)]
    try:
        await second.wait_ready()
        # the group has rebalanced: the second replica owns partitions of its own
        await wait_for(lambda: "assigned to partitions: (TopicPartition" in second.log_path.read_text(), timeout=60)
        async with Publisher(sandbox.bootstrap) as pub:
            for i, n in enumerate(numbers):
                await pub.send(topic, upsert(n), key=n, headers=ce_headers(UPSERT_TYPE))
                if i == 200:
                    await wait_for(lambda: sandbox.scalar("SELECT count(*) FROM customers"))
                    assert second.proc is not None
                    second.proc.send_signal(signal.SIGKILL)  # mid-stream, no goodbye
        assert await second.wait_exit() == -signal.SIGKILL
        await wait_for(lambda: sandbox.has("SELECT count(*) FROM customers", len(numbers)), timeout=120)
        profiles = await read_topic(
            sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=len(numbers), settle=2.0
        )
    finally:
        first.stop()
        second.stop()

    # One event per customer. A relay killed after Kafka acknowledged its batch but before
    # it deleted the rows leaves them for the other replica's relay, which sends them
    # again with the same ce_id: a copy on the wire that consumers' inboxes drop.
    events = {dict(r.headers)["ce_id"]: json.loads(r.value)["customer_number"] for r in profiles}
    assert sorted(events.values()) == numbers
    assert await sandbox.scalar("SELECT count(*) FROM customer_changes") == len(numbers)
    assert await sandbox.scalar("SELECT max(version) FROM customers") == 1
