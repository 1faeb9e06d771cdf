"""Which invoices get payment reminder #N today, and why the near ones do not.

An invoice is *near* level N when it is overdue and at that step: no reminder yet for
N = 1, reminder N-1 made for N > 1, nothing at N or beyond, not handed over. A near
invoice is either a **candidate** (with the fee, compensation and interest the reminder
would charge) or **excluded** with one reason, checked in this order:

1. ``paid`` - settled (paid, credited, overpaid): listed only when it was settled late
   and within ``paid_near_window``, so the list shows "paid a moment ago", not
   every invoice ever paid;
2. ``disputed`` - the clerk marked the invoice disputed;
3. ``no_reminders`` - the customer's "no reminders" flag;
4. ``below_minimum`` - open amount under ``min_open_amount``;
5. ``too_early`` - before the end of the wait ``first_reminder`` after the due date
   (N = 1) or ``between_reminders`` after reminder N-1's date (N > 1), with the earliest
   date. Both count full days (``policy.toml``): a consumer's #1 on due date + 15, #2
   on #1 + 15 (never on the 14th day, KKV 21.10.2024); a business's + 11 each;

A half-year without a reference rate in the table does not exclude an invoice: its
days bear no interest and the candidate's charges name them (``Charges.uncharged``).

The same function decides in the listing and again inside the transaction that creates
the reminder, so an invoice paid between the two is skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.reminders.domain.charges import Charges, charges
from services.reminders.domain.items import OpenItem
from services.reminders.domain.messages import Text, reason_text
from services.reminders.domain.policy import Policy
from services.reminders.domain.rates import RateTable


@dataclass(frozen=True)
class Candidate:
    item: OpenItem
    level: int
    on: date
    days_overdue: int
    earliest: date
    new_due_date: date
    charges: Charges

    @property
    def total_due(self) -> Decimal:
        return self.charges.total_due(self.item.open)


@dataclass(frozen=True)
class Exclusion:
    item: OpenItem
    level: int
    reason: str
    text: Text
    days_overdue: int
    earliest: date | None = None


Decision = Candidate | Exclusion


def earliest_date(item: OpenItem, level: int, policy: Policy) -> date | None:
    """The first day reminder ``level`` may be made (None: the previous one is missing)."""
    rules = policy.rules(item.consumer)
    if level == 1:
        return rules.first_reminder.first_day(item.due_date)
    previous = item.reminder(level - 1)
    if previous is None:
        return None
    return rules.between_reminders.first_day(previous.on)


def is_near(item: OpenItem, level: int, on: date) -> bool:
    """Overdue and at the step before ``level`` (see the module docstring)."""
    if item.handed_over or on <= item.due_date:
        return False
    if any(r.level >= level for r in item.reminders):
        return False
    return level == 1 or item.reminder(level - 1) is not None


def decide(item: OpenItem, level: int, on: date, policy: Policy, rates: RateTable) -> Decision:
    """Candidate or exclusion for a near item (call :func:`is_near` first)."""
    days_overdue = (on - item.due_date).days

    def excluded(reason: str, at: date | None = None, **values: object) -> Exclusion:
        return Exclusion(item, level, reason, reason_text(reason, **values), days_overdue, at)

    if item.settled:
        return excluded("paid")
    if item.disputed:
        return excluded("disputed")
    if item.no_reminders:
        return excluded("no_reminders")
    if item.open < policy.min_open_amount:
        return excluded("below_minimum", minimum=f"{policy.min_open_amount:.2f}")
    earliest = earliest_date(item, level, policy)
    if earliest is None:
        return excluded("not_reminded_before")
    if on < earliest:
        return excluded("too_early", earliest, earliest=earliest)
    rules = policy.rules(item.consumer)
    charged = charges(item, on, rates, rules)
    new_due = policy.reminder_due.last_day(on)
    return Candidate(item, level, on, days_overdue, earliest, new_due, charged)


def listed(item: OpenItem, level: int, on: date, policy: Policy, rates: RateTable) -> Decision | None:
    """What the candidates list shows for ``item``: None when it is not near, and a
    settled item only when it was settled late and recently (``paid_near_window``)."""
    if not is_near(item, level, on):
        return None
    if item.settled:
        settled_on = item.settled_on
        if settled_on is None or settled_on <= item.due_date or on > policy.paid_near_window.last_day(settled_on):
            return None
    return decide(item, level, on, policy, rates)


def recheck(item: OpenItem | None, level: int, on: date, policy: Policy, rates: RateTable) -> Decision | str:
    """The check inside the creating transaction, for a selected invoice: a candidate,
    an exclusion, or a reason code when it is not near at all (already reminded, not
    at this step, not found, not overdue, handed over)."""
    if item is None:
        return "not_found"
    if item.handed_over:
        return "handed_over"
    if any(r.level >= level for r in item.reminders):
        return "already_reminded"
    if level > 1 and item.reminder(level - 1) is None:
        return "not_reminded_before"
    if on <= item.due_date:
        return "not_overdue"
    return decide(item, level, on, policy, rates)
