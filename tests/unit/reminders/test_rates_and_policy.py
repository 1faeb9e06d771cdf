"""The dated data: the reference-rate table as the Bank of Finland published it, the
section 12 rounding, and a policy refused when it would charge over the legal caps."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.reminders.domain.policy import PolicyError, PolicyMissing, default_policy, load_policy
from services.reminders.domain.rates import (
    RateDataError,
    RateMissing,
    default_rates,
    half_year,
    load_rates,
    round_up_half,
)

ROW = '[[rate]]\nstart = 2026-01-01\nend = {end}\nreference = "2.5"\nbasis = "announced"\nsource = "x"\n'

POLICY_TOML = """
[[policy]]
valid_from = 2022-05-01
levels = 2
reminder_due_days = 14
min_open_amount = "5.00"
collection_after_days = 14
paid_near_window_days = 30
day_count = "act/365"
[policy.consumer]
fee = "{consumer_fee}"
fee_cap = "5.00"
first_after_due_days = 15
min_days_between = 14
interest_margin = "7.0"
compensation = "{consumer_compensation}"
compensation_cap = "{consumer_compensation_cap}"
[policy.business]
fee = "{business_fee}"
fee_cap = "12.00"
first_after_due_days = 10
min_days_between = 10
interest_margin = "8.0"
compensation = "40.00"
compensation_cap = "40.00"
"""


def policy_text(
    consumer_fee: str = "5.00",
    business_fee: str = "12.00",
    consumer_compensation: str = "0.00",
    consumer_compensation_cap: str = "0.00",
) -> str:
    return POLICY_TOML.format(
        consumer_fee=consumer_fee,
        business_fee=business_fee,
        consumer_compensation=consumer_compensation,
        consumer_compensation_cap=consumer_compensation_cap,
    )


@pytest.mark.parametrize(
    ("day", "reference"),
    [
        # the figures the issue lists, as the Bank of Finland published them
        (date(2023, 1, 1), "2.5"),
        (date(2023, 6, 30), "2.5"),
        (date(2023, 7, 1), "4.0"),
        (date(2024, 3, 15), "4.5"),
        (date(2024, 12, 31), "4.5"),
        (date(2025, 1, 1), "3.5"),
        (date(2025, 9, 1), "2.5"),
        (date(2026, 1, 1), "2.5"),
        (date(2026, 6, 30), "2.5"),
        (date(2022, 12, 31), "0.0"),
    ],
)
def test_reference_rate_of_each_half_year(day: date, reference: str) -> None:
    assert default_rates().at(day).reference == Decimal(reference)


def test_a_half_year_not_in_the_table_is_never_guessed() -> None:
    with pytest.raises(RateMissing) as missing:
        default_rates().at(date(2026, 7, 1))
    assert (missing.value.start, missing.value.end) == (date(2026, 7, 1), date(2026, 12, 31))


def test_a_half_year_can_be_added_from_settings_but_not_replaced() -> None:
    text = ROW.format(end="2026-06-30")
    table = load_rates(text, {date(2026, 7, 1): Decimal("3.0")})
    assert table.at(date(2026, 11, 23)).reference == Decimal("3.0")
    assert table.at(date(2026, 11, 23)).basis == "settings"
    with pytest.raises(RateDataError):
        load_rates(text, {date(2026, 1, 1): Decimal("3.0")})
    with pytest.raises(RateDataError):
        load_rates(text, {date(2026, 8, 1): Decimal("3.0")})  # not a half-year's first day


def test_a_row_that_is_not_a_half_year_is_refused() -> None:
    text = ROW.format(end="2026-05-31")
    with pytest.raises(RateDataError):
        load_rates(text)


@pytest.mark.parametrize(
    ("ecb", "reference"),
    [("2.15", "2.5"), ("4.25", "4.5"), ("3.15", "3.5"), ("4.50", "4.5"), ("4.00", "4.0"), ("0.00", "0.0")],
)
def test_section_12_rounds_the_ecb_rate_up_to_the_next_half_point(ecb: str, reference: str) -> None:
    assert round_up_half(Decimal(ecb)) == Decimal(reference)


def test_the_derived_2025_h2_row_is_the_ecb_rate_rounded_up() -> None:
    row = default_rates().at(date(2025, 7, 1))
    assert row.basis == "derived"
    assert row.reference == round_up_half(Decimal("2.15"))  # ECB MRO from 11.6.2025


def test_half_years() -> None:
    assert half_year(date(2026, 6, 30)) == (date(2026, 1, 1), date(2026, 6, 30))
    assert half_year(date(2026, 7, 1)) == (date(2026, 7, 1), date(2026, 12, 31))


def test_the_default_policy_follows_the_law() -> None:
    policy = default_policy().at(date(2026, 11, 23))
    assert (policy.consumer.fee, policy.business.fee) == (Decimal("5.00"), Decimal("12.00"))
    assert (policy.consumer.compensation, policy.business.compensation) == (Decimal("0.00"), Decimal("40.00"))
    assert (policy.consumer.interest_margin, policy.business.interest_margin) == (Decimal("7.0"), Decimal("8.0"))
    assert (policy.consumer.first_after_due_days, policy.consumer.min_days_between) == (15, 14)
    assert policy.business.min_days_between == 10
    assert policy.levels == 2


def test_no_policy_before_the_2022_amendment() -> None:
    with pytest.raises(PolicyMissing):
        default_policy().at(date(2022, 4, 30))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"consumer_fee": "5.01"},  # over the 5 EUR cap of 513/1999 section 10 a
        {"business_fee": "12.01"},  # over the 12 EUR cap of 299/2022
        {"consumer_compensation": "40.00", "consumer_compensation_cap": "40.00"},  # never for consumers
        {"consumer_fee": "4.999"},  # not an amount in cents
    ],
)
def test_a_policy_over_the_legal_caps_is_refused(kwargs: dict[str, str]) -> None:
    with pytest.raises(PolicyError):
        load_policy(policy_text(**kwargs))


def test_a_policy_at_the_caps_loads() -> None:
    book = load_policy(policy_text())
    assert book.at(date(2026, 1, 1)).consumer.fee == Decimal("5.00")
