"""What day it is, as the rules see it: a clock that tests (and a clerk's "as of" date)
can set, so every rule is tested on exact dates.

A reminder's date is a *local* date (Europe/Helsinki): a reminder made at 00:30 on
2 December in Helsinki is dated 2 December even though it is still 1 December in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def today(self) -> date:
        """The local date."""
        ...

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


@dataclass(frozen=True)
class SystemClock:
    timezone: str = "Europe/Helsinki"

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.timezone)).date()

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock:
    """Always the same day (tests, a demo, an environment set to a date). ``now`` is
    that day's local noon, so an ``issued_at`` stays on the same date in any zone
    from UTC-12 to UTC+11."""

    day: date
    timezone: str = "Europe/Helsinki"

    def today(self) -> date:
        return self.day

    def now(self) -> datetime:
        return datetime.combine(self.day, time(12, 0), tzinfo=ZoneInfo(self.timezone)).astimezone(UTC)
