"""The daily ``retention.purge`` job every service runs: it deletes what the service
keeps only for operations, once it is older than the configured retention.

- **Dead letters** (``dead_letter_retention_days``): the original records, personal
  data kept only so that they can be replayed. Deleted when they arrived longer ago
  than the retention, replayed or not; a dead letter younger than that is never
  touched, replayed or not.
- **Finished jobs** (``finished_job_retention_days``): done or failed jobs finished
  longer ago, with the rows only they own (a service names them: a dispatch
  preview's items, an invoicing preview run). Queued and running jobs are never
  touched, however old.
- **Inbox rows** (``inbox_retention_days``): ids of handled events (no personal data),
  kept as long as a handled record may come back.

Each chunk deletes at most ``chunk_size`` rows of one table in one transaction (the
runner's unit of work): short locks, bounded WAL, and a crash loses at most a chunk's
work, which the resumed job does again. The job's result counts what went per table,
and nothing else (no key, no customer number): ``GET /jobs?kind=retention.purge``.

Why the inbox is pruned here and not by a loop in every process (as it was): a job
runs on one replica at a time (its advisory lock) instead of every replica racing for
the same rows every hour, it runs at a quiet hour, and its counts are kept and shown
like every job's. A day between runs adds one day to a 30-day table: nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy import TextClause, text

from shared.db.uow import UnitOfWork
from shared.jobs import JobContext, JobKind, Step
from shared.jobs.runner import JobRunner
from shared.messaging.inbox import PRUNE as PRUNE_INBOX
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

PURGE = "retention.purge"
"""The job kind (its daily key is the date: one run per day, however many replicas)."""

PHASES = ("dead_letters", "finished_jobs", "inbox")

_DEAD_LETTERS = text(
    """
    DELETE FROM dead_letters WHERE id = ANY(ARRAY(
        SELECT id FROM dead_letters WHERE received_at < now() - make_interval(secs => :age)
        ORDER BY id LIMIT :chunk))
    """
)

_FINISHED_JOBS = text(
    """
    DELETE FROM jobs WHERE id = ANY(ARRAY(
        SELECT id FROM jobs
        WHERE state IN ('done', 'failed') AND finished_at < now() - make_interval(secs => :age)
        ORDER BY finished_at LIMIT :chunk FOR UPDATE SKIP LOCKED))
    RETURNING id
    """
)


@dataclass(frozen=True)
class JobRows:
    """Rows that belong to a job and go with it: a statement deleting them for the job
    ids in ``:ids`` (a ``uuid[]``), and the name its count is reported under."""

    name: str
    delete: TextClause


def _params(settings: ServiceSettings) -> Callable[[date], Mapping[str, Any]]:
    def params(run_date: date) -> Mapping[str, Any]:
        return {
            "date": run_date.isoformat(),
            "dead_letter_retention_days": settings.dead_letter_retention_days,
            "finished_job_retention_days": settings.finished_job_retention_days,
            "inbox_retention_days": settings.inbox_retention_days,
        }

    return params


def _age_s(params: Mapping[str, Any], settings: ServiceSettings, name: str) -> float:
    """The retention the job was started with (its params), in seconds."""
    days = params.get(name, getattr(settings, name))
    return float(days) * 86400.0


async def _delete(uow: UnitOfWork, statement: TextClause, params: Mapping[str, Any]) -> int:
    result = await uow.session.execute(statement, params)
    return int(getattr(result, "rowcount", 0) or 0)


def purge_chunk(settings: ServiceSettings, job_rows: Sequence[JobRows]) -> Callable[[JobContext, Any], Any]:
    async def chunk(job: JobContext, uow: UnitOfWork) -> Step:
        """One chunk: at most ``job.chunk_size`` rows of the current phase's table."""
        cursor = job.cursor or {}
        phase = int(cursor.get("phase", 0))
        name = PHASES[phase]
        size = job.chunk_size
        counts: dict[str, int] = {}
        if name == "dead_letters":
            age = _age_s(job.params, settings, "dead_letter_retention_days")
            deleted = await _delete(uow, _DEAD_LETTERS, {"age": age, "chunk": size})
            counts["dead_letters"] = deleted
        elif name == "finished_jobs":
            age = _age_s(job.params, settings, "finished_job_retention_days")
            ids = [r[0] for r in await uow.session.execute(_FINISHED_JOBS, {"age": age, "chunk": size})]
            deleted = len(ids)
            counts["finished_jobs"] = deleted
            for rows in job_rows:
                counts[rows.name] = await _delete(uow, rows.delete, {"ids": ids}) if ids else 0
        else:
            age = _age_s(job.params, settings, "inbox_retention_days")
            deleted = await _delete(uow, PRUNE_INBOX, {"age": age, "chunk": size})
            counts["inbox"] = deleted
        last_phase = phase == len(PHASES) - 1
        phase_done = deleted < size
        next_cursor = {"phase": phase + 1 if phase_done and not last_phase else phase}
        if phase_done:
            log.info("retention purge: %s done", name)
        return Step(done=deleted, cursor=next_cursor, counts=counts, finished=phase_done and last_phase)

    return chunk


def install(
    jobs: JobRunner[Any], settings: ServiceSettings, *, job_rows: Sequence[JobRows] = (), chunk_size: int = 1000
) -> None:
    """Register the ``retention.purge`` job with ``jobs`` and schedule it daily at
    ``retention_purge_at`` (unless ``retention_purge_enabled`` is off). A run started
    by hand (:meth:`JobRunner.start_job`, no params) takes the retentions from settings."""
    jobs.register(JobKind(PURGE, purge_chunk(settings, job_rows), chunk_size=chunk_size))
    if settings.retention_purge_enabled:
        jobs.schedule_daily(PURGE, at=time.fromisoformat(settings.retention_purge_at), params=_params(settings))
