"""The reminder policy (*maksumuistutus*) as dated data: fees, timing, interest margins,
the 40 EUR compensation, levels, the minimum amount. The figures and the laws they
come from are in ``data/policy.toml`` (each line cites its source); this module loads
them, checks them against the legal caps, and picks the policy valid on a date.

Why data and not constants: the law changes (299/2022 added the 14-day condition for a
consumer's reminder fee and the 12 EUR business cap from 1 May 2022), and a reminder
made on a date must follow the rules of that date, also when re-computed later.

Every time rule is a :class:`DayRule`: its days, whether the day ``days`` after the
start is the rule's day (``inclusive``) or not (``exclusive``: ``days`` full days lie
between), and the law or guidance it follows. The loader refuses a rule that does not
say both, and a consumer's or business's wait shorter than the law allows (the Consumer
Ombudsman's reading: a reminder may not go out on the 14th day after the due date or
the previous letter, KKV 21.10.2024), so a typo cannot send a fee-bearing letter early.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any, Literal

Counting = Literal["exclusive", "inclusive"]
COUNTINGS: tuple[Counting, ...] = ("exclusive", "inclusive")

LEGAL_MIN_FULL_DAYS = {"consumer": 14, "business": 10}
"""The fewest full days a reminder may follow the due date (consumer) or the previous
reminder (both): 513/1999 section 10 a and KKV 10/2023 section 2.10 (14 full days after
the due date), KKV 21.10.2024 (14 full days between letters), 299/2022 (10 days between
a business's reminders, counted the same way). A policy asking for less is refused."""


class PolicyError(ValueError):
    """The policy data is not valid (checked at start): the message says what."""


class PolicyMissing(LookupError):
    """No policy is valid on the date asked for."""

    def __init__(self, day: date) -> None:
        super().__init__(f"no reminder policy is valid on {day.isoformat()}")
        self.day = day


@dataclass(frozen=True)
class DayRule:
    """A wait or a window of ``days`` days from a start date, with how they count.

    ``exclusive``: the day ``days`` after the start is not the rule's day - a wait is
    over only the day after it (``days`` full days lie between), a window ends the day
    before it. ``inclusive``: that day is the rule's day - the first day a wait allows,
    the last day of a window or a due date."""

    days: int
    counting: Counting
    source: str
    """The law or guidance the rule follows (codes of ``policy.toml``; HOUSE: why)."""

    def first_day(self, start: date) -> date:
        """A wait: the first day allowed after ``start`` (14 exclusive: 31.3. -> 15.4.)."""
        return start + timedelta(days=self.days + (1 if self.counting == "exclusive" else 0))

    def last_day(self, start: date) -> date:
        """A window or a due date: its last day (14 inclusive: 31.3. -> 14.4.)."""
        return start + timedelta(days=self.days - (1 if self.counting == "exclusive" else 0))

    @property
    def full_days(self) -> int:
        """Whole days that lie between ``start`` and :meth:`first_day`."""
        return self.days if self.counting == "exclusive" else self.days - 1


@dataclass(frozen=True)
class DebtorRules:
    """The rules for one kind of debtor: consumer or business."""

    fee: Decimal
    """Charged per reminder (the creditor's cost of one reminder)."""
    fee_cap: Decimal
    first_reminder: DayRule
    """The wait from the due date to reminder #1 (:meth:`DayRule.first_day`)."""
    between_reminders: DayRule
    """The wait from reminder #n to reminder #n+1 (:meth:`DayRule.first_day`)."""
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
    reminder_due: DayRule
    """A reminder's new due date: :meth:`DayRule.last_day` of the reminder's date."""
    min_open_amount: Decimal
    collection_after: DayRule
    """The wait from the last reminder to the hand-over (:meth:`DayRule.first_day`)."""
    paid_near_window: DayRule
    """How long an invoice settled late is listed as "paid" (:meth:`DayRule.last_day`)."""
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


def _day_rule(row: Mapping[str, Any], key: str) -> DayRule:
    """A time rule: ``{ days, counting, source }``, each required."""
    value = row[key]
    if not isinstance(value, Mapping):
        raise PolicyError(f"{key} must be a table {{ days, counting, source }} that says how its days count")
    unknown = set(value) - {"days", "counting", "source"}
    if unknown:
        raise PolicyError(f"{key}: unknown keys {sorted(unknown)}")
    for needed in ("days", "counting", "source"):
        if needed not in value:
            raise PolicyError(f"{key}: {needed} is missing (every time rule says how it counts and what it follows)")
    counting, source = value["counting"], value["source"]
    if counting not in COUNTINGS:
        raise PolicyError(f"{key}: counting must be 'exclusive' or 'inclusive', not {counting!r}")
    if not isinstance(source, str) or not source.strip():
        raise PolicyError(f"{key}: source must name the law, guidance or house reason the rule follows")
    return DayRule(days=_days(value, "days", 1), counting=counting, source=source.strip())


def _legal_waits(rules: DebtorRules, kind: str) -> None:
    least = LEGAL_MIN_FULL_DAYS[kind]
    waits = [("between_reminders", rules.between_reminders)]
    if kind == "consumer":
        waits.insert(0, ("first_reminder", rules.first_reminder))
    for key, rule in waits:
        if rule.full_days < least:
            raise PolicyError(
                f"{key}: {rule.days} {rule.counting} leaves {rule.full_days} full days; the law needs {least} "
                f"(the {least}th day after is too early)"
            )


_RULE_KEYS = {
    "fee", "fee_cap", "first_reminder", "between_reminders", "interest_margin", "compensation",
    "compensation_cap", "fees_within_compensation",
}  # fmt: skip
_POLICY_KEYS = {
    "valid_from", "valid_to", "levels", "reminder_due", "min_open_amount", "collection_after",
    "paid_near_window", "day_count", "consumer", "business",
}  # fmt: skip


def _known_keys(row: Mapping[str, Any], allowed: set[str]) -> None:
    """A stale or misspelt key (e.g. the old ``min_days_between = 14``, which said
    nothing about how it counts) is refused, not silently ignored."""
    unknown = set(row) - allowed
    if unknown:
        raise PolicyError(f"unknown keys {sorted(unknown)}")


def _rules(row: Mapping[str, Any], kind: str) -> DebtorRules:
    where = kind
    try:
        _known_keys(row, _RULE_KEYS)
        rules = DebtorRules(
            fee=_money(row, "fee"),
            fee_cap=_money(row, "fee_cap"),
            first_reminder=_day_rule(row, "first_reminder"),
            between_reminders=_day_rule(row, "between_reminders"),
            interest_margin=Decimal(str(row["interest_margin"])),
            compensation=_money(row, "compensation"),
            compensation_cap=_money(row, "compensation_cap"),
            fees_within_compensation=bool(row.get("fees_within_compensation", True)),
        )
        _legal_waits(rules, kind)
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
        _known_keys(row, _POLICY_KEYS)
        policy = Policy(
            valid_from=row["valid_from"],
            valid_to=row.get("valid_to"),
            levels=_days(row, "levels", 1, 9),
            reminder_due=_day_rule(row, "reminder_due"),
            min_open_amount=_money(row, "min_open_amount"),
            collection_after=_day_rule(row, "collection_after"),
            paid_near_window=_day_rule(row, "paid_near_window"),
            day_count=str(row["day_count"]),
            consumer=_rules(row["consumer"], "consumer"),
            business=_rules(row["business"], "business"),
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
    probe = policy.valid_from
    if policy.collection_after.first_day(probe) <= policy.reminder_due.last_day(probe):
        raise PolicyError(f"{where}: collection_after would hand over on or before the last reminder's due date")
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
