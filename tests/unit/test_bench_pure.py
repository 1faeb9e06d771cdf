"""The pure parts of the whole-pipeline benchmark and the chaos run: the percentile, the
kill schedule, and the workload's expected outcome."""

from __future__ import annotations

import pytest

from tests.bench.chaos import Planned, schedule
from tests.bench.pipeline import percentile
from tests.bench.workload import Expected, broken, cancelled, channel_of


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(10, 0, -1)]  # 10 .. 1, unsorted on purpose
    # p50 of 10 values: rank ceil(10 * 50 / 100) = 5 -> the 5th smallest, 5
    assert percentile(values, 50) == 5.0
    # p99: rank ceil(9.9) = 10 -> the largest, 10; p10: rank 1 -> 1; p0 still rank 1
    assert percentile(values, 99) == 10.0
    assert percentile(values, 10) == 1.0
    assert percentile(values, 0) == 1.0
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_the_kill_schedule_is_a_function_of_the_seed() -> None:
    names = ["customers", "invoicing", "email-1"]
    first = schedule(3, names, 50, interval=4.0, pause=2.0)
    assert first == schedule(3, names, 50, interval=4.0, pause=2.0)  # reproducible
    assert first != schedule(4, names, 50, interval=4.0, pause=2.0)
    assert all(2.0 <= p.gap <= 6.0 and 0.2 <= p.down <= 2.0 and p.name in names for p in first)
    assert {p.name for p in first} == set(names)  # 50 draws over 3 names reach each one
    assert isinstance(first[0], Planned)


def test_the_expected_outcome_follows_the_rules() -> None:
    # 40 customers: e-mail are i % 20 < 12, broken when also i % 25 == 1 -> i = 1 only
    # (26 % 20 = 6 is e-mail too: 26 % 25 = 1 -> broken as well): customers 1 and 26
    assert [i for i in range(40) if broken(i)] == [1, 26]
    assert [channel_of(i) for i in (0, 11, 12, 16, 17, 19)] == [
        "email",
        "email",
        "einvoice",
        "einvoice",
        "print",
        "print",
    ]
    # 80 requests, request j for customer j % 40: cancelled j % 97 == 5 -> j = 5 only
    assert [j for j in range(80) if cancelled(j)] == [5]
    exp = Expected.of(80, 40)
    # error: requests of customers 1 and 26 (j = 1, 41, 26, 66) = 4; cancelled 1 (j = 5,
    # customer 5, who keeps j = 45); invoiced 80 - 4 - 1 = 75; invoices: 40 - 2 broken = 38
    assert (exp.error, exp.cancelled, exp.invoiced, exp.invoices) == (4, 1, 75, 38)
    # channels of the 38: e-mail 24 per 40 minus the 2 broken = 22, e-invoice 10, print 6
    assert exp.invoices_per_channel == {"email": 22, "einvoice": 10, "print": 6}
