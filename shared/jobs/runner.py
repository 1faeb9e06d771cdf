"""Running jobs: start, claim, execute chunk by chunk, resume after a crash.

How a service uses it (``runtime.jobs`` is this service's :class:`JobRunner`)::

    runtime.jobs.register(JobKind("invoicing.billing-run", billing_run_chunk, total=count_ready))
    runtime.jobs.schedule_daily("invoicing.billing-run", at=time(6, 0))
    job, created = await runtime.jobs.start_job("invoicing.billing-run", {"date": "2026-11-23"}, actor="clerk-1")

Guarantees:

- **One row per job key** (unique constraint): starting a job whose key exists returns
  the existing job. A daily job's key is kind + date, so a re-run is a no-op.
- **One executor per job**: a runner executes a job only while it holds the job's
  session-level advisory lock (``pg_try_advisory_lock`` on a connection of its own).
  Every process's runner polls for jobs that are queued, or running with the lock
  free, i.e. whose runner died: it takes the lock and resumes from the last chunk.
- **Chunks are atomic with their progress**: each chunk runs in one unit of work of
  the service (the work's effects, its outbox rows and the job's done / cursor /
  result commit together). The chunk also locks the job row and checks that the job
  is at the chunk it expects, so even a runner that lost its lock without noticing
  cannot apply a chunk twice.
- **Failures**: a transient error (database or network away, serialization conflict)
  retries the chunk with backoff; any other error fails the job with its type name
  (or a :class:`JobFailed` code and message), never with text that may hold personal
  data.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Table, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from shared import failpoints
from shared.db.uow import UnitOfWork
from shared.jobs.errors import describe_error, is_transient
from shared.jobs.model import Job, JobState, Step, job_key
from shared.jobs.parts import PartResult, execute_parts
from shared.jobs.schedule import DailySchedule, due_date

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)
J = TypeVar("J")


@dataclass(frozen=True)
class JobContext:
    """What a work function sees of its job: the parameters and where to go on."""

    id: uuid.UUID
    kind: str
    params: Mapping[str, Any]
    cursor: Any
    """The cursor the previous chunk returned (``None`` before the first chunk)."""
    chunk_size: int
    actor: str
    part: Mapping[str, Any] | None = None
    """A partitioned job's part: the parameters ``plan`` gave it (``None`` otherwise)."""
    part_seq: int | None = None


ChunkFn = Callable[[JobContext, U], Awaitable[Step]]
TotalFn = Callable[[JobContext, U], Awaitable[int | None]]
PlanFn = Callable[[JobContext, U], Awaitable[list[dict[str, Any]]]]
FinishFn = Callable[[JobContext, U, list[PartResult]], Awaitable[Mapping[str, int] | None]]


@dataclass(frozen=True)
class JobKind(Generic[U]):
    """A kind of job: its name (``service.what``) and its work.

    ``chunk(ctx, uow)`` does the next chunk of at most ``ctx.chunk_size`` items inside
    the runner's unit of work (it must not commit) and returns a :class:`Step`.
    ``total(ctx, uow)``, if given, counts the items when the job starts.

    With ``plan``, the job is *partitioned* (``shared/jobs/parts.py``): ``plan(ctx, uow)``
    returns the parts' parameters once, ``chunk`` then does one part (``ctx.part``) per
    unit of work on whichever runner claims it, and ``finish(ctx, uow, results)`` runs
    once when every part is done (its counts are added to the job's result).
    """

    name: str
    chunk: ChunkFn[U]
    total: TotalFn[U] | None = None
    chunk_size: int = 500
    plan: PlanFn[U] | None = None
    finish: FinishFn[U] | None = None
    part_workers: int = 1
    """Parts one runner does at once (each in its own unit of work and connection): one
    part's database round trips overlap another's Python work."""

    @property
    def partitioned(self) -> bool:
        return self.plan is not None


class _LostClaim(Exception):
    """Another runner moved the job on: stop executing it here."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def lock_key(job_id: uuid.UUID) -> int:
    """The job's advisory lock key (signed 64 bits)."""
    digest = hashlib.blake2b(b"jobs:" + job_id.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _job(row: Row[Any]) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        key=row.key,
        state=JobState(row.state),
        params=row.params,
        actor=row.actor,
        created_at=row.created_at,
        done=row.done,
        total=row.total,
        failures=row.failures,
        chunks=row.chunks,
        cursor=row.cursor,
        result=row.result,
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


@dataclass
class JobRunner(Generic[U]):
    """One per service process. :meth:`start` runs the loop that executes jobs and
    starts the daily ones; :meth:`start_job` queues a job from a request."""

    engine: AsyncEngine
    uow_factory: Callable[[], U]
    table: Table
    poll_interval_s: float = 1.0
    max_concurrent: int = 2
    timezone: str = "Europe/Helsinki"
    schedule_times: Mapping[str, str] = field(default_factory=dict)
    """Kind -> local time ``HH:MM``, overriding the time a service declares (settings)."""
    chunk_sizes: Mapping[str, int] = field(default_factory=dict)
    """Kind -> chunk size, overriding the kind's own (from settings)."""
    clock: Callable[[], datetime] = utcnow
    retry_backoff_s: float = 0.5
    parts_table: Table | None = None
    """``job_parts``, for the services that register partitioned kinds."""

    def __post_init__(self) -> None:
        self.kinds: dict[str, JobKind[U]] = {}
        self.schedules: list[DailySchedule] = []
        self.tz = ZoneInfo(self.timezone)
        self._times = {kind: time.fromisoformat(at) for kind, at in self.schedule_times.items()}
        self._wake = asyncio.Event()
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._started_dates: dict[str, date] = {}
        self._task: asyncio.Task[None] | None = None
        self.executed_chunks = 0
        self.on_finished: Callable[[str, str], None] | None = None
        """Called with (kind, state) when a job this runner executed ends ``done`` or
        ``failed`` (the ``billing_jobs_finished`` counter)."""

    # --- declaring ------------------------------------------------------------

    def register(self, kind: JobKind[U]) -> None:
        if kind.name in self.kinds:
            raise ValueError(f"job kind {kind.name!r} is already registered")
        if kind.partitioned and self.parts_table is None:
            raise ValueError(f"job kind {kind.name!r} is partitioned: the runner needs the job_parts table")
        self.kinds[kind.name] = kind

    def schedule_daily(
        self, kind: str, at: time, params: Callable[[date], Mapping[str, Any]] | None = None
    ) -> DailySchedule:
        """Run ``kind`` once a day at local time ``at`` (settings ``jobs_schedule``
        may move it). The kind must be registered."""
        if kind not in self.kinds:
            raise ValueError(f"job kind {kind!r} is not registered")
        at = self._times.get(kind, at)
        schedule = DailySchedule(kind, at) if params is None else DailySchedule(kind, at, params)
        self.schedules.append(schedule)
        self.notify()
        return schedule

    # --- starting and reading jobs -------------------------------------------

    async def start_job(
        self, kind: str, params: Mapping[str, Any] | None = None, *, actor: str = "api", key: str | None = None
    ) -> tuple[Job, bool]:
        """Queue a job; returns it and whether it is new. With a ``key`` that a job of
        this kind already has, nothing is queued and that job is returned."""
        if kind not in self.kinds:
            raise ValueError(f"job kind {kind!r} is not registered")
        full_key = job_key(kind, key)
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    insert(self.table)
                    .values(
                        id=uuid.uuid4(),
                        kind=kind,
                        key=full_key,
                        state=JobState.QUEUED.value,
                        params=dict(params or {}),
                        actor=actor,
                    )
                    .on_conflict_do_nothing(index_elements=["key"])
                    .returning(*self.table.c)
                )
            ).first()
            created = row is not None
            if row is None:
                row = (await conn.execute(select(self.table).where(self.table.c.key == full_key))).one()
        if created:
            log.info("job %s (%s) queued", row.id, kind)
            self.notify()
        return _job(row), created

    async def trigger_daily(self, schedule: DailySchedule, run_date: date, actor: str = "schedule") -> tuple[Job, bool]:
        """Start the daily job of ``run_date`` (a no-op if it exists)."""
        return await self.start_job(schedule.kind, schedule.params(run_date), actor=actor, key=schedule.key(run_date))

    async def get(self, job_id: uuid.UUID) -> Job | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(self.table).where(self.table.c.id == job_id))).first()
        return _job(row) if row is not None else None

    async def list_jobs(self, *, kind: str | None = None, state: JobState | None = None, limit: int = 50) -> list[Job]:
        stmt = select(self.table).order_by(self.table.c.created_at.desc()).limit(limit)
        if kind is not None:
            stmt = stmt.where(self.table.c.kind == kind)
        if state is not None:
            stmt = stmt.where(self.table.c.state == state.value)
        async with self.engine.connect() as conn:
            return [_job(r) for r in await conn.execute(stmt)]

    # --- the loop ---------------------------------------------------------------

    def notify(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="job-runner")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._running.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None

    @property
    def healthy(self) -> bool:
        return self._task is not None and not self._task.done()

    async def run(self) -> None:
        while True:
            try:
                await self.start_due()
                await self.claim_available()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database away: try again on the next tick
                log.warning("job runner tick failed (%s)", type(exc).__name__)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)

    async def start_due(self) -> list[Job]:
        """Queue each daily job whose time has come today (or yesterday's, if missed)."""
        started = []
        now = self.clock()
        for schedule in self.schedules:
            day = due_date(now, schedule.at, self.tz)
            if self._started_dates.get(schedule.kind) == day:
                continue
            job, created = await self.trigger_daily(schedule, day)
            self._started_dates[schedule.kind] = day
            if created:
                started.append(job)
        return started

    async def claim_available(self) -> int:
        """Claim jobs nobody executes (queued, or running with a dead runner) and
        execute them as tasks, up to ``max_concurrent`` at a time. Returns how many."""
        free = self.max_concurrent - len(self._running)
        if free <= 0 or not self.kinds:
            return 0
        stmt = (
            select(self.table.c.id, self.table.c.kind)
            .where(
                self.table.c.state.in_([JobState.QUEUED.value, JobState.RUNNING.value]),
                self.table.c.kind.in_(list(self.kinds)),
            )
            .order_by(self.table.c.created_at)
            .limit(free + 20)
        )
        async with self.engine.connect() as conn:
            rows = [(r[0], r[1]) for r in await conn.execute(stmt) if r[0] not in self._running]
        claimed = 0
        for job_id, kind in rows:
            if claimed >= free:
                break
            if self.kinds[kind].partitioned:
                # every runner claims its parts, each holding the job's lock SHARED: a runner of a
                # release that ran this kind chunk by chunk takes it exclusive, so the two never
                # work one job at once (a rolling upgrade mid-run), whichever came first
                lock = await self._try_lock(job_id, shared=True)
                if lock is None:
                    continue
                work: Coroutine[Any, Any, None] = self._execute_parts(job_id, lock)
            else:
                lock = await self._try_lock(job_id)
                if lock is None:
                    continue
                work = self._execute(job_id, lock)
            task = asyncio.create_task(work, name=f"job-{job_id}")
            self._running[job_id] = task
            task.add_done_callback(functools.partial(self._finished, job_id))
            claimed += 1
        return claimed

    def _finished(self, job_id: uuid.UUID, _task: asyncio.Task[None]) -> None:
        self._running.pop(job_id, None)
        self.notify()

    async def wait_idle(self) -> None:
        """Wait for the jobs this runner executes now (tests, shutdown)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    # --- executing one job ----------------------------------------------------

    async def _try_lock(self, job_id: uuid.UUID, *, shared: bool = False) -> AsyncConnection | None:
        conn = await self.engine.connect()
        try_lock = func.pg_try_advisory_lock_shared if shared else func.pg_try_advisory_lock
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            if await conn.scalar(select(try_lock(lock_key(job_id)))):
                return conn
        except BaseException:
            await conn.invalidate()
            await conn.close()
            raise
        await conn.close()
        return None

    async def _execute_parts(self, job_id: uuid.UUID, lock: AsyncConnection) -> None:
        try:
            await execute_parts(self, job_id)
        finally:
            await self._unlock(job_id, lock, shared=True)

    async def _unlock(self, job_id: uuid.UUID, conn: AsyncConnection, *, shared: bool = False) -> None:
        unlock = func.pg_advisory_unlock_shared if shared else func.pg_advisory_unlock
        try:
            await asyncio.shield(conn.execute(select(unlock(lock_key(job_id)))))
        except BaseException:
            # the lock must not stay with a pooled connection: drop the connection
            with contextlib.suppress(Exception):
                await conn.invalidate()
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _execute(self, job_id: uuid.UUID, lock: AsyncConnection) -> None:
        chunks: int | None = None  # the chunks committed when the last step began
        try:
            job = await self._retrying(lambda: self._begin(job_id))
            while job is not None and job.state is JobState.RUNNING:
                chunks = job.chunks
                job = await self._retrying(functools.partial(self._chunk, job))
                failpoints.hit(f"jobs.after_chunk.{job.chunks}")
            if job is not None:
                log.info("job %s (%s) %s: %d done, %d failures", job.id, job.kind, job.state, job.done, job.failures)
                if job.state.finished:
                    self._report_end(job.kind, job.state.value)
        except _LostClaim:
            log.warning("job %s moved on elsewhere; this runner stops executing it", job_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # not transient: the work (or its count) cannot go on
            error = describe_error(exc)
            log.warning("job %s failed: %s", job_id, error)
            with contextlib.suppress(_LostClaim):
                failed = await self._retrying(functools.partial(self._fail, job_id, chunks, error))
                self._report_end(failed.kind, failed.state.value)
        finally:
            await self._unlock(job_id, lock)

    def _report_end(self, kind: str, state: str) -> None:
        if self.on_finished is not None:
            self.on_finished(kind, state)

    async def _retrying(self, attempt: Callable[[], Awaitable[J]]) -> J:
        backoff = self.retry_backoff_s
        while True:
            try:
                return await attempt()
            except (asyncio.CancelledError, _LostClaim):
                raise
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("job step failed (%s); retrying in %.1fs", type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    async def _locked_row(self, session: AsyncSession, job_id: uuid.UUID) -> Job | None:
        row = (await session.execute(select(self.table).where(self.table.c.id == job_id).with_for_update())).first()
        return _job(row) if row is not None else None

    def _context(self, job: Job, kind: JobKind[U]) -> JobContext:
        size = self.chunk_sizes.get(kind.name, kind.chunk_size)
        return JobContext(job.id, job.kind, job.params, job.cursor, size, job.actor)

    async def _begin(self, job_id: uuid.UUID) -> Job | None:
        async with self.uow_factory() as uow:
            job = await self._locked_row(uow.session, job_id)
            if job is None or job.state.finished:
                return None
            kind = self.kinds[job.kind]
            if job.state is JobState.RUNNING:
                log.info("job %s (%s) resumes after chunk %d", job.id, job.kind, job.chunks)
                return job
            total = await kind.total(self._context(job, kind), uow) if kind.total is not None else None
            job = job.begin(self.clock(), total)
            await self._save(uow.session, job)
            await uow.commit()
        log.info("job %s (%s) started: %s items", job.id, job.kind, total if total is not None else "?")
        return job

    async def _chunk(self, expected: Job) -> Job:
        kind = self.kinds[expected.kind]
        async with self.uow_factory() as uow:
            job = await self._locked_row(uow.session, expected.id)
            if job is None or job.state is not JobState.RUNNING or job.chunks != expected.chunks:
                raise _LostClaim
            step = await kind.chunk(self._context(job, kind), uow)
            job = job.advance(step, self.clock())
            await self._save(uow.session, job)
            await uow.commit()
        self.executed_chunks += 1
        return job

    async def _fail(self, job_id: uuid.UUID, chunks: int | None, error: str) -> Job:
        """Fail the job, unless another runner moved it on since ``chunks``."""
        async with self.uow_factory() as uow:
            job = await self._locked_row(uow.session, job_id)
            if job is None or job.state.finished or (chunks is not None and job.chunks != chunks):
                raise _LostClaim
            job = job.fail(error, self.clock())
            await self._save(uow.session, job)
            await uow.commit()
        return job

    async def _save(self, session: AsyncSession, job: Job) -> None:
        await session.execute(
            update(self.table)
            .where(self.table.c.id == job.id)
            .values(
                state=job.state.value,
                done=job.done,
                total=job.total,
                failures=job.failures,
                chunks=job.chunks,
                cursor=job.cursor,
                result=dict(job.result),
                error=job.error,
                started_at=job.started_at,
                finished_at=job.finished_at,
                updated_at=func.now(),
            )
        )
