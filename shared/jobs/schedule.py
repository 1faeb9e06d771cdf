"""Daily jobs at a local time (Europe/Helsinki by default): which date is due, when.

A daily job's key is its kind and the local date (``invoicing.billing-run:2026-11-23``),
so however many replicas see it due, one row is created (unique key) and one runner
executes it (advisory lock); triggering the same date again finds that row: a no-op.

Pure: the runner asks :func:`due_date` on every tick and starts what is due.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def _date_params(run_date: date) -> dict[str, Any]:
    return {"date": run_date.isoformat()}


@dataclass(frozen=True)
class DailySchedule:
    """Run job ``kind`` once per local date at local time ``at``.

    ``params`` builds the job's parameters from the run date (default ``{"date": ...}``).
    """

    kind: str
    at: time
    params: Callable[[date], Mapping[str, Any]] = field(default=_date_params)

    def key(self, run_date: date) -> str:
        return run_date.isoformat()


def run_instant(run_date: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of ``at`` on local date ``run_date``.

    DST: a local time that does not exist (the spring gap, 03:00-04:00 in Helsinki on
    the last Sunday of March) runs an hour later by the wall clock; a local time that
    exists twice (the autumn fold) runs at its first occurrence. Either way once.
    """
    # fold=0: in the gap it takes the offset before the change (an hour later by the
    # new wall clock); in the fold, the first occurrence
    local = datetime.combine(run_date, at.replace(tzinfo=None, fold=0), tzinfo=tz)
    return local.astimezone(UTC)


def due_date(now: datetime, at: time, tz: ZoneInfo) -> date:
    """The latest local date whose run instant is at or before ``now`` (UTC-aware).

    A service that was down at the run time starts that date's run when it comes back.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(tz).date()
    if run_instant(today, at, tz) <= now:
        return today
    return today - timedelta(days=1)


def next_run(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The next run instant strictly after ``now`` (UTC)."""
    day = due_date(now, at, tz) + timedelta(days=1)
    return run_instant(day, at, tz)
