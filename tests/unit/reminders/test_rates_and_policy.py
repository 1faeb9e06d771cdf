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
min_open_amount = "5.00"
day_count = "act/365"
reminder_due = {{ days = 14, counting = "inclusive", source = "HOUSE" }}
collection_after = {{ days = 14, counting = "exclusive", source = "HOUSE" }}
paid_near_window = {{ days = 30, counting = "inclusive", source = "HOUSE" }}
[policy.consumer]
fee = "{consumer_fee}"
fee_cap = "5.00"
interest_margin = "7.0"
compensation = "{consumer_compensation}"
compensation_cap = "{consumer_compensation_cap}"
first_reminder = {consumer_first}
between_reminders = {consumer_between}
[policy.business]
fee = "{business_fee}"
fee_cap = "12.00"
interest_margin = "8.0"
compensation = "40.00"
compensation_cap = "40.00"
first_reminder = {{ days = 10, counting = "exclusive", source = "HOUSE" }}
between_reminders = {business_between}
"""
CONSUMER_WAIT = '{ days = 14, counting = "exclusive", source = "KKV-2024" }'
BUSINESS_WAIT = '{ days = 10, counting = "exclusive", source = "L299-2022" }'


def policy_text(
    consumer_fee: str = "5.00",
    business_fee: str = "12.00",
    consumer_compensation: str = "0.00",
    consumer_compensation_cap: str = "0.00",
    consumer_first: str = CONSUMER_WAIT,
    consumer_between: str = CONSUMER_WAIT,
    business_between: str = BUSINESS_WAIT,
) -> str:
    return POLICY_TOML.format(
        consumer_fee=consumer_fee,
        business_fee=business_fee,
        consumer_compensation=consumer_compensation,
        consumer_compensation_cap=consumer_compensation_cap,
        consumer_first=consumer_first,
        consumer_between=consumer_between,
        business_between=business_between,
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
    assert policy.levels == 2


def test_every_time_rule_of_the_default_policy_says_how_it_counts_and_what_it_follows() -> None:
    policy = default_policy().at(date(2026, 11, 23))
    rules = {
        "reminder_due": policy.reminder_due,
        "collection_after": policy.collection_after,
        "paid_near_window": policy.paid_near_window,
        **{f"{kind}.{name}": getattr(policy.rules(kind == "consumer"), name)
           for kind in ("consumer", "business") for name in ("first_reminder", "between_reminders")},
    }  # fmt: skip
    for name, rule in rules.items():
        assert rule.counting in ("exclusive", "inclusive"), name
        assert rule.source.strip(), name
    # every wait before a letter is counted in full days: the Nth day is never the day
    waits = {k: r for k, r in rules.items() if k.endswith("_reminder") or k.endswith("_reminders")}
    assert {k: (r.days, r.counting) for k, r in waits.items()} == {
        "consumer.first_reminder": (14, "exclusive"),
        "consumer.between_reminders": (14, "exclusive"),
        "business.first_reminder": (10, "exclusive"),
        "business.between_reminders": (10, "exclusive"),
    }
    assert (policy.collection_after.days, policy.collection_after.counting) == (14, "exclusive")


def test_the_default_policys_dates_worked_by_hand() -> None:
    policy = default_policy().at(date(2026, 3, 1))
    # consumer: due 16.3. -> #1 31.3. (30.3. is the 14th day); #1 31.3. -> #2 15.4. (not 14.4.)
    assert policy.consumer.first_reminder.first_day(date(2026, 3, 16)) == date(2026, 3, 31)
    assert policy.consumer.between_reminders.first_day(date(2026, 3, 31)) == date(2026, 4, 15)
    # business: due 16.3. -> #1 27.3.; #1 27.3. -> #2 7.4.
    assert policy.business.first_reminder.first_day(date(2026, 3, 16)) == date(2026, 3, 27)
    assert policy.business.between_reminders.first_day(date(2026, 3, 27)) == date(2026, 4, 7)
    # a reminder of 31.3. is due 14.4. (paying on it is in time); hand-over the day after: 15.4.
    assert policy.reminder_due.last_day(date(2026, 3, 31)) == date(2026, 4, 14)
    assert policy.collection_after.first_day(date(2026, 3, 31)) == date(2026, 4, 15)
    # settled 1.4. -> listed as "paid" through 1.5.
    assert policy.paid_near_window.last_day(date(2026, 4, 1)) == date(2026, 5, 1)


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ('{ days = 14, source = "KKV-2024" }', "counting is missing"),
        ('{ days = 14, counting = "exclusive" }', "source is missing"),
        ('{ days = 14, counting = "exclusive", source = " " }', "source must name"),
        ('{ days = 14, counting = "full", source = "KKV-2024" }', "counting must be"),
        ("14", "must be a table"),  # the old form, which said nothing about how it counts
        ('{ days = 14, counting = "inclusive", source = "KKV-2024" }', "the law needs 14"),  # #2 on the 14th day
        ('{ days = 13, counting = "exclusive", source = "KKV-2024" }', "the law needs 14"),
    ],
)
def test_a_consumer_wait_that_does_not_say_how_it_counts_or_is_too_short_is_refused(rule: str, says: str) -> None:
    with pytest.raises(PolicyError, match=says):
        load_policy(policy_text(consumer_between=rule))


def test_a_consumer_first_reminder_on_the_14th_day_is_refused() -> None:
    with pytest.raises(PolicyError, match="first_reminder"):
        load_policy(policy_text(consumer_first='{ days = 14, counting = "inclusive", source = "L513-10a" }'))


def test_a_business_reminder_on_the_10th_day_after_the_previous_is_refused() -> None:
    with pytest.raises(PolicyError, match="the law needs 10"):
        load_policy(policy_text(business_between='{ days = 10, counting = "inclusive", source = "L299-2022" }'))


def test_a_stale_key_is_refused_not_ignored() -> None:
    text = policy_text().replace("[policy.consumer]\n", "[policy.consumer]\nmin_days_between = 14\n")
    with pytest.raises(PolicyError, match="unknown keys"):
        load_policy(text)


def test_a_hand_over_on_the_last_reminders_due_date_is_refused() -> None:
    text = policy_text().replace(
        'collection_after = { days = 14, counting = "exclusive"',
        'collection_after = { days = 14, counting = "inclusive"',
    )
    with pytest.raises(PolicyError, match="collection_after"):
        load_policy(text)


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
