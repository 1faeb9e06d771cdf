"""What a reminder charges besides the open amount: the reminder fee, the business
compensation for recovery costs, and the penalty interest to date.

Fees and compensation (``data/policy.toml`` cites the law for each figure):

- consumer debt: ``fee`` (at most 5 EUR) on every reminder; never a compensation;
- business debt: the creditor's cost of each reminder is ``fee`` (at most 12 EUR); on
  the first reminder the fixed 40 EUR compensation is claimed; with
  ``fees_within_compensation`` (directive 2011/7/EU art. 6(3), CJEU C-287/17) the
  reminders' costs count against those 40 EUR and only what they exceed in total is
  charged as a fee. So with the defaults, a business's reminder #1 charges 40.00
  compensation and 0.00 fee, #2 charges nothing more (2 x 12 = 24 < 40), and a fourth
  would charge 8.00 (4 x 12 = 48, 48 - 40 = 8).

Everything is charged at most once: the amounts already claimed by earlier reminders
are subtracted, so a re-computation gives the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.reminders.domain.interest import Period, penalty_interest, total, unknown_rate_spans
from services.reminders.domain.items import OpenItem, ReminderStep
from services.reminders.domain.policy import DebtorRules
from services.reminders.domain.rates import RateTable
from shared.money import ZERO


@dataclass(frozen=True)
class Charges:
    fee: Decimal
    compensation: Decimal
    interest: Decimal
    periods: tuple[Period, ...]
    uncharged: tuple[tuple[date, date], ...] = ()
    """Days that bore no interest because their half-year's reference rate is not in
    the table yet (see :mod:`~.interest`)."""

    def total_due(self, open_amount: Decimal) -> Decimal:
        return open_amount + self.fee + self.compensation + self.interest


def fee_and_compensation(rules: DebtorRules, earlier: Sequence[ReminderStep]) -> tuple[Decimal, Decimal]:
    """(fee, compensation) of the next reminder after ``earlier`` ones."""
    if rules.compensation <= 0:
        return rules.fee, ZERO
    costs = rules.fee * (len(earlier) + 1)  # the creditor's costs of all reminders so far, this one too
    claimable = max(rules.compensation, costs) if rules.fees_within_compensation else rules.compensation + costs
    claimed = sum((r.fee + r.compensation for r in earlier), ZERO)
    compensation = ZERO if any(r.compensation > 0 for r in earlier) else rules.compensation
    now = max(claimable - claimed, ZERO)
    compensation = min(compensation, now)
    return now - compensation, compensation


def interest_until(item: OpenItem, until: date, rates: RateTable, rules: DebtorRules) -> tuple[Period, ...]:
    """Penalty interest on the item from the day after its due date to ``until``."""
    periods = penalty_interest(
        item.principal,
        item.payments,
        item.due_date,
        until,
        rates=rates,
        margin=rules.interest_margin,
        skip_unknown=True,
    )
    return tuple(periods)


def charges(item: OpenItem, on: date, rates: RateTable, rules: DebtorRules) -> Charges:
    """What the next reminder of ``item``, dated ``on``, charges."""
    earlier = sorted(item.reminders, key=lambda r: r.level)
    fee, compensation = fee_and_compensation(rules, earlier)
    periods = interest_until(item, on, rates, rules)
    return Charges(fee, compensation, total(periods), periods, unknown_rate_spans(item.due_date, on, rates))
