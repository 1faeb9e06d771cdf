"""Partitioned jobs: a job's parts claimed by whichever runners run, in any replica.

A kind with ``plan`` (``JobKind(name, chunk, plan=..., finish=...)``) runs like this:

1. **Plan, once.** The first runner to take the queued job locks its row, calls
   ``plan(ctx, uow)`` and stores one ``job_parts`` row per returned part (``seq``,
   ``params``), and the job becomes ``running``: all in one transaction, so a crash
   leaves either no plan or the whole plan.
2. **Parts, anywhere.** Every runner of every replica claims a pending
   part with ``SELECT ... FOR UPDATE SKIP LOCKED`` inside the unit of work that does the
   part (``chunk(ctx, uow)`` with ``ctx.part``), and marks it done with its result in that
   same transaction. A runner that dies mid-part rolls back: the part is pending again and
   the next runner's poll takes it. Parts never touch the job row, so parts of one job
   commit side by side; the job's progress (``done``, ``failures``, ``chunks`` = parts
   done) is recomputed from the parts after each commit.
3. **Finish, once.** When no part is pending, ``finish(ctx, uow, results)`` runs under
   the job row's lock (a job not ``running`` any more is left alone), in the same
   transaction as the job becoming ``done`` with the parts' summed counts (plus what
   ``finish`` returns).

Each runner works a partitioned job while holding the job's advisory lock *shared* (the
single-runner jobs take it exclusive), so a runner of a release that did the kind chunk by
chunk never resumes a job the new runners are working, and a job such a runner is still
doing is not taken over (planned again, below) until it has stopped.

Failures as for other jobs: a transient error retries the part (or the plan, or the
finish); any other error fails the job, and its pending parts stop being claimed (the
claim checks the job is still running). Parts committed before stay committed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
import uuid
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, func, insert, select, update

from shared import failpoints
from shared.jobs.errors import describe_error
from shared.jobs.model import Job, JobState

if TYPE_CHECKING:
    from shared.jobs.runner import JobRunner

log = logging.getLogger(__name__)

PENDING = "pending"
DONE = "done"


def runner_id() -> str:
    """Which process did a part (stored with the part: host and pid, nothing personal).
    Asked when a part is stored, not at import: a process forked after the import (the
    tests' fork server) is a runner of its own."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class PartResult:
    """What one committed part did, as ``finish`` sees it."""

    seq: int
    params: Mapping[str, Any]
    done: int
    failures: int
    counts: Mapping[str, int] = field(default_factory=dict)
    data: Any = None
    """The ``cursor`` of the part's :class:`~shared.jobs.model.Step` (JSON): what the
    part hands to ``finish`` (e.g. its share of a summary)."""


def merge_counts(parts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """The counts of several parts added up by name."""
    total: dict[str, int] = {}
    for counts in parts:
        for name, n in counts.items():
            total[name] = total.get(name, 0) + int(n)
    return total


def part_result(row: Any) -> PartResult:
    result = row.result or {}
    return PartResult(
        seq=row.seq,
        params=row.params,
        done=row.done,
        failures=row.failures,
        counts=dict(result.get("counts", {})),
        data=result.get("data"),
    )


async def execute_parts(runner: JobRunner[Any], job_id: uuid.UUID) -> None:
    """One runner's share of a partitioned job: plan it if it is queued, do parts while
    any is free, and finish it if none is left. Returns when there is nothing to claim
    (the runner's next poll looks again, e.g. for the part of a runner that died)."""
    kind_name = None
    try:
        job = await runner._retrying(lambda: _plan(runner, job_id))
        if job is None or job.state is not JobState.RUNNING:
            return
        kind_name = job.kind

        async def worker() -> None:
            while await runner._retrying(lambda: _one_part(runner, job_id)):
                pass

        await _all_or_first_error([worker() for _ in range(max(1, runner.kinds[job.kind].part_workers))])
        finished = await runner._retrying(lambda: _finish(runner, job_id))
        if finished is not None:
            log.info(
                "job %s (%s) %s: %d done in %d parts", job_id, kind_name, finished.state, finished.done, finished.chunks
            )
            runner._report_end(finished.kind, finished.state.value)
    except Exception as exc:  # not transient: the work (or its plan) cannot go on
        error = describe_error(exc)
        log.warning("job %s failed: %s", job_id, error)
        failed = await runner._retrying(lambda: _fail(runner, job_id, error))
        if failed is not None:
            runner._report_end(failed.kind, failed.state.value)


async def _all_or_first_error(work: list[Coroutine[Any, Any, None]]) -> None:
    """Run ``work`` at once; the first error cancels the rest (their parts roll back) and
    is raised."""
    tasks = [asyncio.ensure_future(w) for w in work]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for t in tasks:
            t.cancel()
        # also when this task is cancelled (shutdown): the parts' rollbacks end before the engine goes
        await asyncio.shield(asyncio.gather(*tasks, return_exceptions=True))
    for t in tasks:
        if not t.cancelled() and (exc := t.exception()) is not None:
            raise exc


async def _plan(runner: JobRunner[Any], job_id: uuid.UUID) -> Job | None:
    """The job as it is; a queued job is planned first (queued -> running + parts).

    A job that is ``running`` with no part at all was started chunk by chunk, before its
    kind was partitioned (a rolling upgrade during a run), or planned with nothing to do
    by a runner that died before finishing it: it is planned now, over what is left (a
    plan reads the current state, which the committed chunks have already moved on), and
    its earlier chunks' progress (``done``, ``result`` counts, ``cursor``) is kept as a
    committed part ``0`` that ``finish`` sees first, so its summary counts them too."""
    table, parts = runner.table, runner.parts_table
    assert parts is not None
    async with runner.engine.connect() as conn:
        row = (await conn.execute(select(table).where(table.c.id == job_id))).first()
        if row is None or row.state not in (JobState.QUEUED.value, JobState.RUNNING.value):
            return _job_of(row)
        if row.state == JobState.RUNNING.value:
            has_parts = await conn.scalar(select(exists().where(parts.c.job_id == job_id)))
            if has_parts:
                return _job_of(row)
    async with runner.uow_factory() as uow:
        job = await runner._locked_row(uow.session, job_id)
        if job is None or job.state.finished:
            return job
        adopting = job.state is JobState.RUNNING
        if adopting and await uow.session.scalar(select(exists().where(parts.c.job_id == job_id))):
            return job  # another runner planned it meanwhile
        kind = runner.kinds[job.kind]
        assert kind.plan is not None
        ctx = runner._context(job, kind)
        total = await kind.total(ctx, uow) if kind.total is not None and not adopting else job.total
        planned = await kind.plan(ctx, uow)
        rows: list[dict[str, Any]] = []
        if adopting and (job.cursor is not None or job.done or job.chunks):
            rows.append(
                {
                    "job_id": job_id,
                    "seq": 0,
                    "params": {"chunks_before_parts": job.chunks},
                    "state": DONE,
                    "done": job.done,
                    "failures": job.failures,
                    "result": {"counts": dict(job.result or {}), "data": job.cursor},
                    "runner": runner_id(),
                    "finished_at": runner.clock(),
                }
            )
        if rows:  # the earlier chunks, as one committed part
            await uow.session.execute(insert(parts).values(rows[0]))
        first = len(rows)
        if planned:
            await uow.session.execute(
                insert(parts), [{"job_id": job_id, "seq": first + i, "params": p} for i, p in enumerate(planned)]
            )
        if not adopting:
            job = job.begin(runner.clock(), total)
            await runner._save(uow.session, job)
        await uow.commit()
    verb = "planned what was left of it" if adopting else "planned"
    log.info("job %s (%s) %s: %d parts, %s items", job_id, job.kind, verb, len(planned), total)
    return job


async def _one_part(runner: JobRunner[Any], job_id: uuid.UUID) -> bool:
    """Claim a pending part of the (running) job, do it and commit it; ``False`` when
    no part is free (all done, or being done by other runners)."""
    table, parts = runner.table, runner.parts_table
    assert parts is not None
    async with runner.uow_factory() as uow:
        running = exists().where(table.c.id == job_id, table.c.state == JobState.RUNNING.value)
        claim = (
            select(parts.c.seq, parts.c.params)
            .where(parts.c.job_id == job_id, parts.c.state == PENDING, running)
            .order_by(parts.c.seq)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        row = (await uow.session.execute(claim)).first()
        if row is None:
            return False
        job_row = (await uow.session.execute(select(table).where(table.c.id == job_id))).one()
        job = _job_of(job_row)
        assert job is not None
        kind = runner.kinds[job.kind]
        ctx = dataclasses.replace(runner._context(job, kind), part=row.params, part_seq=row.seq)
        started = runner.clock()
        step = await kind.chunk(ctx, uow)
        await uow.session.execute(
            update(parts)
            .where(parts.c.job_id == job_id, parts.c.seq == row.seq)
            .values(
                state=DONE,
                done=step.done,
                failures=step.failures,
                result={"counts": dict(step.counts), "data": step.cursor},
                runner=runner_id(),
                started_at=started,
                finished_at=runner.clock(),
            )
        )
        await uow.commit()
    runner.executed_chunks += 1
    failpoints.hit(f"jobs.after_chunk.{row.seq + 1}")  # as a chunk's: part seq + 1 committed (in order)
    await _progress(runner, job_id)
    return True


async def _progress(runner: JobRunner[Any], job_id: uuid.UUID) -> None:
    """The job's progress from its parts (a short transaction of its own)."""
    table, parts = runner.table, runner.parts_table
    assert parts is not None
    of_job = and_(parts.c.job_id == job_id, parts.c.state == DONE)
    async with runner.engine.begin() as conn:
        await conn.execute(
            update(table)
            .where(table.c.id == job_id, table.c.state == JobState.RUNNING.value)
            .values(
                done=select(func.coalesce(func.sum(parts.c.done), 0)).where(of_job).scalar_subquery(),
                failures=select(func.coalesce(func.sum(parts.c.failures), 0)).where(of_job).scalar_subquery(),
                chunks=select(func.count()).where(of_job).scalar_subquery(),
                updated_at=func.now(),
            )
        )


async def _finish(runner: JobRunner[Any], job_id: uuid.UUID) -> Job | None:
    """Finish the job if every part is done (once: under the job row's lock); the
    finished job, or ``None`` when it is not this runner's to finish."""
    parts = runner.parts_table
    assert parts is not None
    async with runner.uow_factory() as uow:
        job = await runner._locked_row(uow.session, job_id)
        if job is None or job.state is not JobState.RUNNING:
            return None
        pending = await uow.session.scalar(
            select(func.count()).where(parts.c.job_id == job_id, parts.c.state == PENDING)
        )
        if pending:
            return None
        rows = await uow.session.execute(select(parts).where(parts.c.job_id == job_id).order_by(parts.c.seq))
        results = [part_result(r) for r in rows]
        kind = runner.kinds[job.kind]
        extra = await kind.finish(runner._context(job, kind), uow, results) if kind.finish is not None else None
        result = merge_counts([*(r.counts for r in results), extra or {}])
        done = sum(r.done for r in results)
        job = dataclasses.replace(
            job,
            state=JobState.DONE,
            done=done,
            failures=sum(r.failures for r in results),
            chunks=len(results),
            total=max(job.total or 0, done),
            result=result,
            finished_at=runner.clock(),
        )
        await runner._save(uow.session, job)
        await uow.commit()
    return job


async def _fail(runner: JobRunner[Any], job_id: uuid.UUID, error: str) -> Job | None:
    async with runner.uow_factory() as uow:
        job = await runner._locked_row(uow.session, job_id)
        if job is None or job.state.finished:
            return None
        job = job.fail(error, runner.clock())
        await runner._save(uow.session, job)
        await uow.commit()
    return job


def _job_of(row: Any) -> Job | None:
    from shared.jobs.runner import _job  # the runner's row mapping (imported late: it imports this module)

    return _job(row) if row is not None else None
