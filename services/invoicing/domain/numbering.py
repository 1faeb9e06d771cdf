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

SERIES_PREFIX = {"subscription": 1, "notice": 2, "corrective": 3}
SERIES_SIZE = 10**9


def series_for(kind: str, *, corrective: bool = False) -> str:
    return "corrective" if corrective else kind


def invoice_number(series: str, counter: int) -> int:
    if not 1 <= counter < SERIES_SIZE:
        raise ValueError(f"series {series} is exhausted or the counter is wrong")
    return SERIES_PREFIX[series] * SERIES_SIZE + counter
