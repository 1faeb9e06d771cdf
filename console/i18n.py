"""Finnish (the default) and English: the messages, and dates and amounts as a clerk
reads them (``1 234,56 €`` and ``23.11.2026`` in Finnish).

Messages live in ``locales/<lang>.toml``; tables nest (``[billing] fetch = ...`` is the
key ``billing.fetch``). A unit test checks both files have the same keys, so a label is
never missing in one language. A missing key shows as the key itself, never an error.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from shared.money import format_amount as _format_number
from shared.money import plain

LANGUAGES = ("fi", "en")
DEFAULT = "fi"
_LOCALES = Path(__file__).parent / "locales"
# Clerks work in Finland: every moment shows in Helsinki time, whatever the server's zone
# (UTC in containers), as the CLI does (billing_cli/invoicing/text.py).
LOCAL_TZ = ZoneInfo("Europe/Helsinki")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@cache
def messages(lang: str) -> dict[str, str]:
    """Every message of ``lang`` by its dotted key."""
    with (_LOCALES / f"{lang}.toml").open("rb") as f:
        return _flatten(tomllib.load(f))


def normalise(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT


def translate(lang: str, key: str, **values: Any) -> str:
    """The message ``key`` in ``lang`` with ``{name}`` placeholders filled."""
    text = messages(normalise(lang)).get(key) or messages(DEFAULT).get(key) or key
    return text.format(**values) if values else text


def format_amount(amount: Decimal | str | float | int | None, lang: str, currency: str = "EUR") -> str:
    """``1 234,56 €`` (fi) or ``€1,234.56`` (en); an empty string for no amount."""
    if amount is None or amount == "":
        return ""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    number = _format_number(value, lang)
    sign = "€" if currency == "EUR" else currency
    if normalise(lang) == "fi":
        return f"{number}\u00a0{sign}"
    if number.startswith("-"):
        return f"-{sign}{number[1:]}"
    return f"{sign}{number}"


def format_number(value: Decimal | str | float | None, lang: str) -> str:
    """A quantity without trailing zeros: ``1,5`` (fi) or ``1.5`` (en); ``2.000`` is ``2``."""
    if value is None or value == "":
        return ""
    try:
        number = plain(value if isinstance(value, Decimal) else Decimal(str(value)))
    except InvalidOperation:
        return str(value)
    return str(number).replace(".", ",") if normalise(lang) == "fi" else str(number)


def format_rate(rate: Decimal | str | float | None, lang: str) -> str:
    """A VAT rate: ``25,5 %`` (fi) or ``25.5%`` (en); ``10.00`` shows as ``10``."""
    if rate is None or rate == "":
        return ""
    try:
        value = plain(rate if isinstance(rate, Decimal) else Decimal(str(rate)))
    except InvalidOperation:
        return str(rate)
    if normalise(lang) == "fi":
        return f"{str(value).replace('.', ',')}\u00a0%"
    return f"{value}%"


def format_date(value: date | datetime | str | None, lang: str) -> str:
    """``23.11.2026`` (fi) or ``23 Nov 2026`` (en); an ISO string is parsed first."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        text = value
        try:
            value = datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
        except ValueError:
            return text
    if isinstance(value, datetime) and value.tzinfo:
        value = value.astimezone(LOCAL_TZ)
    day = value.date() if isinstance(value, datetime) else value
    if normalise(lang) == "fi":
        return f"{day.day}.{day.month}.{day.year}"
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def format_datetime(value: datetime | str | None, lang: str) -> str:
    """A moment in Helsinki wall-clock time: ``23.11.2026 klo 14.05`` / ``23 Nov 2026 14:05``.

    An aware moment is converted to Europe/Helsinki (never the server's own zone); a naive
    one is shown as it is.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        text = value
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return text
    local = value.astimezone(LOCAL_TZ) if value.tzinfo else value
    if normalise(lang) == "fi":
        return f"{format_date(local, lang)} klo {local.hour}.{local.minute:02d}"
    return f"{format_date(local, lang)} {local.hour:02d}:{local.minute:02d}"
