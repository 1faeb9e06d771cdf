"""The reminder policy (*maksumuistutus*) as dated data: fees, timing, interest margins,
the 40 EUR compensation, levels, the minimum amount. The figures and the laws they
come from are in ``data/policy.toml`` (each line cites its source); this module loads
them, checks them against the legal caps, and picks the policy valid on a date.

Why data and not constants: the law changes (299/2022 added the 14-day condition for a
consumer's reminder fee and the 12 EUR business cap from 1 May 2022), and a reminder
made on a date must follow the rules of that date, also when re-computed later.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any


class PolicyError(ValueError):
    """The policy data is not valid (checked at start): the message says what."""


class PolicyMissing(LookupError):
    """No policy is valid on the date asked for."""

    def __init__(self, day: date) -> None:
        super().__init__(f"no reminder policy is valid on {day.isoformat()}")
        self.day = day


@dataclass(frozen=True)
class DebtorRules:
    """The rules for one kind of debtor: consumer or business."""

    fee: Decimal
    """Charged per reminder (the creditor's cost of one reminder)."""
    fee_cap: Decimal
    first_after_due_days: int
    """Reminder #1 on due date + this many days at the earliest."""
    min_days_between: int
    """Reminder #n+1 at least this many days after reminder #n."""
    interest_margin: Decimal
    """Points over the reference rate (Interest Act section 4: 7; section 4 a: 8)."""
    compensation: Decimal = Decimal("0.00")
    """Fixed compensation for recovery costs, once per invoice (business: 40 EUR)."""
    compensation_cap: Decimal = Decimal("0.00")
    fees_within_compensation: bool = True
    """Fees count against the compensation; only what exceeds it is charged
    (directive 2011/7/EU art. 6(3), CJEU C-287/17)."""


@dataclass(frozen=True)
class Policy:
    valid_from: date
    valid_to: date | None
    levels: int
    reminder_due_days: int
    min_open_amount: Decimal
    collection_after_days: int
    paid_near_window_days: int
    day_count: str
    consumer: DebtorRules
    business: DebtorRules

    def rules(self, consumer: bool) -> DebtorRules:
        return self.consumer if consumer else self.business

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class PolicyBook:
    """Policies over time, without overlap."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        self.policies = sorted(policies, key=lambda p: p.valid_from)
        if not self.policies:
            raise PolicyError("no policy")
        for before, after in zip(self.policies, self.policies[1:], strict=False):
            if before.valid_to is None or before.valid_to >= after.valid_from:
                raise PolicyError(f"policies from {before.valid_from} and {after.valid_from} overlap")

    def at(self, day: date) -> Policy:
        for policy in reversed(self.policies):
            if policy.covers(day):
                return policy
        raise PolicyMissing(day)


def _money(row: Mapping[str, Any], key: str) -> Decimal:
    value = Decimal(str(row[key]))
    if value < 0 or value != value.quantize(Decimal("0.01")):
        raise PolicyError(f"{key} must be an amount >= 0 with at most two decimals")
    return value


def _days(row: Mapping[str, Any], key: str, low: int = 0, high: int = 365) -> int:
    value = row[key]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise PolicyError(f"{key} must be a whole number of days {low}..{high}")
    return value


def _rules(row: Mapping[str, Any], where: str) -> DebtorRules:
    try:
        rules = DebtorRules(
            fee=_money(row, "fee"),
            fee_cap=_money(row, "fee_cap"),
            first_after_due_days=_days(row, "first_after_due_days", 1),
            min_days_between=_days(row, "min_days_between", 1),
            interest_margin=Decimal(str(row["interest_margin"])),
            compensation=_money(row, "compensation"),
            compensation_cap=_money(row, "compensation_cap"),
            fees_within_compensation=bool(row.get("fees_within_compensation", True)),
        )
    except KeyError as missing:
        raise PolicyError(f"{where}: {missing.args[0]} is missing") from None
    except PolicyError as bad:
        raise PolicyError(f"{where}: {bad}") from None
    if rules.fee > rules.fee_cap:
        raise PolicyError(f"{where}: fee {rules.fee} exceeds the legal cap {rules.fee_cap}")
    if rules.compensation > rules.compensation_cap:
        raise PolicyError(f"{where}: compensation {rules.compensation} exceeds the legal cap {rules.compensation_cap}")
    if not Decimal(0) <= rules.interest_margin <= Decimal(20):
        raise PolicyError(f"{where}: interest_margin out of range")
    return rules


def _policy(row: Mapping[str, Any]) -> Policy:
    where = f"policy from {row.get('valid_from')!s}"
    try:
        policy = Policy(
            valid_from=row["valid_from"],
            valid_to=row.get("valid_to"),
            levels=_days(row, "levels", 1, 9),
            reminder_due_days=_days(row, "reminder_due_days", 1),
            min_open_amount=_money(row, "min_open_amount"),
            collection_after_days=_days(row, "collection_after_days", 0),
            paid_near_window_days=_days(row, "paid_near_window_days", 0),
            day_count=str(row["day_count"]),
            consumer=_rules(row["consumer"], f"{where}, consumer"),
            business=_rules(row["business"], f"{where}, business"),
        )
    except KeyError as missing:
        raise PolicyError(f"{where}: {missing.args[0]} is missing") from None
    except PolicyError as bad:
        raise PolicyError(f"{where}: {bad}") from None
    if not isinstance(policy.valid_from, date) or not isinstance(policy.valid_to, date | None):
        raise PolicyError(f"{where}: valid_from / valid_to must be dates")
    if policy.day_count != "act/365":
        raise PolicyError(f"{where}: day_count {policy.day_count!r} is not supported (act/365)")
    if policy.consumer.compensation != 0:
        raise PolicyError(f"{where}: consumers are never charged the compensation (513/1999 section 10 e)")
    return policy


def load_policy(text: str) -> PolicyBook:
    try:
        rows = tomllib.loads(text).get("policy", [])
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy: {exc}") from None
    return PolicyBook(_policy(r) for r in rows)


def default_policy() -> PolicyBook:
    text = resources.files("services.reminders.domain").joinpath("data/policy.toml").read_text("utf-8")
    return load_policy(text)
