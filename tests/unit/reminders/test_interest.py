"""Penalty interest on exact dates: day count, the rate change at a half-year boundary,
partial payments, credit notes, a leap year. Every expected amount is worked by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.reminders.domain.interest import Payment, penalty_interest, total
from services.reminders.domain.rates import RateMissing, default_rates

RATES = default_rates()
D = Decimal


def test_interest_runs_from_the_day_after_the_due_date_to_the_day_inclusive() -> None:
    # due 2.3.2026, computed for 17.3.2026: 3.3.-17.3. = 15 days at 2.5 + 7 = 9.5 %
    # 1000.00 * 9.5 / 100 * 15 / 365 = 1425 / 365 = 3.9041... -> 3.90
    (period,) = penalty_interest(D("1000.00"), [], date(2026, 3, 2), date(2026, 3, 17), rates=RATES, margin=D("7"))
    assert (period.start, period.end, period.days, period.rate, period.amount) == (
        date(2026, 3, 3),
        date(2026, 3, 17),
        15,
        D("9.5"),
        D("3.90"),
    )


def test_no_interest_on_the_due_date_itself() -> None:
    assert penalty_interest(D("1000.00"), [], date(2026, 3, 2), date(2026, 3, 2), rates=RATES, margin=D("7")) == []


def test_each_half_year_at_its_own_rate_consumer() -> None:
    # due 20.6.2025, until 10.7.2025
    # 21.6.-30.6. 10 days at 3.5 + 7 = 10.5 %: 1000 * 0.105 * 10 / 365 = 1050 / 365 = 2.8767 -> 2.88
    # 1.7.-10.7.  10 days at 2.5 + 7 =  9.5 %: 1000 * 0.095 * 10 / 365 =  950 / 365 = 2.6027 -> 2.60
    periods = penalty_interest(D("1000.00"), [], date(2025, 6, 20), date(2025, 7, 10), rates=RATES, margin=D("7"))
    assert [(p.start, p.end, p.days, p.rate, p.amount) for p in periods] == [
        (date(2025, 6, 21), date(2025, 6, 30), 10, D("10.5"), D("2.88")),
        (date(2025, 7, 1), date(2025, 7, 10), 10, D("9.5"), D("2.60")),
    ]
    assert total(periods) == D("5.48")


def test_each_half_year_at_its_own_rate_business() -> None:
    # the same days at + 8 points: 11.5 % -> 1150 / 365 = 3.1507 -> 3.15; 10.5 % -> 2.8767 -> 2.88
    periods = penalty_interest(D("1000.00"), [], date(2025, 6, 20), date(2025, 7, 10), rates=RATES, margin=D("8"))
    assert [p.amount for p in periods] == [D("3.15"), D("2.88")]
    assert total(periods) == D("6.03")


def test_equal_rates_on_both_sides_of_a_boundary_are_still_two_periods() -> None:
    # 2024 H1 and H2 are both 4.5 %: 26.6.-30.6. 5 days and 1.7.-5.7. 5 days at 11.5 %
    # 1000 * 0.115 * 5 / 365 = 575 / 365 = 1.5753 -> 1.58 each
    periods = penalty_interest(D("1000.00"), [], date(2024, 6, 25), date(2024, 7, 5), rates=RATES, margin=D("7"))
    assert [(p.days, p.amount) for p in periods] == [(5, D("1.58")), (5, D("1.58"))]


def test_a_partial_payment_lowers_the_balance_from_the_next_day() -> None:
    # due 2.3.2026; 400.00 paid on 10.3.; until 20.3. at 9.5 %
    # 3.3.-10.3.  8 days on 1000.00: 1000 * 0.095 * 8 / 365 = 760 / 365 = 2.0822 -> 2.08
    # 11.3.-20.3. 10 days on 600.00:  600 * 0.095 * 10 / 365 = 570 / 365 = 1.5616 -> 1.56
    periods = penalty_interest(
        D("1000.00"),
        [Payment(date(2026, 3, 10), D("400.00"))],
        date(2026, 3, 2),
        date(2026, 3, 20),
        rates=RATES,
        margin=D("7"),
    )
    assert [(p.start, p.end, p.principal, p.amount) for p in periods] == [
        (date(2026, 3, 3), date(2026, 3, 10), D("1000.00"), D("2.08")),
        (date(2026, 3, 11), date(2026, 3, 20), D("600.00"), D("1.56")),
    ]
    assert total(periods) == D("3.64")


def test_a_payment_before_the_due_date_lowers_every_day() -> None:
    # 300.00 paid on 1.3., due 2.3.: 700.00 from the first day of interest
    # 3.3.-17.3. 15 days: 700 * 0.095 * 15 / 365 = 997.5 / 365 = 2.7329 -> 2.73
    periods = penalty_interest(
        D("1000.00"),
        [Payment(date(2026, 3, 1), D("300.00"))],
        date(2026, 3, 2),
        date(2026, 3, 17),
        rates=RATES,
        margin=D("7"),
    )
    assert [(p.principal, p.amount) for p in periods] == [(D("700.00"), D("2.73"))]


def test_paid_in_full_leaves_no_interest_after_the_payment_day() -> None:
    # 1000.00 paid on 5.3.: 3.3.-5.3. 3 days: 1000 * 0.095 * 3 / 365 = 285 / 365 = 0.7808 -> 0.78
    periods = penalty_interest(
        D("1000.00"),
        [Payment(date(2026, 3, 5), D("1000.00"))],
        date(2026, 3, 2),
        date(2026, 3, 20),
        rates=RATES,
        margin=D("7"),
    )
    assert [(p.days, p.amount) for p in periods] == [(3, D("0.78"))]


def test_act_365_also_in_a_leap_year() -> None:
    # due 20.2.2024, until 1.3.2024: 21.2.-29.2. is 9 days, 1.3. the 10th; 4.5 + 7 = 11.5 %
    # 1000 * 0.115 * 10 / 365 = 1150 / 365 = 3.1507 -> 3.15 (not / 366)
    (period,) = penalty_interest(D("1000.00"), [], date(2024, 2, 20), date(2024, 3, 1), rates=RATES, margin=D("7"))
    assert (period.days, period.amount) == (10, D("3.15"))


def test_rounding_half_away_from_zero_per_period() -> None:
    # 73.00 * 10 % (2.5 + 7.5 margin) * 1 / 365 = 0.02 exactly; 36.50 * 10 % / 365 = 0.01 exactly;
    # 18.25 * 10 % / 365 = 0.005 -> 0.01 (half away from zero, not to even)
    (period,) = penalty_interest(D("18.25"), [], date(2026, 3, 2), date(2026, 3, 3), rates=RATES, margin=D("7.5"))
    assert period.amount == D("0.01")


def test_a_missing_half_year_is_an_error_not_zero() -> None:
    with pytest.raises(RateMissing):
        penalty_interest(D("1000.00"), [], date(2026, 6, 20), date(2026, 7, 2), rates=RATES, margin=D("7"))
