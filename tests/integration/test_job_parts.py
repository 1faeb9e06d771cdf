"""Partitioned jobs on real PostgreSQL: the parts of one job claimed by two runners
(two replicas of the invoicing service on one database), each part once; a runner that
dies mid-part leaves its part for the other; ``finish`` runs once; a failing part fails
the job and its other parts stop being claimed.

The test kind's parts write one ``inbox`` row per item (the primary key would refuse a
part done twice) and its ``finish`` writes one row too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text

from services.invoicing.app import SPEC, build
from services.invoicing.config import Settings
from services.invoicing.uow import InvoicingUnitOfWork
from shared.db.migrations import upgrade
from shared.jobs import JobContext, JobFailed, JobKind, JobState, Step
from shared.jobs.parts import PartResult
from shared.runtime import Runtime
from tests.support.isolation import Sandbox

pytestmark = pytest.mark.integration

PARTS = 12
PER_PART = 5


class Crash(BaseException):
    """A runner dying mid-part: not an Exception, so nothing in the runner handles it."""


class Parted:
    def __init__(self, name: str = "test.parted", workers: int = 1) -> None:
        self.parts: list[tuple[int, str]] = []
        self.finishes: list[list[PartResult]] = []
        self.crash_at: int | None = None
        self.hold: asyncio.Event | None = None
        self.inside = 0
        self.most_inside = 0
        self.kind = JobKind(
            name,
            self.chunk,
            total=self.total,
            plan=self.plan,
            finish=self.finish,
            chunk_size=PER_PART,
            part_workers=workers,
        )

    async def total(self, job: JobContext, uow: InvoicingUnitOfWork) -> int:
        return PARTS * PER_PART

    async def plan(self, job: JobContext, uow: InvoicingUnitOfWork) -> list[dict[str, Any]]:
        start = int(job.params.get("from", 0))  # the parts a chunked runner had not done yet
        return [{"first": i * PER_PART + 1, "last": (i + 1) * PER_PART} for i in range(start, int(job.params["parts"]))]

    async def chunk(self, job: JobContext, uow: InvoicingUnitOfWork) -> Step:
        assert job.part is not None and job.part_seq is not None
        first, last = int(job.part["first"]), int(job.part["last"])
        await uow.session.execute(
            text(
                "INSERT INTO inbox (consumer, source, event_id) "
                "SELECT 'part', :s, i::text FROM generate_series(CAST(:a AS int), CAST(:b AS int)) i"
            ),
            {"s": str(job.id), "a": first, "b": last},
        )
        if job.params.get("fail_seq") == job.part_seq:
            raise JobFailed("test_failure")
        if self.crash_at == job.part_seq:
            self.crash_at = None
            raise Crash
        if self.hold is not None and job.part_seq == 0:
            await self.hold.wait()
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        await asyncio.sleep(0.01)  # a round trip: the other workers run meanwhile
        self.inside -= 1
        self.parts.append((job.part_seq, str(job.id)))
        n = last - first + 1
        return Step(done=n, cursor={"sum": sum(range(first, last + 1))}, counts={"marked": n})

    async def finish(self, job: JobContext, uow: InvoicingUnitOfWork, results: list[PartResult]) -> dict[str, int]:
        self.finishes.append(results)
        await uow.session.execute(
            text("INSERT INTO inbox (consumer, source, event_id) VALUES ('finish', :s, 'finish')"), {"s": str(job.id)}
        )
        return {"summed": sum(int(r.data["sum"]) for r in results)}


@pytest.fixture
async def two_runtimes(sandbox: Sandbox) -> AsyncIterator[tuple[Runtime[InvoicingUnitOfWork], ...]]:
    await upgrade(SPEC.migrations_dir, sandbox.db_url)
    runtimes = tuple(build(Settings(**sandbox.settings_kwargs(run_migrations_on_start=False))) for _ in range(2))
    try:
        yield runtimes
    finally:
        for r in runtimes:
            await r.jobs.stop()
            await r.engine.dispose()


def register(runtimes: tuple[Runtime[InvoicingUnitOfWork], ...], kind: Parted) -> None:
    for r in runtimes:
        r.jobs.register(kind.kind)


async def test_two_runners_share_the_parts_each_once_and_finish_runs_once(
    sandbox: Sandbox, two_runtimes: tuple[Runtime[InvoicingUnitOfWork], ...]
) -> None:
    kind = Parted()
    register(two_runtimes, kind)
    a, b = two_runtimes
    job, _ = await a.jobs.start_job("test.parted", {"parts": PARTS})
    kind.hold = asyncio.Event()  # runner a sits in part 0 until b has done some parts
    assert await a.jobs.claim_available() == 1
    await asyncio.sleep(0.2)
    assert await b.jobs.claim_available() == 1
    await b.jobs.wait_idle()
    kind.hold.set()
    await a.jobs.wait_idle()
    await asyncio.gather(a.jobs.claim_available(), b.jobs.claim_available())  # nothing left: no second finish
    await asyncio.gather(a.jobs.wait_idle(), b.jobs.wait_idle())

    done = await a.jobs.get(job.id)
    assert done is not None
    total = PARTS * PER_PART
    assert (done.state, done.done, done.total, done.chunks) == (JobState.DONE, total, total, PARTS)
    assert done.result == {"marked": total, "summed": total * (total + 1) // 2}
    assert sorted(seq for seq, _ in kind.parts) == list(range(PARTS))
    assert a.jobs.executed_chunks >= 1 and b.jobs.executed_chunks >= 1  # both took parts
    assert a.jobs.executed_chunks + b.jobs.executed_chunks == PARTS
    assert len(kind.finishes) == 1 and [r.seq for r in kind.finishes[0]] == list(range(PARTS))
    assert await sandbox.scalar("SELECT count(*) FROM inbox WHERE consumer = 'part'") == total
    assert await sandbox.scalar("SELECT count(*) FROM inbox WHERE consumer = 'finish'") == 1
    runners = await sandbox.scalar("SELECT count(DISTINCT runner) FROM job_parts WHERE state = 'done'")
    assert runners == 1  # one process here (both runtimes): the runner id is per process


async def test_a_runner_dying_mid_part_leaves_the_part_for_another(
    sandbox: Sandbox, two_runtimes: tuple[Runtime[InvoicingUnitOfWork], ...]
) -> None:
    kind = Parted()
    register(two_runtimes, kind)
    a, b = two_runtimes
    job, _ = await a.jobs.start_job("test.parted", {"parts": 4})
    kind.crash_at = 2
    await a.jobs.claim_available()
    await a.jobs.wait_idle()  # the task died with the Crash in part 2 (rolled back)
    assert await sandbox.scalar("SELECT state FROM jobs") == "running"
    assert await sandbox.scalar("SELECT count(*) FROM job_parts WHERE state = 'pending'") == 2
    assert await sandbox.scalar("SELECT count(*) FROM inbox WHERE consumer = 'part'") == 2 * PER_PART

    assert await b.jobs.claim_available() == 1
    await b.jobs.wait_idle()
    done = await b.jobs.get(job.id)
    assert done is not None
    assert (done.state, done.done, done.chunks) == (JobState.DONE, 4 * PER_PART, 4)
    assert sorted(seq for seq, _ in kind.parts) == [0, 1, 2, 3]
    assert await sandbox.scalar("SELECT count(*) FROM inbox WHERE consumer = 'part'") == 4 * PER_PART
    assert len(kind.finishes) == 1


async def test_a_failing_part_fails_the_job_and_no_other_part_is_claimed(
    sandbox: Sandbox, two_runtimes: tuple[Runtime[InvoicingUnitOfWork], ...]
) -> None:
    kind = Parted()
    register(two_runtimes, kind)
    a, b = two_runtimes
    job, _ = await a.jobs.start_job("test.parted", {"parts": 6, "fail_seq": 3})
    await a.jobs.claim_available()
    await a.jobs.wait_idle()
    failed = await a.jobs.get(job.id)
    assert failed is not None
    assert (failed.state, failed.error, failed.done, failed.chunks) == (JobState.FAILED, "test_failure", 15, 3)
    assert await b.jobs.claim_available() == 0
    assert await sandbox.scalar("SELECT count(*) FROM job_parts WHERE state = 'pending'") == 3
    assert await sandbox.scalar("SELECT count(*) FROM inbox WHERE consumer = 'part'") == 3 * PER_PART
    assert kind.finishes == []
    scrape = a.metrics.exposition().decode()
    assert 'billing_jobs_finished_total{kind="test.parted",service="invoicing",state="failed"} 1.0' in scrape


async def test_a_job_planned_empty_finishes_and_single_runner_jobs_still_run(
    sandbox: Sandbox, two_runtimes: tuple[Runtime[InvoicingUnitOfWork], ...]
) -> None:
    kind = Parted()
    calls: list[Any] = []

    async def plain(job: JobContext, uow: InvoicingUnitOfWork) -> Step:
        calls.append(job.cursor)
        return Step(done=1, cursor=len(calls), finished=len(calls) == 3)

    register(two_runtimes, kind)
    a, _ = two_runtimes
    a.jobs.register(JobKind("test.plain", plain))
    empty, _ = await a.jobs.start_job("test.parted", {"parts": 0})
    single, _ = await a.jobs.start_job("test.plain")
    assert await a.jobs.claim_available() == 2
    await a.jobs.wait_idle()
    got = await a.jobs.get(empty.id)
    assert got is not None and (got.state, got.done, got.total, got.chunks) == (JobState.DONE, 0, PARTS * PER_PART, 0)
    assert len(kind.finishes) == 1 and kind.finishes[0] == []
    plain_job = await a.jobs.get(single.id)
    assert plain_job is not None and (plain_job.state, plain_job.done, plain_job.chunks) == (JobState.DONE, 3, 3)
    assert calls == [None, 1, 2]


async def test_one_runner_with_several_workers_does_parts_at_once_each_once(
    sandbox: Sandbox, two_runtimes: tuple[Runtime[InvoicingUnitOfWork], ...]
) -> None:
    kind = Parted(workers=3)
    a, _ = two_runtimes
    a.jobs.register(kind.kind)
    job, _ = await a.jobs.start_job("test.parted", {"parts": PARTS})
    await a.jobs.claim_available()
    await a.jobs.wait_idle()
    done = await a.jobs.get(job.id)
    assert done is not None and (done.state, done.done, done.chunks) == (JobState.DONE, PARTS * PER_PART, PARTS)
    assert sorted(seq for seq, _ in kind.parts) == list(range(PARTS))
    assert kind.most_inside > 1  # parts overlapped
    assert len(kind.finishes) == 1


async def test_with_several_workers_a_failing_part_stops_the_others_and_fails_the_job(
    sandbox: Sandbox, two_runtimes: tuple[Runtime[InvoicingUnitOfWork], ...]
) -> None:
    kind = Parted(workers=3)
    a, _ = two_runtimes
    a.jobs.register(kind.kind)
    job, _ = await a.jobs.start_job("test.parted", {"parts": PARTS, "fail_seq": 1})
    await a.jobs.claim_available()
    await a.jobs.wait_idle()
    failed = await a.jobs.get(job.id)
    assert failed is not None and (failed.state, failed.error) == (JobState.FAILED, "test_failure")
    done_parts = await sandbox.scalar("SELECT count(*) FROM job_parts WHERE state = 'done'")
    assert done_parts < PARTS - 1  # the other workers stopped claiming (some finished theirs)
    assert await sandbox.scalar("SELECT count(*) FROM inbox WHERE consumer = 'part'") == done_parts * PER_PART
    assert kind.finishes == []


async def test_a_job_left_running_by_the_chunked_runner_is_planned_over_what_is_left_and_counts_its_chunks(
    sandbox: Sandbox, two_runtimes: tuple[Runtime[InvoicingUnitOfWork], ...]
) -> None:
    """A rolling upgrade during a job: the previous release ran it chunk by chunk (no
    parts) and committed two chunks of 5 items; the new release's runner finds it running
    with no part, plans the rest, and the job's result counts all 30 items."""
    kind = Parted()
    register(two_runtimes, kind)
    a, _ = two_runtimes
    job, _ = await a.jobs.start_job("test.parted", {"parts": 6, "from": 2})
    await sandbox.fetch(
        "UPDATE jobs SET state = 'running', started_at = now(), done = 10, chunks = 2, "
        """cursor = '{"sum": 55}', result = '{"marked": 10}' WHERE id = $1""",
        job.id,
    )
    assert await a.jobs.claim_available() == 1
    await a.jobs.wait_idle()
    done = await a.jobs.get(job.id)
    assert done is not None
    assert (done.state, done.done, done.chunks) == (JobState.DONE, 30, 5)
    assert done.result == {"marked": 30, "summed": 30 * 31 // 2}
    assert sorted(seq for seq, _ in kind.parts) == [1, 2, 3, 4]  # part 0: the chunks done before
    assert [r.seq for r in kind.finishes[0]] == [0, 1, 2, 3, 4]
    assert kind.finishes[0][0].data == {"sum": 55} and kind.finishes[0][0].done == 10


async def test_a_job_an_older_runner_holds_exclusively_is_not_worked_and_a_worked_one_is_refused_to_it(
    sandbox: Sandbox, two_runtimes: tuple[Runtime[InvoicingUnitOfWork], ...]
) -> None:
    """A rolling upgrade mid-job: the previous release's runner holds the job's advisory
    lock exclusively while it chunks; the new runners leave the job alone until it lets
    go. While new runners work the parts (the lock shared), the old kind of runner
    cannot take it."""
    import asyncpg

    from shared.jobs.runner import lock_key

    kind = Parted()
    register(two_runtimes, kind)
    a, _ = two_runtimes
    job, _ = await a.jobs.start_job("test.parted", {"parts": 3})
    old = await asyncpg.connect(sandbox.plain_db_url)
    try:
        assert await old.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(job.id))
        assert await a.jobs.claim_available() == 0
        assert await sandbox.scalar("SELECT state FROM jobs") == "queued"
        await old.execute("SELECT pg_advisory_unlock($1)", lock_key(job.id))

        kind.hold = asyncio.Event()  # the new runner sits in part 0
        assert await a.jobs.claim_available() == 1
        for _ in range(100):
            if await sandbox.scalar("SELECT state FROM jobs") == "running":
                break
            await asyncio.sleep(0.05)
        assert not await old.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(job.id))
        kind.hold.set()
        await a.jobs.wait_idle()
    finally:
        await old.close()
    done = await a.jobs.get(job.id)
    assert done is not None and done.state is JobState.DONE
