"""One confirmed billing run taken by two invoicing processes (replicas) on one database,
on real Kafka and PostgreSQL: both take parts of it, and still every ready request is
invoiced exactly once, the invoice numbers are exactly FIRST .. FIRST + N - 1 (no gap,
no duplicate), each invoice's event is published once per number, and the run's
summary counts every invoice."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from services.invoicing.app import SPEC
from shared.db.migrations import upgrade
from shared.events import topics
from tests.integration.test_invoicing_flow import finished
from tests.support.isolation import API_TOKEN, Sandbox, ServiceProcess
from tests.support.kafka import read_topic
from tests.support.sales import seed_ready

pytestmark = pytest.mark.integration

FIRST = 1_000_000_001  # the subscription series' first number
CUSTOMERS = 400
CHUNK = 4  # 100 parts: both replicas are polling long before the last is taken


async def test_two_replicas_share_one_run_with_gap_free_numbers_and_each_request_once(
    sandbox: Sandbox, log_dir: Path
) -> None:
    await upgrade(SPEC.migrations_dir, sandbox.db_url)
    env = {"INVOICING_RUN_CHUNK_CUSTOMERS": str(CHUNK)}
    replicas = [
        ServiceProcess(
            sandbox,
            "invoicing",
            log_dir,
            jobs_poll_interval_s=0.05,
            daily_run_enabled=False,
            run_migrations_on_start=False,
        )
        for i in range(2)
    ]
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    try:
        for r in replicas:
            r.start(extra_env=env)
        await asyncio.gather(*(r.wait_ready() for r in replicas))
        await seed_ready(sandbox, CUSTOMERS)
        async with httpx.AsyncClient(base_url=replicas[0].url, headers=headers) as api:
            started = await api.post("/billing-runs", json={"kind": "subscription", "mode": "confirm"})
            assert started.status_code == 202, started.text
            job = await finished(api, started.headers["Location"])
        run = (await sandbox.fetch("SELECT summary FROM billing_runs"))[0]
        # read while the replicas run: their relays publish the last chunks' outbox rows
        # after the job is done (stopped, they would leave them for the next start)
        records = await read_topic(sandbox.bootstrap, sandbox.topic(topics.INVOICES.name), expect=CUSTOMERS)
        finished_runs = await read_topic(sandbox.bootstrap, sandbox.topic(topics.BILLING_RUNS.name), expect=1)
    finally:
        for r in replicas:
            r.stop()

    assert (job["done"], job["result"]) == (CUSTOMERS, {"invoices": CUSTOMERS, "requests": CUSTOMERS})
    parts = await sandbox.fetch("SELECT runner, count(*) AS n FROM job_parts WHERE state = 'done' GROUP BY runner")
    assert sum(p["n"] for p in parts) == CUSTOMERS // CHUNK
    assert len(parts) == 2, parts  # both processes took parts of the one run

    numbers = [r[0] for r in await sandbox.fetch("SELECT number FROM invoices ORDER BY number")]
    assert numbers == list(range(FIRST, FIRST + CUSTOMERS))  # no gap, no duplicate
    assert await sandbox.scalar("SELECT count(*) FROM invoices WHERE status <> 'confirmed'") == 0
    twice = await sandbox.fetch("SELECT request_id FROM invoice_lines GROUP BY 1 HAVING count(*) > 1")
    assert twice == []
    assert await sandbox.scalar("SELECT count(*) FROM billing_requests WHERE status = 'invoiced'") == CUSTOMERS
    assert await sandbox.scalar("SELECT count(DISTINCT invoice_id) FROM billing_requests") == CUSTOMERS
    summary = json.loads(run["summary"])
    assert (summary["invoices"], summary["requests"]) == (CUSTOMERS, CUSTOMERS)
    assert summary["totals"]["gross"] == str(33 * CUSTOMERS) + ".00"  # 33.00 gross each (seed_ready)

    by_event = {dict(r.headers)["ce_id"]: json.loads(r.value)["invoice"]["invoice_number"] for r in records}
    assert sorted(by_event.values()) == [str(n) for n in range(FIRST, FIRST + CUSTOMERS)]
    assert [json.loads(r.value)["invoices"] for r in finished_runs] == [CUSTOMERS]
