"""After the last reminder: invoices still open when the wait ``collection_after`` is
over (the day after the last reminder's own due date) are collection candidates
(*perintään siirrettävät*), and a hand-over carries the whole claim: principal still
open, the fees and compensation the reminders charged, the penalty interest to the
hand-over date, and the reminder history.

Exclusions use the same codes as reminders (paid, disputed, no_reminders,
below_minimum, too_early; a half-year without a reference rate bears no interest).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.reminders.domain.charges import interest_until
from services.reminders.domain.eligibility import Exclusion
from services.reminders.domain.interest import Period, total
from services.reminders.domain.items import OpenItem, ReminderStep
from services.reminders.domain.messages import reason_text
from services.reminders.domain.policy import Policy
from services.reminders.domain.rates import RateTable
from shared.money import ZERO


@dataclass(frozen=True)
class Claim:
    item: OpenItem
    on: date
    days_overdue: int
    principal: Decimal
    """Still open on the invoice."""
    fees: Decimal
    compensation: Decimal
    interest: Decimal
    periods: tuple[Period, ...]
    reminders: tuple[ReminderStep, ...]

    @property
    def total(self) -> Decimal:
        return self.principal + self.fees + self.compensation + self.interest


CollectionDecision = Claim | Exclusion


def is_near(item: OpenItem, on: date, policy: Policy) -> bool:
    return not item.handed_over and item.reminder(policy.levels) is not None


def decide(item: OpenItem, on: date, policy: Policy, rates: RateTable) -> CollectionDecision:
    """Claim or exclusion for an item whose last-level reminder was made."""
    level = policy.levels
    days_overdue = (on - item.due_date).days

    def excluded(reason: str, at: date | None = None, **values: object) -> Exclusion:
        return Exclusion(item, level, reason, reason_text(reason, **values), days_overdue, at)

    last = item.reminder(level)
    if last is None:
        return excluded("not_last_level")
    if item.settled:
        return excluded("paid")
    if item.disputed:
        return excluded("disputed")
    if item.no_reminders:
        return excluded("no_reminders")
    if item.open < policy.min_open_amount:
        return excluded("below_minimum", minimum=f"{policy.min_open_amount:.2f}")
    earliest = policy.collection_after.first_day(last.on)
    if on < earliest:
        return excluded("too_early", earliest, earliest=earliest)
    periods = interest_until(item, on, rates, policy.rules(item.consumer))
    steps = tuple(sorted(item.reminders, key=lambda r: r.level))
    return Claim(
        item=item,
        on=on,
        days_overdue=days_overdue,
        principal=item.open,
        fees=sum((r.fee for r in steps), ZERO),
        compensation=sum((r.compensation for r in steps), ZERO),
        interest=total(periods),
        periods=periods,
        reminders=steps,
    )


def listed(item: OpenItem, on: date, policy: Policy, rates: RateTable) -> CollectionDecision | None:
    if not is_near(item, on, policy):
        return None
    if item.settled:
        settled_on = item.settled_on
        if settled_on is None or on > policy.paid_near_window.last_day(settled_on):
            return None
    return decide(item, on, policy, rates)
