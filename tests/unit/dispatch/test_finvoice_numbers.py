"""Finvoice number and date forms (guidelines §9.4, CONVENTIONS §1), by example."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.dispatch.finvoice import numbers


@pytest.mark.parametrize(
    ("value", "text"),
    [("63.37", "63,37"), ("-56.75", "-56,75"), ("1234.5", "1234,50"), ("0", "0,00"), ("-0.00", "0,00")],
)
def test_amounts_have_a_decimal_comma_two_decimals_and_no_thousands_separator(value: str, text: str) -> None:
    assert numbers.amount(Decimal(value)) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [("12.1", "12,10"), ("0.1234", "0,1234"), ("100", "100,00"), ("48.3300", "48,33"), ("-5.5", "-5,50")],
)
def test_unit_prices_have_two_to_four_decimals(value: str, text: str) -> None:
    assert numbers.unit_price(Decimal(value)) == text


@pytest.mark.parametrize(
    ("value", "text"), [("25.50", "25,5"), ("10.00", "10"), ("0", "0"), ("-2.000", "-2"), ("1.5", "1,5")]
)
def test_percentages_and_quantities_take_only_the_decimals_they_need(value: str, text: str) -> None:
    assert numbers.compact(Decimal(value)) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", "1"), ("-1", "-1"), ("1,5", "1.5"), (" 3,00 ", "3.00"), ("12,345", "12.345")],
)
def test_finvoice_numbers_are_read_back(text: str, value: str) -> None:
    assert numbers.parse_number(text) == Decimal(value)


@pytest.mark.parametrize("text", [",5", "1,", "1.5", "1,2,3", "--1", "+1", "-", "", "١", "1e3", "NaN"])
def test_anything_else_is_not_a_finvoice_number(text: str) -> None:
    assert numbers.parse_number(text) is None


def test_dates_are_ccyymmdd_and_real() -> None:
    assert numbers.ccyymmdd(date(2026, 11, 2)) == "20261102"
    assert numbers.parse_date("20261102") == date(2026, 11, 2)
    assert numbers.parse_date("20230230") is None  # 8 digits (the XSD is satisfied), no such day
    assert numbers.parse_date("2026-11-02") is None
