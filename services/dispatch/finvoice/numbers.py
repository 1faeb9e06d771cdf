"""Finvoice number and date forms (guidelines §9.4, §19.1; CONVENTIONS §1).

Decimal comma, no thousands separators, no leading zeros, minus sign in front:

- amounts: two decimals (``124,00``, ``-56,75``); the XSD also allows 0 or 2-5;
- unit prices: 2 to 4 decimals (our prices have up to four: ``0,1234``, ``12,10``);
- percentages: as few decimals as needed (``24``, ``25,5``, ``10``);
- quantities: as few decimals as needed (``2``, ``1,5``, ``-2``); the XSD does not check them;
- dates: ``CCYYMMDD`` text (with ``Format="CCYYMMDD"`` on the element).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from shared.money import ZERO, cents

_NUMBER = re.compile(r"-?[0-9]+(?:,[0-9]+)?", re.ASCII)
_DATE = re.compile(r"[0-9]{8}", re.ASCII)


def _plain(value: Decimal) -> tuple[str, str]:
    """Sign+whole part and fraction digits of ``value`` in positional notation."""
    text = f"{value:f}"
    whole, _, fraction = text.partition(".")
    if whole in ("-0", "") and not fraction.strip("0"):
        whole = "0"
    return whole, fraction


def amount(value: Decimal) -> str:
    """``Decimal('-56.75')`` -> ``-56,75``; always two decimals, never ``-0,00``."""
    rounded = cents(value)
    if not rounded:
        rounded = ZERO
    return f"{rounded:.2f}".replace(".", ",")


def unit_price(value: Decimal) -> str:
    """Two to four decimals: ``12.1`` -> ``12,10``, ``0.1234`` -> ``0,1234``."""
    whole, fraction = _plain(value.normalize() if value else Decimal(0))
    fraction = fraction.rstrip("0").ljust(2, "0")
    return f"{whole},{fraction}"


def compact(value: Decimal) -> str:
    """Percentages and quantities: ``25.50`` -> ``25,5``, ``10.00`` -> ``10``, ``-2.000`` -> ``-2``."""
    whole, fraction = _plain(value)
    fraction = fraction.rstrip("0")
    return f"{whole},{fraction}" if fraction else whole


def ccyymmdd(value: date) -> str:
    return value.strftime("%Y%m%d")


def parse_number(text: str | None) -> Decimal | None:
    """A Finvoice number (``-?digits(,digits)?``) as a Decimal; None when absent or
    malformed (the schema check reports a malformed one). String tests rather than a
    regular expression: this runs some forty times per file."""
    if text is None:
        return None
    stripped = text.strip()
    body = stripped[1:] if stripped[:1] == "-" else stripped
    whole, comma, fraction = body.partition(",")
    if not (whole.isdigit() and whole.isascii()) or (comma and not (fraction.isdigit() and fraction.isascii())):
        return None
    return Decimal(stripped.replace(",", ".", 1))


def is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text) is not None


def parse_date(text: str | None) -> date | None:
    """``CCYYMMDD`` as a real date; None when absent, not 8 digits or not a calendar
    date (``20230230``: the XSD checks only the 8 digits)."""
    if text is None or not _DATE.fullmatch(text.strip()):
        return None
    digits = text.strip()
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None
