"""Metrics through prometheus-client: escaping, histograms, scrape-time counters, one
registry per service (several runtimes live in one test process)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from shared.messaging.consumer import ConsumerStats
from shared.messaging.outbox import OutboxRelay
from shared.messaging.tables import messaging_tables
from shared.metrics import ServiceMetrics, consumer_lag


def samples(metrics: ServiceMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the exposition, parsed back as Prometheus would."""
    out = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(metrics: ServiceMetrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, frozenset({"service": metrics.service, **labels}.items())))


def test_label_values_with_quote_backslash_and_newline_are_escaped() -> None:
    metrics = ServiceMetrics("customers")
    topic = 'odd"topic\\name\nsecond line'
    metrics.dead_lettered(topic)
    text = metrics.exposition().decode()
    assert 'topic="odd\\"topic\\\\name\\nsecond line"' in text
    assert value(metrics, "billing_dead_letters_total", topic=topic) == 1  # parses back to the same value


def test_a_batch_and_a_relay_round_show_as_histograms() -> None:
    metrics = ServiceMetrics("customers")
    assert value(metrics, "billing_consumer_batch_seconds_count", topic="t.upserts") is None
    metrics.observe_batch("t.upserts", 0.02)
    metrics.observe_batch("t.upserts", 3.0)
    metrics.observe_relay(0.04, rows=250)
    assert value(metrics, "billing_consumer_batch_seconds_count", topic="t.upserts") == 2
    assert value(metrics, "billing_consumer_batch_seconds_sum", topic="t.upserts") == 3.02
    assert value(metrics, "billing_consumer_batch_seconds_bucket", topic="t.upserts", le="0.025") == 1
    assert value(metrics, "billing_consumer_batch_seconds_bucket", topic="t.upserts", le="+Inf") == 2
    assert value(metrics, "billing_outbox_relay_batch_seconds_count") == 1
    assert value(metrics, "billing_outbox_relay_batch_rows_bucket", le="250.0") == 1
    assert value(metrics, "billing_outbox_relay_batch_rows_bucket", le="100.0") == 0


def test_stalled_partitions_are_a_gauge_per_topic_and_partition() -> None:
    metrics = ServiceMetrics("customers")
    metrics.set_stalled("t.upserts", 3, True)
    metrics.set_stalled("t.upserts", 4, True)
    metrics.set_stalled("t.upserts", 4, False)
    assert value(metrics, "billing_consumer_partition_stalled", topic="t.upserts", partition="3") == 1
    assert value(metrics, "billing_consumer_partition_stalled", topic="t.upserts", partition="4") == 0


def test_counters_the_consumer_loop_and_relay_keep_are_read_when_scraped() -> None:
    metrics = ServiceMetrics("customers")
    stats = ConsumerStats(topic="t.upserts")
    relay = SimpleNamespace(published=0, failures=0, healthy=True, leader=True)
    metrics.watch(relay=lambda: relay, consumer_stats=lambda: [stats])
    stats.records, stats.handled, stats.duplicates, stats.dead_lettered, stats.retries = 10, 7, 2, 1, 3
    relay.published, relay.failures = 42, 1
    assert value(metrics, "billing_consumer_records_total", topic="t.upserts") == 10
    assert value(metrics, "billing_consumer_handled_total", topic="t.upserts") == 7
    assert value(metrics, "billing_consumer_duplicates_total", topic="t.upserts") == 2
    assert value(metrics, "billing_consumer_dead_lettered_total", topic="t.upserts") == 1
    assert value(metrics, "billing_consumer_retries_total", topic="t.upserts") == 3
    assert value(metrics, "billing_outbox_published_total") == 42
    assert value(metrics, "billing_outbox_relay_failures_total") == 1


async def test_the_relay_health_gauge_is_0_while_the_relay_fails_and_retries() -> None:
    """A real relay whose database (hence its leadership, its producer) is unreachable:
    it keeps retrying, and the scrape says so."""
    engine = create_async_engine("postgresql+asyncpg://nobody:secret@127.0.0.1:9/none", connect_args={"timeout": 2})
    relay = OutboxRelay(engine, messaging_tables(MetaData()), lambda: None, lock_name="customers")  # type: ignore[arg-type,return-value]
    metrics = ServiceMetrics("customers")
    metrics.watch(relay=lambda: relay)
    assert value(metrics, "billing_outbox_relay_healthy") == 1  # not started: nothing failed yet
    task = asyncio.create_task(relay.run())
    try:
        async with asyncio.timeout(20):
            while relay.failures < 2:  # failed, backed off, tried again
                await asyncio.sleep(0.05)
        assert value(metrics, "billing_outbox_relay_healthy") == 0
        assert value(metrics, "billing_outbox_relay_leader") == 0
        assert value(metrics, "billing_outbox_relay_failures_total") == relay.failures
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await engine.dispose()


def test_each_service_has_its_own_registry() -> None:
    a, b = ServiceMetrics("customers"), ServiceMetrics("customers")  # same names: no clash
    a.dead_lettered("t.upserts", 2)
    assert value(a, "billing_dead_letters_total", topic="t.upserts") == 2
    assert value(b, "billing_dead_letters_total", topic="t.upserts") is None


@dataclass
class _State:
    highwater: int | None
    position: int | None

    @property
    def has_valid_position(self) -> bool:
        return self.position is not None


class _Consumer:
    """The parts of aiokafka's consumer state the lag reads (same attribute names)."""

    def __init__(self, states: dict[TopicPartition, _State]) -> None:
        self._states = states
        assignment = SimpleNamespace(state_value=states.get)
        self._subscription = SimpleNamespace(subscription=SimpleNamespace(assignment=assignment))

    def assignment(self) -> set[TopicPartition]:
        return set(self._states)


def test_lag_is_highwater_minus_position_for_partitions_whose_both_are_known() -> None:
    consumer = _Consumer(
        {
            TopicPartition("t", 0): _State(highwater=10, position=4),
            TopicPartition("t", 1): _State(highwater=None, position=0),  # not fetched yet
            TopicPartition("t", 2): _State(highwater=5, position=None),  # position not known yet
            TopicPartition("t", 3): _State(highwater=7, position=7),
        }
    )
    subscribers: list[Any] = [SimpleNamespace(group_id="g", consumer=consumer), SimpleNamespace(consumer=None)]
    assert list(consumer_lag(subscribers)) == [("g", "t", 0, 6), ("g", "t", 3, 0)]
