"""Billing runs under concurrency and crashes, on real Kafka and PostgreSQL:
- the automated daily run with two replicas runs once per date; a second trigger is a
  no-op; a kind with nothing to invoice creates nothing and says so;
- confirmations racing (and one failing after taking its numbers) leave the series
  gap-free: exactly 1 .. N, each once;
- a real service process SIGKILLed in the middle of a confirmed run, restarted,
  finishes it with every invoice once, no gap in the numbers, every event published.
"""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.invoicing.app import SPEC, build
from services.invoicing.config import Settings
from services.invoicing.handlers import drafts
from shared.db.migrations import upgrade
from shared.events import topics
from shared.runtime import Runtime
from tests.integration.test_invoicing_flow import finished, run
from tests.support.isolation import API_TOKEN, Sandbox, ServiceProcess
from tests.support.kafka import read_topic, wait_for
from tests.support.sales import seed_ready

pytestmark = pytest.mark.integration

FIRST = 1_000_000_001  # the subscription series' first number


async def test_daily_run_with_two_replicas_runs_once_and_again_is_a_no_op(sandbox: Sandbox) -> None:
    await upgrade(SPEC.migrations_dir, sandbox.db_url)
    today = datetime.now(ZoneInfo("Europe/Helsinki")).date()
    await seed_ready(sandbox, 30, invoice_date=today)
    runtimes: list[Runtime[Any]] = []
    for _ in range(2):
        settings = Settings(
            **sandbox.settings_kwargs(
                run_migrations_on_start=False,
                jobs_poll_interval_s=0.1,
                jobs_schedule={"invoicing.daily-run": "00:00"},  # due today, at once
                run_chunk_customers=7,
            )
        )
        runtimes.append(build(settings))
    try:
        await asyncio.gather(*(r.start() for r in runtimes))
        await wait_for(lambda: sandbox.has("SELECT count(*) FROM jobs WHERE state = 'done'", 1), timeout=60)
        for r in runtimes:
            await wait_for(lambda r=r: r.jobs._started_dates.get("invoicing.daily-run") == today)
        jobs = await sandbox.fetch("SELECT key, state, done, result FROM jobs")
        assert [(j["key"], j["state"], j["done"]) for j in jobs] == [(f"invoicing.daily-run:{today}", "done", 30)]
        assert json.loads(jobs[0]["result"]) == {
            "subscription_invoices": 30,
            "subscription_requests": 30,
            "notice_nothing_to_invoice": 1,
        }
        numbers = [r[0] for r in await sandbox.fetch("SELECT number FROM invoices ORDER BY number")]
        assert numbers == list(range(FIRST, FIRST + 30))
        runs = {
            r["kind"]: json.loads(r["summary"]) for r in await sandbox.fetch("SELECT kind, summary FROM billing_runs")
        }
        assert runs["subscription"]["invoices"] == 30
        assert runs["subscription"]["invoice_date"] == today.isoformat()
        assert "notice" not in runs  # nothing to invoice: no empty run recorded

        schedule = runtimes[1].jobs.schedules[0]
        again, created = await runtimes[1].jobs.trigger_daily(schedule, today)
        assert not created and again.state.value == "done"
        assert await runtimes[0].jobs.claim_available() == 0
        assert await sandbox.scalar("SELECT count(*) FROM invoices") == 30
        published = await read_topic(sandbox.bootstrap, sandbox.topic(topics.INVOICES.name), expect=30)
        assert len(published) == 30
        finished_runs = await read_topic(sandbox.bootstrap, sandbox.topic(topics.BILLING_RUNS.name), expect=1)
        assert len(finished_runs) == 1  # the empty notice run published nothing
    finally:
        for r in runtimes:
            await r.stop()


async def test_racing_confirmations_and_a_failed_one_leave_no_gap(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_ready(sandbox, 40)
    await run(invoicing_api, kind="subscription", mode="draft")
    ids = [r[0] for r in await sandbox.fetch("SELECT id FROM invoices ORDER BY id")]
    assert len(ids) == 40

    real_emit = drafts.emit
    failed = {"n": 0}

    def emit_failing_once(uow: Any, doc: Any, trace: Any = None) -> None:
        if doc.invoice_number == str(FIRST + 2) and failed["n"] == 0:
            failed["n"] += 1
            raise RuntimeError("the test breaks this confirmation after it took its numbers")
        real_emit(uow, doc, trace)

    monkeypatch.setattr(drafts, "emit", emit_failing_once)
    # 8 clerks confirm 5 drafts each at the same moment, each in its own request
    groups = [ids[i : i + 5] for i in range(0, 40, 5)]
    answers = await asyncio.gather(
        *(invoicing_api.post("/invoices/confirm", json={"ids": g}) for g in groups), return_exceptions=True
    )
    failures = [a for a in answers if isinstance(a, Exception) or a.status_code != 200]
    assert len(failures) == 1 and failed["n"] == 1
    confirmed = await sandbox.scalar("SELECT count(*) FROM invoices WHERE status = 'confirmed'")
    assert confirmed == 35
    # the failed group rolled back, numbers included; confirm it again
    left = [r[0] for r in await sandbox.fetch("SELECT id FROM invoices WHERE status = 'draft' ORDER BY id")]
    retry = await invoicing_api.post("/invoices/confirm", json={"ids": left})
    assert retry.status_code == 200 and retry.json()["confirmed"] == 5
    numbers = [r[0] for r in await sandbox.fetch("SELECT number FROM invoices ORDER BY number")]
    assert numbers == list(range(FIRST, FIRST + 40))  # 1 .. 40, each once: no gap, no reuse
    references = {r[0] for r in await sandbox.fetch("SELECT reference FROM invoices")}
    assert len(references) == 40


async def test_process_killed_mid_run_resumes_with_the_same_invoices_no_gap_no_duplicate(
    sandbox: Sandbox, log_dir: Path
) -> None:
    customers, chunk = 120, 10
    await sandbox.migrated("invoicing")  # the schema copied while the database is new
    service = ServiceProcess(sandbox, "invoicing", log_dir, jobs_poll_interval_s=0.1, daily_run_enabled=False)
    # one chunk at a time in the process, so the kill after the fifth leaves exactly five
    env = {"INVOICING_RUN_CHUNK_CUSTOMERS": str(chunk), "INVOICING_RUN_PART_WORKERS": "1"}
    service.start(extra_env={**env, "BILLING_TEST_HOOKS": "on", "BILLING_FAILPOINTS": "jobs.after_chunk.5"})
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    try:
        await service.wait_ready()
        await seed_ready(sandbox, customers)
        async with httpx.AsyncClient(base_url=service.url, headers=headers) as api:
            started = await api.post("/billing-runs", json={"kind": "subscription", "mode": "confirm"})
            assert started.status_code == 202
            job_url = started.headers["Location"]
        assert await service.wait_exit(timeout=60) == -signal.SIGKILL
        half = await sandbox.scalar("SELECT count(*) FROM invoices")
        assert half == 5 * chunk  # five chunks committed, then the kill

        service.start(extra_env=env)  # no failpoint: the job resumes after the fifth chunk
        await service.wait_ready()
        async with httpx.AsyncClient(base_url=service.url, headers=headers) as api:
            job = await finished(api, job_url)
            assert (job["done"], job["result"]) == (customers, {"invoices": customers, "requests": customers})
    finally:
        service.stop()
    numbers = [r[0] for r in await sandbox.fetch("SELECT number FROM invoices ORDER BY number")]
    assert numbers == list(range(FIRST, FIRST + customers))
    per_request = await sandbox.fetch("SELECT request_id, count(*) FROM invoice_lines GROUP BY 1 HAVING count(*) > 1")
    assert per_request == []
    assert await sandbox.scalar("SELECT count(*) FROM billing_requests WHERE status = 'invoiced'") == customers
    records = await read_topic(sandbox.bootstrap, sandbox.topic(topics.INVOICES.name), expect=customers)
    # The relay of the killed process may have published its last batch without
    # recording it: that batch is in the log twice, under the same event ids, which
    # every consumer's inbox skips. One event per invoice, one invoice per event id:
    by_event = {dict(r.headers)["ce_id"]: json.loads(r.value)["invoice"]["invoice_number"] for r in records}
    assert sorted(by_event.values()) == [str(n) for n in range(FIRST, FIRST + customers)]
