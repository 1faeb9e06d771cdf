"""Messages and formats of the console's two languages."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from console import i18n

TEMPLATES = Path(i18n.__file__).parent / "templates"


def test_finnish_and_english_have_the_same_keys() -> None:
    fi, en = set(i18n.messages("fi")), set(i18n.messages("en"))
    assert fi - en == set(), "keys only in fi.toml"
    assert en - fi == set(), "keys only in en.toml"


def test_both_languages_have_the_same_placeholders_per_message() -> None:
    def names(text: str) -> set[str]:
        return set(re.findall(r"{(\w+)}", text))

    fi, en = i18n.messages("fi"), i18n.messages("en")
    different = {k for k in fi if names(fi[k]) != names(en[k])}
    assert different == set()


def test_every_literal_key_a_template_uses_exists() -> None:
    used: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_.]+)["']\s*[,)]""", path.read_text(encoding="utf-8")))
    assert used, "the pattern found no t() calls at all"
    assert used - set(i18n.messages("fi")) == set()


def test_translate_fills_placeholders_and_falls_back() -> None:
    assert i18n.translate("fi", "jobs.failures", count=3) == "3 epäonnistui"
    assert i18n.translate("en", "jobs.failures", count=3) == "3 failed"
    assert i18n.translate("sv", "tabs.billing") == "Laskutus"  # unknown language: Finnish
    assert i18n.translate("en", "no.such.key") == "no.such.key"


def test_amounts_in_finnish_and_english() -> None:
    # 1234.565 rounds half away from zero to 1234.57; groups of three, comma decimal
    assert i18n.format_amount(Decimal("1234.565"), "fi") == "1\u00a0234,57\u00a0€"
    assert i18n.format_amount(Decimal("1234.565"), "en") == "€1,234.57"
    assert i18n.format_amount(Decimal("-0.5"), "fi") == "-0,50\u00a0€"
    assert i18n.format_amount(Decimal("-1000"), "en") == "-€1,000.00"
    assert i18n.format_amount("33.00", "fi") == "33,00\u00a0€"  # JSON gives strings
    assert i18n.format_amount(None, "fi") == ""


def test_dates_in_finnish_and_english() -> None:
    assert i18n.format_date(date(2026, 11, 23), "fi") == "23.11.2026"
    assert i18n.format_date(date(2026, 1, 5), "fi") == "5.1.2026"
    assert i18n.format_date(date(2026, 11, 23), "en") == "23 Nov 2026"
    assert i18n.format_date("2026-11-23", "fi") == "23.11.2026"
    assert i18n.format_date("not a date", "fi") == "not a date"
    moment = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
    assert i18n.format_date(moment.isoformat(), "en") == "23 Nov 2026"


def test_moments_show_in_helsinki_time_whatever_the_servers_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")  # as in a container
    time.tzset()
    try:
        # December: Helsinki is UTC+2; July: UTC+3 (summer time)
        assert i18n.format_datetime("2026-12-07T04:06:39+00:00", "fi") == "7.12.2026 klo 6.06"
        assert i18n.format_datetime(datetime(2026, 12, 7, 4, 6, tzinfo=UTC), "en") == "7 Dec 2026 06:06"
        assert i18n.format_datetime("2026-07-15T12:30:00Z", "fi") == "15.7.2026 klo 15.30"
        assert i18n.format_datetime("2026-07-15T12:30:00Z", "en") == "15 Jul 2026 15:30"
        # 22:30 UTC on 31 December is already New Year in Helsinki: the date follows
        assert i18n.format_datetime("2026-12-31T22:30:00+00:00", "fi") == "1.1.2027 klo 0.30"
        assert i18n.format_date("2026-12-31T22:30:00+00:00", "fi") == "1.1.2027"
        assert i18n.format_datetime("", "fi") == ""
    finally:
        monkeypatch.undo()
        time.tzset()


def test_vat_rates_in_finnish_and_english() -> None:
    assert i18n.format_rate(Decimal("25.50"), "fi") == "25,5\u00a0%"
    assert i18n.format_rate("10.00", "fi") == "10\u00a0%"
    assert i18n.format_rate(Decimal("25.5"), "en") == "25.5%"
    assert i18n.format_rate(Decimal("0"), "en") == "0%"


def test_quantities_without_trailing_zeros() -> None:
    assert i18n.format_number("2.000", "fi") == "2"
    assert i18n.format_number(Decimal("1.500"), "fi") == "1,5"
    assert i18n.format_number(Decimal("1.500"), "en") == "1.5"
