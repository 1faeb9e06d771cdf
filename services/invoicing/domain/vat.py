"""The dated table of Finnish VAT rates (*arvonlisäverokannat*), kept as data.

Rates change by law (the general rate went from 24 % to 25.5 % on 2024-09-01, the 14 %
group became 13.5 % on 2026-01-01, books and medicines moved from 10 % to 14 % on
2025-01-01), and a billing line may bill a period that started before a change. So the
rates are rows with a validity period in ``services/invoicing/data/vat_rates.toml``, each
citing its public source, and a line's rate is checked against the rows valid on the
line's *service date*, never against a constant in code.

A *category* (``general``, ``periodical-subscription``, ``reduced``, ``books``, ...) is
what a billing line may name in ``vat_category``: with it, the rate must be exactly that
category's rate on the date; without it, the rate must be one that some category has on
the date (the contract lets the order system leave the category out).

Pure: no framework, no I/O except :func:`load_vat_table` reading the data file once at
start. Problems found in a billing line are :class:`VatProblem` values (a code and a
Finnish and English text, no personal data); a broken data file is a
:class:`VatTableError` that stops the service from starting.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "vat_rates.toml"
"""The table shipped with the service."""

_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_MAX_RATE = Decimal(100)
_ROW_KEYS = frozenset({"category", "rate", "valid_from", "valid_to", "description_fi", "description_en", "source"})
_REQUIRED = _ROW_KEYS - {"valid_to"}


class VatTableError(ValueError):
    """The VAT data is unusable (malformed row, overlapping periods): the message says
    which row and why, so whoever edits the file can fix it."""


class UnknownVatRate(LookupError):
    """:meth:`VatTable.rate_for` found no row: the category is unknown or has no rate on
    that day. ``problem`` carries the fi/en explanation."""

    def __init__(self, problem: VatProblem) -> None:
        super().__init__(problem.message_en)
        self.problem = problem


@dataclass(frozen=True)
class VatRate:
    """One row: ``rate`` percent for ``category`` from ``valid_from`` to ``valid_to``
    (both inclusive; ``valid_to`` None = until further notice)."""

    category: str
    rate: Decimal
    valid_from: date
    valid_to: date | None
    description_fi: str
    description_en: str
    source: str

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class VatProblem:
    """Why a rate is not acceptable, for the request's error list and the dead letter."""

    code: str
    message_fi: str
    message_en: str


class VatTable:
    """The rows, indexed by category; refuses overlapping periods of one category (two
    rates valid on one day would make the check ambiguous)."""

    def __init__(self, rates: Iterable[VatRate]) -> None:
        by_category: dict[str, list[VatRate]] = {}
        for row in rates:
            if row.valid_to is not None and row.valid_to < row.valid_from:
                raise VatTableError(
                    f"VAT table: {row.category} {_pct_en(row.rate)} ends ({row.valid_to}) "
                    f"before it starts ({row.valid_from})"
                )
            by_category.setdefault(row.category, []).append(row)
        if not by_category:
            raise VatTableError("VAT table: no rates")
        for category, rows in by_category.items():
            rows.sort(key=lambda r: r.valid_from)
            for before, after in itertools.pairwise(rows):
                if before.valid_to is None or before.valid_to >= after.valid_from:
                    until = before.valid_to.isoformat() if before.valid_to else "open end"
                    raise VatTableError(
                        f"VAT table: {category} periods overlap: {_pct_en(before.rate)} "
                        f"{before.valid_from}..{until} and {_pct_en(after.rate)} from {after.valid_from}"
                    )
        self._by_category: dict[str, tuple[VatRate, ...]] = {c: tuple(r) for c, r in sorted(by_category.items())}

    @property
    def rows(self) -> tuple[VatRate, ...]:
        """Every row, by category then date (for listing the table in the API)."""
        return tuple(row for rows in self._by_category.values() for row in rows)

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(self._by_category)

    def rates_on(self, day: date) -> list[VatRate]:
        """The row of each category valid on ``day`` (categories without one left out)."""
        return [row for rows in self._by_category.values() for row in rows if row.valid_on(day)]

    def rate_for(self, category: str, day: date) -> VatRate:
        """The category's row on ``day``; :class:`UnknownVatRate` if there is none."""
        rows = self._by_category.get(category)
        if rows is None:
            raise UnknownVatRate(_unknown_category(category))
        for row in rows:
            if row.valid_on(day):
                return row
        raise UnknownVatRate(_category_not_in_force(category, day))

    def check(self, rate: Decimal, day: date, category: str | None = None) -> VatProblem | None:
        """None when ``rate`` is valid on ``day`` (for ``category`` when given), else why not.

        Codes: ``vat-category-unknown`` (no such category), ``vat-category-not-in-force``
        (the category has no rate that day), ``vat-rate-category-mismatch`` (the rate is in
        force that day, but for another category), ``vat-rate-invalid`` (no category has
        that rate that day, e.g. 24 % on 2024-09-01).
        """
        if category is not None:
            try:
                expected = self.rate_for(category, day)
            except UnknownVatRate as exc:
                return exc.problem
            if rate.is_finite() and rate == expected.rate:
                return None
            if self._in_force(rate, day):
                return VatProblem(
                    code="vat-rate-category-mismatch",
                    message_fi=(
                        f"ALV-kanta {_pct_fi(rate)} ei kuulu luokkaan {category} {_day_fi(day)}: "
                        f"luokan verokanta on silloin {_pct_fi(expected.rate)}."
                    ),
                    message_en=(
                        f"VAT rate {_pct_en(rate)} is not the rate of category {category} on {day.isoformat()}: "
                        f"that category's rate then is {_pct_en(expected.rate)}."
                    ),
                )
            return VatProblem(
                code="vat-rate-invalid",
                message_fi=(
                    f"ALV-kanta {_pct_fi(rate)} ei ole voimassa {_day_fi(day)}; "
                    f"luokan {category} verokanta on silloin {_pct_fi(expected.rate)}."
                ),
                message_en=(
                    f"VAT rate {_pct_en(rate)} is not in force on {day.isoformat()}; "
                    f"the rate of category {category} then is {_pct_en(expected.rate)}."
                ),
            )
        if self._in_force(rate, day):
            return None
        valid = sorted({row.rate for row in self.rates_on(day)})
        return VatProblem(
            code="vat-rate-invalid",
            message_fi=(
                f"ALV-kanta {_pct_fi(rate)} ei ole voimassa {_day_fi(day)} "
                f"(voimassa olevat: {', '.join(_pct_fi(r) for r in valid) or 'ei yhtään'})."
            ),
            message_en=(
                f"VAT rate {_pct_en(rate)} is not in force on {day.isoformat()} "
                f"(rates in force: {', '.join(_pct_en(r) for r in valid) or 'none'})."
            ),
        )

    def _in_force(self, rate: Decimal, day: date) -> bool:
        if not rate.is_finite():
            return False
        return any(row.rate == rate for row in self.rates_on(day))


def load_vat_table(path: Path | None = None) -> VatTable:
    """Read and check the table (default: the shipped ``data/vat_rates.toml``).

    Refuses, with the row number and field in the message: a file that is not TOML, a
    row with a missing or unknown key, a rate that is not an exact decimal between 0 and
    100 with at most two decimals (a TOML float is refused: write ``rate = "25.5"``), a
    date that is not a plain date, a period that ends before it starts, overlapping
    periods of one category.
    """
    source = path or DEFAULT_PATH
    try:
        with source.open("rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise VatTableError(f"{source}: not valid TOML: {exc}") from exc
    extra = set(doc) - {"rate"}
    if extra:
        raise VatTableError(f"{source}: unknown top-level keys {sorted(extra)} (only [[rate]] rows)")
    rows = doc.get("rate")
    if not isinstance(rows, list) or not rows:
        raise VatTableError(f"{source}: no [[rate]] rows")
    parsed = [_parse_row(source, n, row) for n, row in enumerate(rows, start=1)]
    try:
        return VatTable(parsed)
    except VatTableError as exc:
        raise VatTableError(f"{source}: {exc}") from None


def _parse_row(source: Path, n: int, row: Mapping[str, Any]) -> VatRate:
    where = f"{source}: rate row {n}"
    missing = _REQUIRED - set(row)
    if missing:
        raise VatTableError(f"{where}: missing {sorted(missing)}")
    unknown = set(row) - _ROW_KEYS
    if unknown:
        raise VatTableError(f"{where}: unknown keys {sorted(unknown)}")
    category = row["category"]
    if not isinstance(category, str) or not _CATEGORY.match(category):
        raise VatTableError(f"{where}: category must be a lower-case code such as 'general', got {category!r}")
    where = f"{where} ({category})"
    rate = _parse_rate(where, row["rate"])
    valid_from = _parse_date(where, "valid_from", row["valid_from"])
    valid_to = None if row.get("valid_to") is None else _parse_date(where, "valid_to", row["valid_to"])
    if valid_to is not None and valid_to < valid_from:
        raise VatTableError(f"{where}: valid_to {valid_to} is before valid_from {valid_from}")
    texts = {key: row[key] for key in ("description_fi", "description_en", "source")}
    for key, value in texts.items():
        if not isinstance(value, str) or not value.strip():
            raise VatTableError(f"{where}: {key} must be a non-empty string")
    return VatRate(
        category=category,
        rate=rate,
        valid_from=valid_from,
        valid_to=valid_to,
        description_fi=texts["description_fi"].strip(),
        description_en=texts["description_en"].strip(),
        source=texts["source"].strip(),
    )


def _parse_rate(where: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise VatTableError(
            f'{where}: rate must be a decimal string such as "25.5" (a TOML float is not exact), got {value!r}'
        )
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        raise VatTableError(f"{where}: rate {value!r} is not a decimal number") from None
    if not rate.is_finite() or not Decimal(0) <= rate <= _MAX_RATE:
        raise VatTableError(f"{where}: rate {value!r} is not a percentage between 0 and 100")
    exponent = rate.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise VatTableError(f"{where}: rate {value!r} has more than two decimals")
    return rate


def _parse_date(where: str, key: str, value: object) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise VatTableError(f"{where}: {key} must be a plain TOML date such as 2024-09-01, got {value!r}")
    return value


def _unknown_category(category: str) -> VatProblem:
    return VatProblem(
        code="vat-category-unknown",
        message_fi=f"Tuntematon ALV-luokka {category!r}.",
        message_en=f"Unknown VAT category {category!r}.",
    )


def _category_not_in_force(category: str, day: date) -> VatProblem:
    return VatProblem(
        code="vat-category-not-in-force",
        message_fi=f"ALV-luokalla {category} ei ole verokantaa {_day_fi(day)}.",
        message_en=f"VAT category {category} has no rate on {day.isoformat()}.",
    )


def _number(rate: Decimal) -> str:
    if not rate.is_finite():
        return str(rate)
    return format(rate.normalize(), "f")


def _pct_fi(rate: Decimal) -> str:
    """``25,5 %`` (Finnish decimal comma, a space before the sign)."""
    return _number(rate).replace(".", ",") + " %"


def _pct_en(rate: Decimal) -> str:
    return _number(rate) + "%"


def _day_fi(day: date) -> str:
    """``1.9.2024``: the Finnish way, no leading zeros."""
    return f"{day.day}.{day.month}.{day.year}"
