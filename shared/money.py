"""Money: ``Decimal`` euros with two decimals, never float.

Rounding rule (the whole system uses this one): half away from zero to the cent
(``ROUND_HALF_UP`` in Python's decimal module, which rounds *away from zero* on a tie,
so -0.005 becomes -0.01, symmetric for credit notes). Line amounts are kept unrounded
until an invoice sums them per VAT rate; see ``services.invoicing.domain``.

Pure functions, no I/O: every service may use them.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import Field

from shared.limits import MAX_AMOUNT, MAX_QUANTITY, MAX_TOTAL_DIGITS, MAX_UNIT_PRICE

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
NBSP = "\u00a0"

Money = Annotated[Decimal, Field(max_digits=15, decimal_places=2, ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
"""An amount in euros with at most two decimals (a JSON number or string on the wire),
within :data:`shared.limits.MAX_AMOUNT`."""

Sum = Annotated[Decimal, Field(max_digits=MAX_TOTAL_DIGITS, decimal_places=2)]
"""A sum of amounts over many documents (a billing run's totals), two decimals."""

Quantity = Annotated[Decimal, Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY, max_digits=12, decimal_places=3)]
"""How many units on a document line, three decimals (negative on a corrective
invoice's reversed lines); :data:`shared.limits.MAX_QUANTITY`."""

UnitPrice = Annotated[Decimal, Field(ge=-MAX_UNIT_PRICE, le=MAX_UNIT_PRICE, max_digits=14, decimal_places=4)]
"""Net euros per unit, VAT excluded, four decimals, negative for a discount;
:data:`shared.limits.MAX_UNIT_PRICE`."""

Rate = Annotated[Decimal, Field(max_digits=5, decimal_places=2, ge=0, le=100)]
"""A percentage such as a VAT rate: ``25.5`` means 25.5 %."""


def cents(amount: Decimal) -> Decimal:
    """Round to the cent, half away from zero."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def vat_of(net: Decimal, rate: Decimal) -> Decimal:
    """VAT on a net amount at ``rate`` percent, rounded to the cent."""
    return cents(net * rate / 100)


def format_fi(amount: Decimal) -> str:
    """Finnish form: ``1 234,56`` (non-breaking thin space would not survive every
    channel; a plain no-break space U+00A0 does)."""
    q = cents(amount)
    sign = "-" if q < 0 else ""
    whole, frac = f"{abs(q):.2f}".split(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return sign + NBSP.join(groups) + "," + frac


def plain(value: Decimal) -> Decimal:
    """The shortest form of a rate or quantity without an exponent: ``10.00`` -> ``10``,
    ``25.50`` -> ``25.5`` (``Decimal.normalize`` alone would give ``1E+1`` for ten)."""
    reduced = value.normalize()
    return reduced.quantize(Decimal(1)) if reduced == reduced.to_integral_value() else reduced


def format_amount(amount: Decimal, language: str) -> str:
    """An amount as a clerk reads it, no currency sign: ``1 234,56`` in Finnish (and
    Swedish, as written in Finland), ``1,234.56`` otherwise; rounded to the cent."""
    if language in ("fi", "sv"):
        return format_fi(amount)
    return f"{cents(amount):,.2f}"
