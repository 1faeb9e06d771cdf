"""Invoice number series (gap-free, allocated at confirmation only).

Each series has a one-digit prefix and a counter: number = prefix x 10^9 + counter, so
numbers of different series never collide, every number is ten digits, and the
national reference derived from it (the number + its 7-3-1 check digit) is unique per
invoice and fits every bank form. A series therefore holds 999,999,999 invoices.

- ``subscription``: invoices of subscriptions (1 000 000 001, ...)
- ``notice``: invoices of notices and ads (2 000 000 001, ...)
- ``corrective``: corrective invoices and credit notes of both kinds (3 000 000 001, ...)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SERIES_PREFIX = {"subscription": 1, "notice": 2, "corrective": 3}
SERIES_SIZE = 10**9


def series_for(kind: str, *, corrective: bool = False) -> str:
    return "corrective" if corrective else kind


def invoice_number(series: str, counter: int) -> int:
    if not 1 <= counter < SERIES_SIZE:
        raise ValueError(f"series {series} is exhausted or the counter is wrong")
    return SERIES_PREFIX[series] * SERIES_SIZE + counter


def series_of(number: int) -> tuple[str, int]:
    """The series and counter of an issued number (the inverse of :func:`invoice_number`)."""
    prefix, counter = divmod(number, SERIES_SIZE)
    for series, p in SERIES_PREFIX.items():
        if p == prefix and counter >= 1:
            return series, counter
    raise ValueError("not an invoice number of a known series")


def highest_numbers(numbers: Iterable[int]) -> dict[str, int]:
    """The highest number of each series among ``numbers`` (series without one left out)."""
    out: dict[str, int] = {}
    for number in numbers:
        series, _ = series_of(number)
        if number > out.get(series, 0):
            out[series] = number
    return out


@dataclass(frozen=True)
class Behind:
    """A series whose counter in the database is below a number already on the log."""

    series: str
    database: int
    """The last number the database has issued in the series (prefix x 10^9 when none)."""
    log: int
    """The highest number of the series on ``invoicing.invoices.v1``."""


def behind(log_highest: Mapping[str, int], database_last: Mapping[str, int]) -> list[Behind]:
    """The series the database would issue again: its last counter (``database_last``,
    0 or missing when it has issued none) is below the highest number on the log."""
    out = []
    for series in sorted(log_highest):
        db_number = SERIES_PREFIX[series] * SERIES_SIZE + database_last.get(series, 0)
        if log_highest[series] > db_number:
            out.append(Behind(series, db_number, log_highest[series]))
    return out
