"""Penalty interest (*viivästyskorko*) under the Interest Act 633/1982.

- From the day after the due date (section 4(1): interest runs "from the due date",
  the due date itself being the last day to pay) up to and including the day it is
  computed for (the reminder's date, the hand-over date).
- Rate: the half-year's reference rate (``rates.py``) + the margin (7 points, or 8 for
  business debtors, section 4 a); a stretch of days that crosses 1 January or 1 July
  is split, each part at its own half-year's rate.
- On the balance of each day: a payment made on day D still bears interest on D (it
  reduces the balance from D + 1); a credit note corrects what was owed from the start
  (the amount was never due), so it lowers the principal for every day.
- Day count: actual days / 365, also in leap years (``act/365``; the Act prescribes
  none, this is the common Finnish practice). Each period's amount is rounded to the
  cent (half away from zero, ``shared.money.cents``); the interest is the sum of the
  rounded periods, so the periods printed on a reminder add up to its total. A new
  period starts at each half-year (its own rate, even when equal to the last one) and
  after each payment (a new balance).
- A half-year whose reference rate is not in the table yet (the Bank of Finland
  publishes it at the turn of the half-year): with ``skip_unknown`` its days bear no
  interest and :func:`unknown_rate_spans` names them, so a reminder is still made and
  says which days it did not charge; never a guessed rate, never an overcharge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from services.reminders.domain.rates import RateTable, half_year
from shared.money import ZERO, cents

YEAR_DAYS = Decimal(365)
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Payment:
    on: date
    amount: Decimal


@dataclass(frozen=True)
class Period:
    """One stretch of days at one rate and one balance."""

    start: date
    end: date
    """Inclusive."""
    days: int
    rate: Decimal
    """Annual percent: reference rate + margin."""
    principal: Decimal
    amount: Decimal


def penalty_interest(
    principal: Decimal,
    payments: Sequence[Payment],
    due: date,
    until: date,
    *,
    rates: RateTable,
    margin: Decimal,
    skip_unknown: bool = False,
) -> list[Period]:
    """The interest periods from ``due + 1`` to ``until`` (inclusive) on ``principal``
    less the payments made before each day. Raises :class:`~.rates.RateMissing` when a
    half-year on the way has no reference rate."""
    periods: list[Period] = []
    day = due + ONE_DAY
    ordered = sorted(payments, key=lambda p: p.on)
    while day <= until:
        balance = principal - sum((p.amount for p in ordered if p.on < day), ZERO)
        # the stretch ends at the half-year's end, the day of the next payment (its
        # balance still holds that day), or ``until``, whichever comes first
        end = min(half_year(day)[1], until)
        next_payment = next((p.on for p in ordered if p.on >= day), None)
        if next_payment is not None and next_payment < end:
            end = next_payment
        days = (end - day).days + 1
        if balance > 0 and not (skip_unknown and not rates.has(day)):
            rate = rates.at(day).reference + margin
            amount = cents(balance * rate / 100 * days / YEAR_DAYS)
            periods.append(Period(day, end, days, rate, balance, amount))
        day = end + ONE_DAY
    return periods


def unknown_rate_spans(due: date, until: date, rates: RateTable) -> tuple[tuple[date, date], ...]:
    """The stretches of ``due + 1 .. until`` in half-years without a reference rate."""
    spans: list[tuple[date, date]] = []
    day = due + ONE_DAY
    while day <= until:
        end = min(half_year(day)[1], until)
        if not rates.has(day):
            spans.append((day, end))
        day = end + ONE_DAY
    return tuple(spans)


def total(periods: Sequence[Period]) -> Decimal:
    return sum((p.amount for p in periods), ZERO)
