"""When a daily job is due: local time in Europe/Helsinki, across the DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from shared.jobs.schedule import DailySchedule, due_date, next_run, run_instant

HELSINKI = ZoneInfo("Europe/Helsinki")


def test_winter_run_is_two_hours_before_utc() -> None:
    assert run_instant(date(2026, 1, 15), time(6, 0), HELSINKI) == datetime(2026, 1, 15, 4, 0, tzinfo=UTC)


def test_summer_run_is_three_hours_before_utc() -> None:
    assert run_instant(date(2026, 7, 15), time(6, 0), HELSINKI) == datetime(2026, 7, 15, 3, 0, tzinfo=UTC)


def test_run_on_the_spring_forward_day_keeps_its_local_time() -> None:
    # 2026-03-29: clocks go 03:00 EET -> 04:00 EEST; 06:00 is summer time already
    assert run_instant(date(2026, 3, 29), time(6, 0), HELSINKI) == datetime(2026, 3, 29, 3, 0, tzinfo=UTC)


def test_time_in_the_spring_gap_runs_an_hour_later_by_the_clock() -> None:
    # 03:30 does not exist on 2026-03-29 in Helsinki: it runs at 04:30 EEST (01:30 UTC)
    instant = run_instant(date(2026, 3, 29), time(3, 30), HELSINKI)
    assert instant == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert instant.astimezone(HELSINKI).time() == time(4, 30)


def test_time_in_the_autumn_fold_runs_at_its_first_occurrence_once() -> None:
    # 2026-10-25: clocks go 04:00 EEST -> 03:00 EET; 03:30 happens twice
    assert run_instant(date(2026, 10, 25), time(3, 30), HELSINKI) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    second_occurrence = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert due_date(second_occurrence, time(3, 30), HELSINKI) == date(2026, 10, 25)  # same date: no second run


def test_before_the_run_time_yesterday_is_due_and_after_it_today() -> None:
    at = time(6, 0)
    assert due_date(datetime(2026, 11, 23, 3, 59, tzinfo=UTC), at, HELSINKI) == date(2026, 11, 22)
    assert due_date(datetime(2026, 11, 23, 4, 0, tzinfo=UTC), at, HELSINKI) == date(2026, 11, 23)


def test_local_date_not_utc_date_names_the_run() -> None:
    # 23:30 UTC on the 22nd is 01:30 on the 23rd in Helsinki
    assert due_date(datetime(2026, 11, 22, 23, 30, tzinfo=UTC), time(1, 0), HELSINKI) == date(2026, 11, 23)


def test_next_run_crosses_into_summer_time() -> None:
    # the day before spring forward, after its run: the next run is on summer time
    after = datetime(2026, 3, 28, 5, 0, tzinfo=UTC)
    assert next_run(after, time(6, 0), HELSINKI) == datetime(2026, 3, 29, 3, 0, tzinfo=UTC)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        due_date(datetime(2026, 11, 23, 6, 0), time(6, 0), HELSINKI)


def test_daily_key_and_default_params_are_the_date() -> None:
    schedule = DailySchedule("invoicing.billing-run", time(6, 0))
    assert schedule.key(date(2026, 11, 23)) == "2026-11-23"
    assert schedule.params(date(2026, 11, 23)) == {"date": "2026-11-23"}
