from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from services.reminders.domain.clock import FixedClock


def test_a_fixed_clock_is_on_its_day_in_helsinki() -> None:
    clock = FixedClock(date(2026, 12, 1))
    assert clock.today() == date(2026, 12, 1)
    assert clock.now().astimezone(ZoneInfo("Europe/Helsinki")).date() == date(2026, 12, 1)
    assert clock.now().utcoffset() is not None
