"""A service's Prometheus metrics (``GET /metrics``), through prometheus-client.

One :class:`ServiceMetrics` per runtime, each with its own ``CollectorRegistry`` (never
the process-wide default), so tests can run several services in one process. Every
series carries ``service``; prometheus-client escapes label values (a topic name with
a quote, backslash or newline stays one valid line).

What a scrape costs: no ``count(*)``, and no request to Kafka.

- Counters the hot paths already keep (``ConsumerStats``, the relay's ``published`` and
  ``failures``) are read when scraped, by :class:`_ScrapeCollector`; so is the relay's
  state: ``billing_outbox_relay_healthy`` (0 while Kafka does not take its rows, e.g. a
  cluster below ``min.insync.replicas``) and ``billing_outbox_relay_leader``.
- Latencies are histograms the consumer loop and the relay feed:
  :meth:`ServiceMetrics.observe_batch`, :meth:`ServiceMetrics.observe_relay`.
- Consumer lag per partition is ``highwater - position`` from each FastStream
  subscriber's aiokafka consumer, both cached from its last fetch (no network call).
- The outbox backlog comes from the two ends of the outbox's primary key (two
  ``ORDER BY id LIMIT 1`` index lookups in one statement), see :meth:`ServiceMetrics.refresh`.
- Dead letters: a counter the consumer loop increments (:meth:`ServiceMetrics.dead_lettered`)
  plus the rows already stored, counted once (first scrape after start).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Select, Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""What :meth:`ServiceMetrics.exposition` returns (Prometheus text format 0.0.4)."""

# One consumer transaction: a few ms for a handful of records, seconds for 1,000 under load.
BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
RELAY_ROW_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000)
CONSUMER_COUNTERS = ("records", "handled", "duplicates", "dead_lettered", "retries")


class RelayCounters(Protocol):
    """What the scrape reads from the outbox relay."""

    published: int
    failures: int
    healthy: bool
    leader: bool


class ConsumerCounters(Protocol):
    """What the scrape reads from a subscription's counters (``ConsumerStats``)."""

    topic: str
    records: int
    handled: int
    duplicates: int
    dead_lettered: int
    retries: int


class ServiceMetrics:
    """The metrics of one service, and the calls its moving parts make to feed them."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        r = self.registry
        self._batch_seconds = Histogram(
            "billing_consumer_batch_seconds",
            "Time one consumer batch took, from its records to its commit (retries included).",
            ["service", "topic"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self._relay_seconds = Histogram(
            "billing_outbox_relay_batch_seconds",
            "Time one outbox relay batch took: read, publish (acks=all), delete, commit.",
            ["service"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self._relay_rows = Histogram(
            "billing_outbox_relay_batch_rows",
            "Rows one outbox relay batch published.",
            ["service"],
            buckets=RELAY_ROW_BUCKETS,
            registry=r,
        )
        self._stalled = Gauge(
            "billing_consumer_partition_stalled",
            "1 while the consumer loop cannot get a partition's batch through (retrying).",
            ["service", "topic", "partition"],
            registry=r,
        )
        self._dead_letters = Counter(
            "billing_dead_letters",
            "Dead letters stored since the process started.",
            ["service", "topic"],
            registry=r,
        )
        self._outbox_pending = Gauge(
            "billing_outbox_pending",
            "Outbox rows waiting for the relay (upper bound: the id range from oldest to newest row).",
            ["service"],
            registry=r,
        )
        self._outbox_age = Gauge(
            "billing_outbox_oldest_age_seconds",
            "Age of the oldest outbox row waiting for the relay (0 when none waits).",
            ["service"],
            registry=r,
        )
        self._jobs_finished = Counter(
            "billing_jobs_finished",
            "Jobs this process executed that ended, by kind and state (done, failed).",
            ["service", "kind", "state"],
            registry=r,
        )
        self._outbox_pending.labels(service).set(float("nan"))
        self._outbox_age.labels(service).set(float("nan"))
        self._relay_seconds.labels(service)
        self._relay_rows.labels(service)
        self._dead_stored_at_start: dict[str, int] | None = None
        self._dead_since_start: dict[str, int] = {}
        self._scrape = _ScrapeCollector(self)
        r.register(self._scrape)

    # --- calls the consumer loop and the relay make --------------------------

    def observe_batch(self, topic: str, seconds: float) -> None:
        """A consumer batch of ``topic`` committed after ``seconds`` (the whole
        :func:`process_batch`, retries and isolation included)."""
        self._batch_seconds.labels(self.service, topic).observe(seconds)

    def observe_relay(self, seconds: float, rows: int) -> None:
        """The relay published ``rows`` in one batch that took ``seconds`` (a batch
        that found nothing to publish is not observed)."""
        self._relay_seconds.labels(self.service).observe(seconds)
        self._relay_rows.labels(self.service).observe(rows)

    def set_stalled(self, topic: str, partition: int, stalled: bool) -> None:
        """Mark a partition stalled (its batch keeps failing) or flowing again."""
        self._stalled.labels(self.service, topic, str(partition)).set(1 if stalled else 0)

    def declare_jobs(self, kinds: Iterable[str]) -> None:
        """Series at 0 for every job kind and end state, so a first failure is an
        increase (``increase()`` does not see a series born at 1)."""
        for kind in kinds:
            for state in ("done", "failed"):
                self._jobs_finished.labels(self.service, kind, state)

    def job_finished(self, kind: str, state: str) -> None:
        """A job of ``kind`` this process executed ended in ``state`` (done, failed)."""
        self._jobs_finished.labels(self.service, kind, state).inc()

    def dead_lettered(self, topic: str, count: int = 1) -> None:
        """``count`` dead letters of ``topic`` were stored (call after the commit)."""
        if count:
            self._dead_letters.labels(self.service, topic).inc(count)
            self._dead_since_start[topic] = self._dead_since_start.get(topic, 0) + count

    # --- what the scrape reads -------------------------------------------------

    def watch(
        self,
        *,
        relay: Callable[[], RelayCounters | None] = lambda: None,
        consumer_stats: Callable[[], Sequence[ConsumerCounters]] = tuple,
        subscribers: Callable[[], Iterable[Any]] = tuple,
    ) -> None:
        """Where the scrape reads counters and consumer positions. Getters, called at
        each scrape, so what they return may be created after the metrics (the relay
        that is given these metrics, FastStream subscribers: ``lambda: broker.subscribers``)."""
        self._scrape.relay = relay
        self._scrape.consumer_stats = consumer_stats
        self._scrape.subscribers = subscribers

    async def refresh(self, engine: AsyncEngine, outbox: Table, dead_letters: Table) -> None:
        """Read what only the database knows: the outbox's two ends (index lookups) and,
        the first time only, the dead letters already stored. A database that does not
        answer leaves the outbox gauges at NaN; the rest of the scrape still works."""
        try:
            async with engine.connect() as conn:
                if self._dead_stored_at_start is None:
                    before = dict(self._dead_since_start)
                    rows = await conn.execute(select(dead_letters.c.topic, func.count()).group_by(dead_letters.c.topic))
                    # rows counted here and also counted by dead_lettered() before the query
                    self._dead_stored_at_start = {topic: n - before.get(topic, 0) for topic, n in rows.all()}
                head = (await conn.execute(_outbox_ends(outbox))).one()
        except Exception as exc:  # the database is away: /readyz says so
            log.warning("metrics: database not readable (%s)", type(exc).__name__)
            self._outbox_pending.labels(self.service).set(float("nan"))
            self._outbox_age.labels(self.service).set(float("nan"))
            return
        first_id, last_id, age = head
        pending = 0 if first_id is None else last_id - first_id + 1
        self._outbox_pending.labels(self.service).set(pending)
        self._outbox_age.labels(self.service).set(float(age or 0.0))

    def dead_letters_stored(self) -> dict[str, int]:
        """Dead letters in the table per topic: counted at the first refresh, plus
        those stored since (empty before the first refresh)."""
        if self._dead_stored_at_start is None:
            return {}
        topics = self._dead_stored_at_start.keys() | self._dead_since_start.keys()
        return {t: self._dead_stored_at_start.get(t, 0) + self._dead_since_start.get(t, 0) for t in sorted(topics)}

    def exposition(self) -> bytes:
        """The Prometheus text of every metric (content type :data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)


def _outbox_ends(outbox: Table) -> Select[tuple[Any, Any, Any]]:
    """Both ends of the outbox's primary key and the oldest row's age: three index
    lookups (``ORDER BY id LIMIT 1``), however long the table."""
    oldest = select(outbox.c.id).order_by(outbox.c.id).limit(1).scalar_subquery()
    newest = select(outbox.c.id).order_by(outbox.c.id.desc()).limit(1).scalar_subquery()
    age = (
        select(func.extract("epoch", func.now() - outbox.c.created_at)).order_by(outbox.c.id).limit(1).scalar_subquery()
    )
    return select(oldest, newest, age)


class _ScrapeCollector(Collector):
    """Families computed at scrape time from counters other parts keep."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self._metrics = metrics
        self.relay: Callable[[], RelayCounters | None] = lambda: None
        self.consumer_stats: Callable[[], Sequence[ConsumerCounters]] = tuple
        self.subscribers: Callable[[], Iterable[Any]] = tuple

    def collect(self) -> Iterable[Metric]:
        service = self._metrics.service
        published = CounterMetricFamily(
            "billing_outbox_published", "Outbox rows the relay published (acknowledged by Kafka).", labels=["service"]
        )
        failures = CounterMetricFamily(
            "billing_outbox_relay_failures", "Relay batches that failed and were retried.", labels=["service"]
        )
        healthy = GaugeMetricFamily(
            "billing_outbox_relay_healthy",
            "1 while the outbox relay's last round worked (or it follows another replica's relay);"
            " 0 while it fails and retries (Kafka not taking the rows: they stay in the outbox).",
            labels=["service"],
        )
        leader = GaugeMetricFamily(
            "billing_outbox_relay_leader",
            "1 when this replica's relay is the service's publishing leader.",
            labels=["service"],
        )
        relay = self.relay()
        if relay is not None:
            published.add_metric([service], relay.published)
            failures.add_metric([service], relay.failures)
            healthy.add_metric([service], 1 if relay.healthy else 0)
            leader.add_metric([service], 1 if relay.leader else 0)
        yield published
        yield failures
        yield healthy
        yield leader

        stats = list(self.consumer_stats())
        for name in CONSUMER_COUNTERS:
            family = CounterMetricFamily(
                f"billing_consumer_{name}", f"Consumer {name.replace('_', ' ')} per topic.", labels=["service", "topic"]
            )
            for s in stats:
                family.add_metric([service, s.topic], getattr(s, name))
            yield family

        stored = GaugeMetricFamily(
            "billing_dead_letters_stored",
            "Dead letters in the service's table per topic (counted once at start, then kept up to date).",
            labels=["service", "topic"],
        )
        for topic, n in self._metrics.dead_letters_stored().items():
            stored.add_metric([service, topic], n)
        yield stored

        lag = GaugeMetricFamily(
            "billing_consumer_lag",
            "Records in a partition the consumer has not taken yet (highwater - position, from its last fetch).",
            labels=["service", "group", "topic", "partition"],
        )
        for group, topic, partition, behind in consumer_lag(self.subscribers()):
            lag.add_metric([service, group, topic, str(partition)], behind)
        yield lag


def consumer_lag(subscribers: Iterable[Any]) -> Iterator[tuple[str, str, int, int]]:
    """(group, topic, partition, lag) for every partition assigned to the subscribers'
    aiokafka consumers whose highwater and position are both known. Reads only the
    consumer's cached fetch state: no request to Kafka, nothing awaited."""
    for sub in subscribers:
        group = str(getattr(sub, "group_id", None) or "")
        consumers = getattr(sub, "consumer_subgroup", None) or [getattr(sub, "consumer", None)]
        for consumer in consumers:
            if consumer is None:  # not started (or stopped)
                continue
            for tp, highwater, position in _offsets(consumer):
                yield group, tp.topic, tp.partition, max(highwater - position, 0)


def _offsets(consumer: Any) -> Iterator[tuple[Any, int, int]]:
    # aiokafka's public position() is a coroutine that waits (and may ask the broker)
    # while the position is unknown; the same state is read here without waiting.
    subscription = getattr(consumer._subscription, "subscription", None)
    assignment = getattr(subscription, "assignment", None)
    if assignment is None:
        return
    for tp in sorted(consumer.assignment()):
        state = assignment.state_value(tp)
        if state is None or state.highwater is None or not state.has_valid_position:
            continue
        yield tp, int(state.highwater), int(state.position)
