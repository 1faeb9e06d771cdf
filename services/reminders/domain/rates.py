"""The reference rate (*viitekorko*) of the Interest Act, one per half-year, as data.

Korkolaki 633/1982 section 12: the rate the ECB applied to its last main refinancing
operation before the half-year's first day, rounded up to the next half point, fixed
for the half-year (1 January - 30 June, 1 July - 31 December). The figures and their
sources are in ``data/reference_rates.toml``; :func:`round_up_half` is the section 12
rounding, for checking a derived row.

A half-year missing from the table is never guessed: :meth:`RateTable.at` raises
:class:`RateMissing` naming the half-year, and the caller lists the invoice as
excluded until the rate is added.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from importlib import resources
from typing import Any

HALF = Decimal("0.5")
DATA_FILE = "services/reminders/domain/data/reference_rates.toml"
"""Where ops add a half-year's row (the path in the repository)."""
SETTING = "REMINDERS_EXTRA_REFERENCE_RATES"
"""The stopgap setting for a half-year the file lacks (see :func:`load_rates`)."""


class RateDataError(ValueError):
    """The rate table is not a valid table of half-years (checked at start)."""


class RateMissing(LookupError):
    """No reference rate for the half-year a day falls in."""

    def __init__(self, start: date, end: date) -> None:
        super().__init__(f"no reference rate for {start.isoformat()}..{end.isoformat()}")
        self.start = start
        self.end = end


def half_year(day: date) -> tuple[date, date]:
    """The half-year ``day`` falls in: (first day, last day)."""
    if day.month <= 6:
        return date(day.year, 1, 1), date(day.year, 6, 30)
    return date(day.year, 7, 1), date(day.year, 12, 31)


def round_up_half(ecb_rate: Decimal) -> Decimal:
    """Section 12's rounding: up to the next half percentage point (2.15 -> 2.5,
    3.0 -> 3.0, 3.01 -> 3.5)."""
    return (ecb_rate / HALF).to_integral_value(rounding=ROUND_CEILING) * HALF


@dataclass(frozen=True)
class ReferenceRate:
    start: date
    end: date
    reference: Decimal
    """Percent a year, e.g. ``Decimal("2.5")``."""
    basis: str
    """``announced`` (the Bank of Finland's figure), ``derived`` or ``settings``."""
    source: str


class RateTable:
    """Half-year reference rates, contiguous and without overlap."""

    def __init__(self, rates: Iterable[ReferenceRate]) -> None:
        self.rates = sorted(rates, key=lambda r: r.start)
        self._by_start = {r.start: r for r in self.rates}
        for r in self.rates:
            if (r.start, r.end) != half_year(r.start):
                raise RateDataError(f"{r.start.isoformat()}..{r.end.isoformat()} is not a half-year")
            if not Decimal(0) <= r.reference <= Decimal(30):
                raise RateDataError(f"reference rate {r.reference} for {r.start.isoformat()} is out of range")
        if len(self._by_start) != len(self.rates):
            raise RateDataError("two rates for one half-year")

    def has(self, day: date) -> bool:
        return half_year(day)[0] in self._by_start

    def at(self, day: date) -> ReferenceRate:
        start, end = half_year(day)
        rate = self._by_start.get(start)
        if rate is None:
            raise RateMissing(start, end)
        return rate

    def missing(self, until: date) -> tuple[tuple[date, date], ...]:
        """The half-years without a rate from the table's first one up to the one
        ``until`` falls in (a reminder made on ``until`` charges no interest for their
        days): ``((2026-07-01, 2026-12-31),)`` on 23.11.2026 while 2026 H2 is not in."""
        if not self.rates:
            return (half_year(until),)
        out: list[tuple[date, date]] = []
        day, last = self.rates[0].start, half_year(until)[0]
        while day <= last:
            start, end = half_year(day)
            if start not in self._by_start:
                out.append((start, end))
            day = date(end.year + (end.month == 12), 1 if end.month == 12 else 7, 1)
        return tuple(out)

    @property
    def last_day(self) -> date | None:
        """The last day the table covers (None when empty)."""
        return self.rates[-1].end if self.rates else None


def _rate(row: Mapping[str, Any]) -> ReferenceRate:
    try:
        return ReferenceRate(
            start=row["start"],
            end=row["end"],
            reference=Decimal(str(row["reference"])),
            basis=str(row["basis"]),
            source=str(row["source"]),
        )
    except (KeyError, ArithmeticError) as exc:
        raise RateDataError(f"rate row {row.get('start')!s}: {type(exc).__name__} {exc}") from None


def load_rates(text: str, extra: Mapping[date, Decimal] | None = None) -> RateTable:
    """The table from TOML text, plus ``extra`` half-years (start date -> rate) from
    settings, which may add a half-year but not replace one the file has."""
    try:
        rows = tomllib.loads(text).get("rate", [])
    except tomllib.TOMLDecodeError as exc:
        raise RateDataError(f"reference rates: {exc}") from None
    rates = [_rate(r) for r in rows]
    known = {r.start for r in rates}
    for start, reference in (extra or {}).items():
        if start in known:
            raise RateDataError(f"{start.isoformat()} is in the data file already; change it there")
        first, last = half_year(start)
        if first != start:
            raise RateDataError(f"{start.isoformat()} does not start a half-year (1.1. or 1.7.)")
        rates.append(ReferenceRate(first, last, Decimal(reference), "settings", "REMINDERS_EXTRA_REFERENCE_RATES"))
    return RateTable(rates)


def default_rates(extra: Mapping[date, Decimal] | None = None) -> RateTable:
    text = resources.files("services.reminders.domain").joinpath("data/reference_rates.toml").read_text("utf-8")
    return load_rates(text, extra)
