"""Jobs on real PostgreSQL (and Kafka, for the runtimes): one row per job key, one
executor per job, one daily run per date however many replicas, failures recorded.

The test job kinds write one ``inbox`` row per item (the table's primary key refuses a
second write of the same item) and count their chunk calls in this process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from services.customers.app import SPEC, build
from services.customers.config import Settings
from services.customers.tables import CustomersUnitOfWork
from shared.db.migrations import upgrade
from shared.jobs import JobContext, JobFailed, JobKind, JobState, Step
from shared.runtime import Runtime
from tests.support.isolation import Sandbox
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration

ITEMS = 60
CHUNK = 7


class Counting:
    """A job kind that marks items 1..``params['items']`` done, ``CHUNK`` at a time."""

    def __init__(self, name: str) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.kind = JobKind(name, self.chunk, total=self.total, chunk_size=CHUNK)

    async def total(self, job: JobContext, uow: CustomersUnitOfWork) -> int:
        if job.params.get("fail_total"):
            raise JobFailed("nothing_to_count")
        return int(job.params.get("items", ITEMS))

    async def chunk(self, job: JobContext, uow: CustomersUnitOfWork) -> Step:
        self.calls.append((str(job.id), job.cursor))
        start = int(job.cursor or 0)
        end = min(start + job.chunk_size, int(job.params.get("items", ITEMS)))
        if job.params.get("fail_at") == start:
            raise JobFailed("test_failure", "the test asked for it") if job.params.get("coded") else KeyError("x")
        await uow.session.execute(
            text(
                "INSERT INTO inbox (consumer, source, event_id) "
                "SELECT 'job', :s, i::text FROM generate_series(CAST(:a AS int), CAST(:b AS int)) i"
            ),
            {"s": str(job.id), "a": start + 1, "b": end},
        )
        return Step(done=end - start, cursor=end, counts={"marked": end - start}, finished=end >= job.params["items"])


async def migrated(sandbox: Sandbox) -> None:
    await upgrade(SPEC.migrations_dir, sandbox.db_url)


@pytest.fixture
async def two_runtimes(sandbox: Sandbox) -> AsyncIterator[tuple[Runtime[CustomersUnitOfWork], ...]]:
    """Two replicas of a service on one database, not started (the tests drive them)."""
    await migrated(sandbox)
    runtimes = tuple(build(Settings(**sandbox.settings_kwargs(run_migrations_on_start=False))) for _ in range(2))
    try:
        yield runtimes
    finally:
        for r in runtimes:
            await r.jobs.stop()
            await r.engine.dispose()


async def test_two_runners_racing_on_one_job_key_make_one_job_executed_once(
    sandbox: Sandbox, two_runtimes: tuple[Runtime[CustomersUnitOfWork], ...]
) -> None:
    kind = Counting("test.count")
    for r in two_runtimes:
        r.jobs.register(kind.kind)
    a, b = two_runtimes

    started = await asyncio.gather(
        a.jobs.start_job("test.count", {"items": ITEMS}, key="once", actor="clerk-1"),
        b.jobs.start_job("test.count", {"items": ITEMS}, key="once", actor="clerk-2"),
    )
    assert sorted(created for _, created in started) == [False, True]
    assert started[0][0].id == started[1][0].id
    claimed = await asyncio.gather(a.jobs.claim_available(), b.jobs.claim_available())
    await asyncio.gather(a.jobs.wait_idle(), b.jobs.wait_idle())

    assert sum(claimed) >= 1
    job = await a.jobs.get(started[0][0].id)
    assert job is not None
    assert (job.state, job.done, job.total, job.chunks) == (JobState.DONE, ITEMS, ITEMS, -(-ITEMS // CHUNK))
    assert job.result == {"marked": ITEMS}
    assert len(kind.calls) == job.chunks  # no chunk ran twice (the inbox key would have refused it too)
    assert await sandbox.scalar("SELECT count(*) FROM inbox") == ITEMS
    assert await sandbox.scalar("SELECT count(*) FROM jobs") == 1
    assert a.jobs.executed_chunks + b.jobs.executed_chunks == job.chunks


async def test_job_held_by_a_live_runner_is_not_claimed_by_another(
    sandbox: Sandbox, two_runtimes: tuple[Runtime[CustomersUnitOfWork], ...]
) -> None:
    a, b = two_runtimes
    kind = Counting("test.count")
    for r in two_runtimes:
        r.jobs.register(kind.kind)
    job, _ = await a.jobs.start_job("test.count", {"items": ITEMS})
    # a runner that holds the job's lock but has not begun (as if mid-chunk)
    lock = await a.jobs._try_lock(job.id)
    assert lock is not None
    try:
        assert await b.jobs.claim_available() == 0
        assert kind.calls == []
    finally:
        await a.jobs._unlock(job.id, lock)
    assert await b.jobs.claim_available() == 1  # lock free again: the job is taken up
    await b.jobs.wait_idle()
    assert (await sandbox.scalar("SELECT state FROM jobs")) == "done"


async def test_daily_job_with_two_replicas_runs_once_and_a_second_trigger_is_a_no_op(
    sandbox: Sandbox, log_dir: Any
) -> None:
    await migrated(sandbox)
    kind = Counting("test.daily")
    runtimes = []
    for _ in range(2):
        # the service declares 23:59; the settings move it to 00:00, so it is due today
        settings = Settings(
            **sandbox.settings_kwargs(
                run_migrations_on_start=False, jobs_schedule={"test.daily": "00:00"}, jobs_poll_interval_s=0.1
            )
        )
        runtime = build(settings)
        runtime.jobs.register(kind.kind)
        runtime.jobs.schedule_daily("test.daily", time(23, 59), params=lambda d: {"date": d.isoformat(), "items": 30})
        runtimes.append(runtime)
    today = datetime.now(ZoneInfo("Europe/Helsinki")).date()
    try:
        await asyncio.gather(*(r.start() for r in runtimes))
        await wait_for(lambda: sandbox.has("SELECT count(*) FROM jobs WHERE state = 'done'", 1), timeout=60)
        for r in runtimes:  # both replicas have ticked for today (no further row either way)
            await wait_for(lambda r=r: r.jobs._started_dates.get("test.daily") == today)
        rows = await sandbox.fetch("SELECT id, key, state, done, chunks, params, actor FROM jobs")
        assert len(rows) == 1
        (row,) = rows
        assert row["key"] == f"test.daily:{today.isoformat()}"
        assert (row["state"], row["done"], row["actor"]) == ("done", 30, "schedule")
        assert json.loads(row["params"]) == {"date": today.isoformat(), "items": 30}
        assert len(kind.calls) == row["chunks"]

        again, created = await runtimes[1].jobs.trigger_daily(runtimes[1].jobs.schedules[0], today)
        assert not created
        assert again.id == row["id"] and again.state is JobState.DONE
        assert await runtimes[0].jobs.claim_available() == 0
        assert len(kind.calls) == row["chunks"]
        assert await sandbox.scalar("SELECT count(*) FROM jobs") == 1
        assert await sandbox.scalar("SELECT count(*) FROM inbox") == 30
    finally:
        for r in runtimes:
            await r.stop()


@pytest.mark.parametrize(
    ("coded", "error"), [(False, "KeyError"), (True, "test_failure: the test asked for it")], ids=["bug", "coded"]
)
async def test_work_that_raises_fails_the_job_keeping_the_committed_chunks(
    sandbox: Sandbox, two_runtimes: tuple[Runtime[CustomersUnitOfWork], ...], coded: bool, error: str
) -> None:
    runtime = two_runtimes[0]
    kind = Counting("test.count")
    runtime.jobs.register(kind.kind)
    job, _ = await runtime.jobs.start_job("test.count", {"items": ITEMS, "fail_at": 2 * CHUNK, "coded": coded})
    await runtime.jobs.claim_available()
    await runtime.jobs.wait_idle()

    failed = await runtime.jobs.get(job.id)
    assert failed is not None
    assert (failed.state, failed.done, failed.chunks, failed.error) == (JobState.FAILED, 2 * CHUNK, 2, error)
    assert failed.finished_at is not None
    assert await sandbox.scalar("SELECT count(*) FROM inbox") == 2 * CHUNK  # the failed chunk rolled back
    assert await runtime.jobs.claim_available() == 0  # a failed job is not taken up again
    # the JobFailed alert's series
    scrape = runtime.metrics.exposition().decode()
    assert 'billing_jobs_finished_total{kind="test.count",service="customers",state="failed"} 1.0' in scrape


async def test_job_whose_count_fails_is_failed_once_not_retried_forever(
    sandbox: Sandbox, two_runtimes: tuple[Runtime[CustomersUnitOfWork], ...]
) -> None:
    runtime = two_runtimes[0]
    kind = Counting("test.count")
    runtime.jobs.register(kind.kind)
    job, _ = await runtime.jobs.start_job("test.count", {"items": ITEMS, "fail_total": True})
    assert await runtime.jobs.claim_available() == 1
    await runtime.jobs.wait_idle()

    failed = await runtime.jobs.get(job.id)
    assert failed is not None
    assert (failed.state, failed.error, failed.done, failed.started_at) == (
        JobState.FAILED,
        "nothing_to_count",
        0,
        None,
    )
    assert kind.calls == []
    assert await runtime.jobs.claim_available() == 0
    scrape = runtime.metrics.exposition().decode()
    assert 'billing_jobs_finished_total{kind="test.count",service="customers",state="failed"} 1.0' in scrape
