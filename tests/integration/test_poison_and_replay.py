"""Narrow poison, stopped partitions, dead-letter replay and inbox pruning, on real
Kafka and PostgreSQL with the customers service.

- A bug in a handler is not the record's fault: nothing is dead-lettered, only the
  record's partition stops (loudly: /readyz, metric), the others flow, and after the
  fix the partition resumes where it stopped.
- A record the handler explicitly rejects is dead-lettered unclaimed; replayed after
  the fix it has its effect once; an old upsert replayed after a newer one changes
  nothing and is recorded as stale.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import httpx
import pytest

from services.customers import handlers
from services.customers.app import build, http_app
from services.customers.config import Settings
from services.customers.tables import CustomersUnitOfWork
from shared.events.customers import CustomerUpserted
from shared.events.envelope import Envelope
from shared.events.topics import CUSTOMER_UPSERTS
from shared.messaging.inbox import prune
from shared.rejections import EventRejected
from shared.runtime import Runtime
from tests.support.credentials import SYSTEM, as_clerk
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.isolation import API_TOKEN, Sandbox
from tests.support.kafka import Publisher, ce_headers, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def service(sandbox: Sandbox) -> AsyncIterator[tuple[Runtime[CustomersUnitOfWork], httpx.AsyncClient]]:
    """The customers service with a short retry budget and short pauses of a stopped
    partition, so the test sees a stop and a resume in seconds."""
    runtime = build(Settings(**sandbox.settings_kwargs(consumer_attempts=2, consumer_stall_max_s=1.0)))
    app = http_app(runtime)
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://customers", headers={"Authorization": f"Bearer {API_TOKEN}"}
        ) as client:
            yield runtime, client
    finally:
        await runtime.stop()


async def stored(sandbox: Sandbox, number: str) -> bool:
    return bool(await sandbox.scalar("SELECT count(*) FROM customers WHERE customer_number = $1", number))


class Fault:
    """Makes the customers upsert handler fail for some customers until ``fixed()``:
    a bug in a bad deploy, or a rule that refuses them until it is corrected."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, hits: Callable[[str], bool], error: Exception) -> None:
        self.active = True
        real = handlers.apply_upserts

        async def handler(events: Sequence[Envelope[CustomerUpserted]], uow: CustomersUnitOfWork) -> Any:
            if self.active and any(hits(e.data.customer_number) for e in events):
                raise error
            return await real(events, uow)

        monkeypatch.setattr(handlers, "apply_upserts", handler)

    def fixed(self) -> None:
        self.active = False


async def test_a_handler_bug_stops_only_its_partition_dead_letters_nothing_and_resumes_after_the_fix(
    sandbox: Sandbox,
    service: tuple[Runtime[CustomersUnitOfWork], httpx.AsyncClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime, api = service
    bug = Fault(monkeypatch, lambda n: n == "C-BUG", AttributeError("'NoneType' object has no attribute 'version'"))
    topic = sandbox.topic(CUSTOMER_UPSERTS.name)
    partition_of: dict[str, int] = {}
    async with Publisher(sandbox.bootstrap) as pub:
        for number in ["C-BUG", *(f"C-{i}" for i in range(12))]:
            partition_of[number] = await pub.send(topic, upsert(number), key=number, headers=ce_headers(UPSERT_TYPE))
    stopped = partition_of["C-BUG"]
    behind = [n for n, p in partition_of.items() if p == stopped and n != "C-BUG"]  # sent after it, same partition
    flowing = [n for n, p in partition_of.items() if p != stopped]
    assert flowing, "the keys should spread over more than one partition"

    stats = runtime.consumer_stats[0]
    await wait_for(lambda: stopped in stats.stalled, timeout=60)
    for number in flowing:
        await wait_for(lambda n=number: stored(sandbox, n), timeout=60)  # type: ignore[misc]
    ready = await api.get("/readyz/all")
    assert ready.status_code == 503
    assert ready.json()["checks"]["consumers"] == "down"
    serving = await api.get("/readyz")  # the read APIs stay in service meanwhile
    assert (serving.status_code, serving.json()["status"]) == (200, "degraded")
    metrics = (await api.get("/metrics")).text
    assert f'billing_consumer_partition_stalled{{partition="{stopped}",service="customers",topic="{topic}"}} 1.0' in (
        metrics
    )
    assert await sandbox.scalar("SELECT count(*) FROM dead_letters") == 0
    assert not await stored(sandbox, "C-BUG")
    for number in behind:
        assert not await stored(sandbox, number), "records behind the stopped one wait in order"

    bug.fixed()  # the fix is deployed
    await wait_for(lambda: stored(sandbox, "C-BUG"), timeout=60)
    for number in behind:
        await wait_for(lambda n=number: stored(sandbox, n), timeout=60)  # type: ignore[misc]
    await wait_for(lambda: not stats.stalled, timeout=30)
    assert (await api.get("/readyz/all")).status_code == 200
    assert await sandbox.scalar("SELECT count(*) FROM customers") == 13
    assert await sandbox.scalar("SELECT count(*) FROM dead_letters") == 0
    assert await sandbox.scalar("SELECT count(*) FROM customer_changes WHERE customer_number = 'C-BUG'") == 1


async def test_a_rejected_upsert_replayed_after_the_fix_has_its_effect_once(
    sandbox: Sandbox,
    service: tuple[Runtime[CustomersUnitOfWork], httpx.AsyncClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime, api = service
    rule = Fault(
        monkeypatch, lambda n: n.startswith("C-R"), EventRejected("test-rule", "refused by a rule that is fixed later")
    )
    topic = sandbox.topic(CUSTOMER_UPSERTS.name)
    async with Publisher(sandbox.bootstrap) as pub:
        await pub.send(topic, upsert("C-R1", name="Ensimmäinen Oy"), key="C-R1", headers=ce_headers(UPSERT_TYPE))
        await pub.send(topic, upsert("C-OK"), key="C-R1", headers=ce_headers(UPSERT_TYPE))  # behind it, same key

    await wait_for(lambda: stored(sandbox, "C-OK"), timeout=60)  # its neighbour was handled
    listed = (await api.get("/dead-letters", params={"error_code": "test-rule"})).json()
    assert listed["total"] == 1
    (dead,) = listed["items"]
    assert (dead["reason"], dead["replays"]) == ("refused by a rule that is fixed later", 0)
    shown = (await api.get(f"/dead-letters/{dead['id']}")).json()
    # ops can see what to fix (through the token-protected API, never in logs)
    assert json.loads(shown["value"])["customer"]["name"] == "Ensimmäinen Oy"
    assert not await stored(sandbox, "C-R1")
    assert await sandbox.scalar("SELECT count(*) FROM inbox") == 1  # only C-OK: the rejected one is unclaimed

    rule.fixed()  # the cause is fixed
    answer = await api.post("/dead-letters/replay", json={"ids": [dead["id"]]}, headers=as_clerk("ops-anna"))
    assert answer.status_code == 200
    assert (answer.json()["replayed"], answer.json()["skipped"]) == (1, 0)
    await wait_for(lambda: stored(sandbox, "C-R1"), timeout=60)
    again = (await api.post("/dead-letters/replay", json={"ids": [dead["id"]]})).json()
    assert (again["replayed"], again["skipped"]) == (0, 1)  # replayed before: not again unless asked
    forced = (await api.post("/dead-letters/replay", json={"ids": [dead["id"]], "include_replayed": True})).json()
    assert forced["replayed"] == 1
    await wait_for(lambda: runtime.consumer_stats[0].duplicates >= 1, timeout=60)  # the same ce_id: skipped
    assert await sandbox.scalar("SELECT version FROM customers WHERE customer_number = 'C-R1'") == 1
    assert await sandbox.scalar("SELECT count(*) FROM customer_changes WHERE customer_number = 'C-R1'") == 1
    row = (await api.get(f"/dead-letters/{dead['id']}")).json()
    assert (row["replays"], row["replayed_by"]) == (2, SYSTEM)  # the last replay: the system credential itself


async def test_an_old_upsert_replayed_after_a_newer_one_changes_nothing_and_says_so(
    sandbox: Sandbox,
    service: tuple[Runtime[CustomersUnitOfWork], httpx.AsyncClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, api = service
    rule = Fault(monkeypatch, lambda n: n == "C-OLD", EventRejected("test-rule", "refused until fixed"))
    topic = sandbox.topic(CUSTOMER_UPSERTS.name)
    async with Publisher(sandbox.bootstrap) as pub:
        await pub.send(
            topic,
            upsert("C-OLD", name="Vanha Nimi Oy"),
            key="C-OLD",
            headers=ce_headers(UPSERT_TYPE, time="2026-11-20T09:00:00+02:00"),
        )
        await wait_for(lambda: sandbox.scalar("SELECT count(*) FROM dead_letters"), timeout=60)
        rule.fixed()
        await pub.send(
            topic,
            upsert("C-OLD", name="Uusi Nimi Oy"),
            key="C-OLD",
            headers=ce_headers(UPSERT_TYPE, time="2026-11-21T09:00:00+02:00"),
        )
    await wait_for(lambda: stored(sandbox, "C-OLD"), timeout=60)

    (dead,) = (await api.get("/dead-letters")).json()["items"]
    assert (await api.post("/dead-letters/replay", json={"ids": [dead["id"]]})).json()["replayed"] == 1
    await wait_for(
        lambda: sandbox.scalar(
            "SELECT count(*) FROM customer_changes WHERE customer_number = 'C-OLD' AND changes->>'ignored' = 'stale'"
        ),
        timeout=60,
    )
    card = (await api.get("/customers/C-OLD")).json()
    assert (card["version"], card["data"]["name"]) == (1, "Uusi Nimi Oy")


async def test_inbox_rows_older_than_the_retention_are_pruned_and_newer_ones_kept(
    sandbox: Sandbox, service: tuple[Runtime[CustomersUnitOfWork], httpx.AsyncClient]
) -> None:
    runtime, _ = service
    await sandbox.fetch(
        "INSERT INTO inbox (consumer, source, event_id, handled_at) "
        "SELECT 'customers:t', 'crm', 'old-' || i, now() - interval '40 days' FROM generate_series(1, 25000) i "
        "UNION ALL SELECT 'customers:t', 'crm', 'new-' || i, now() - interval '1 day' FROM generate_series(1, 10) i"
    )
    pruned = await prune(runtime.engine, older_than_s=30 * 86400, chunk=10_000)
    assert pruned == 25000
    assert await sandbox.scalar("SELECT count(*) FROM inbox WHERE event_id LIKE 'new-%'") == 10
    assert await sandbox.scalar("SELECT count(*) FROM inbox WHERE event_id LIKE 'old-%'") == 0


async def test_a_database_outage_longer_than_the_retry_budget_stops_partitions_and_every_batch_comes_back(
    sandbox: Sandbox, service: tuple[Runtime[CustomersUnitOfWork], httpx.AsyncClient]
) -> None:
    """Not the records' fault either: every partition of the batch stops (rewound,
    paused), nothing is dead-lettered or skipped, and all of it is handled once
    PostgreSQL is back."""
    runtime, _ = service
    servers = sandbox.servers
    if servers.stop_postgres is None or servers.start_postgres is None:
        pytest.skip("PostgreSQL given by the environment cannot be stopped by the tests")
    stats = runtime.consumer_stats[0]
    stopped: set[int] = set()
    feed = stats.on_stall

    def record(topic: str, partition: int, is_stopped: bool) -> None:
        if is_stopped:
            stopped.add(partition)
        if feed is not None:
            feed(topic, partition, is_stopped)

    stats.on_stall = record
    topic = sandbox.topic(CUSTOMER_UPSERTS.name)
    numbers = [f"C-9{i:02d}" for i in range(30)]
    partitions: set[int] = set()
    await asyncio.to_thread(servers.stop_postgres)
    try:
        async with Publisher(sandbox.bootstrap) as pub:
            for n in numbers:
                partitions.add(await pub.send(topic, upsert(n), key=n, headers=ce_headers(UPSERT_TYPE)))
        assert len(partitions) >= 2
        await wait_for(lambda: stopped == partitions, timeout=60)  # beyond the budget: each partition stopped
    finally:
        await asyncio.to_thread(servers.start_postgres)

    await wait_for(lambda: sandbox.has("SELECT count(*) FROM customers", len(numbers)), timeout=120)
    await wait_for(lambda: not stats.stalled, timeout=60)
    assert await sandbox.scalar("SELECT count(*) FROM customer_changes") == len(numbers)  # each once
    assert await sandbox.scalar("SELECT count(*) FROM dead_letters") == 0
    assert stats.stalls >= len(partitions)
