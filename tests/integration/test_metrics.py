"""Metrics against the real servers: consumer lag per partition from a real consumer,
and a scrape that counts no table."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from services.customers.tables import CustomersUnitOfWork
from shared.events.topics import CUSTOMER_UPSERTS
from shared.metrics import ServiceMetrics
from shared.runtime import Runtime
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, ce_headers, wait_for

pytestmark = pytest.mark.integration


def lag_by_partition(metrics: ServiceMetrics, topic: str) -> dict[int, float]:
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        if family.name == "billing_consumer_lag":
            return {int(s.labels["partition"]): s.value for s in family.samples if s.labels["topic"] == topic}
    return {}


async def test_consumer_lag_per_partition_follows_a_real_consumer(sandbox: Sandbox) -> None:
    topic = sandbox.topic("lagged")
    admin = AIOKafkaAdminClient(bootstrap_servers=sandbox.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=sandbox.bootstrap, acks="all")
    await producer.start()
    try:
        for partition, count in ((0, 5), (1, 3)):
            for i in range(count):
                await producer.send_and_wait(topic, f"r{i}".encode(), partition=partition)
    finally:
        await producer.stop()

    broker = KafkaBroker(sandbox.bootstrap)
    release = asyncio.Event()
    taken: list[Any] = []

    @broker.subscriber(topic, group_id=sandbox.group("lagged"), auto_offset_reset="earliest", batch=True, max_records=1)
    async def slow(body: list[bytes]) -> None:
        taken.extend(body)
        await release.wait()  # the first record stays in the handler: 7 of 8 wait behind it

    metrics = ServiceMetrics("test")
    metrics.watch(subscribers=lambda: broker.subscribers)
    assert lag_by_partition(metrics, topic) == {}  # not started: no consumer, no lag
    await broker.start()
    try:
        lag = await wait_for(lambda: (lag := lag_by_partition(metrics, topic)).keys() == {0, 1} and lag)
        assert len(taken) == 1
        assert sum(lag.values()) == 7
        assert sorted(lag.values()) in ([2.0, 5.0], [3.0, 4.0])  # one record taken from p1 or from p0
        release.set()
        await wait_for(lambda: lag_by_partition(metrics, topic) == {0: 0.0, 1: 0.0})
        assert len(taken) == 8
    finally:
        release.set()
        await broker.stop()
    assert lag_by_partition(metrics, topic) == {}  # stopped: nothing assigned


async def test_a_scrape_counts_no_table_after_the_first(
    customers: Runtime[CustomersUnitOfWork], customers_api: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    async with Publisher(sandbox.bootstrap) as pub:  # one dead letter stored before the first scrape
        await pub.send(sandbox.topic(CUSTOMER_UPSERTS.name), b"not json", key="C-1", headers=ce_headers(UPSERT_TYPE))
        await pub.send(sandbox.topic(CUSTOMER_UPSERTS.name), upsert("C-2"), key="C-2", headers=ce_headers(UPSERT_TYPE))
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM dead_letters", 1))
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM outbox", 0))

    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.lower())

    event.listen(customers.engine.sync_engine, "before_cursor_execute", record)
    try:
        first = await customers_api.get("/metrics")
        counted_once = [s for s in statements if "count(" in s]
        statements.clear()
        second = await customers_api.get("/metrics")
        third = await customers_api.get("/metrics")
    finally:
        event.remove(customers.engine.sync_engine, "before_cursor_execute", record)

    assert len(counted_once) == 1 and "dead_letters" in counted_once[0]  # stored dead letters, once
    assert statements, "the scrape reads the outbox's ends"
    assert not [s for s in statements if "count(" in s], statements
    assert second.headers["content-type"].startswith("text/plain; version=0.0.4")
    for response in (first, third):
        text = response.text
        assert 'billing_outbox_pending{service="customers"} 0.0' in text
        assert 'billing_outbox_oldest_age_seconds{service="customers"} 0.0' in text
        assert 'billing_outbox_published_total{service="customers"} 2.0' in text  # profile + dead letter
        topic = sandbox.topic(CUSTOMER_UPSERTS.name)
        assert f'billing_dead_letters_stored{{service="customers",topic="{topic}"}} 1.0' in text
        assert f'billing_consumer_dead_lettered_total{{service="customers",topic="{topic}"}} 1.0' in text
        group = sandbox.group("customers")
        assert f'billing_consumer_lag{{group="{group}",partition="0",service="customers",topic="{topic}"}}' in text


async def test_the_outbox_gauges_show_rows_waiting_and_the_oldest_ones_age(
    customers: Runtime[CustomersUnitOfWork], sandbox: Sandbox
) -> None:
    relay = customers._relay_task
    assert relay is not None
    relay.cancel()  # the relay stops (and resigns): the rows stay
    with contextlib.suppress(asyncio.CancelledError):
        await relay
    await sandbox.fetch(
        "INSERT INTO outbox (topic, key, value, headers, created_at) "
        "SELECT $1, 'k', 'v', '[]', now() - make_interval(secs => 90 - g) FROM generate_series(1, 3) g",
        sandbox.topic("nowhere"),
    )
    text = (await customers.metrics_text()).decode()
    assert 'billing_outbox_pending{service="customers"} 3.0' in text
    (age,) = [line for line in text.splitlines() if line.startswith("billing_outbox_oldest_age_seconds{")]
    assert 89 <= float(age.split()[-1]) < 120


async def test_a_consumed_batch_shows_in_the_handler_latency_histogram(
    customers: Runtime[CustomersUnitOfWork], sandbox: Sandbox
) -> None:
    topic = sandbox.topic(CUSTOMER_UPSERTS.name)
    async with Publisher(sandbox.bootstrap) as pub:
        await pub.send(topic, upsert("C-3"), key="C-3", headers=ce_headers(UPSERT_TYPE))
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM customers", 1))
    text = (await customers.metrics_text()).decode()
    assert f'billing_consumer_batch_seconds_count{{service="customers",topic="{topic}"}} 1.0' in text
