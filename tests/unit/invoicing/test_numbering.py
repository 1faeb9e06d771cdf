"""Invoice number series (``services.invoicing.domain.numbering``): number = prefix x 10^9
+ counter; subscription 1, notice 2, corrective 3; a counter 1 .. 999 999 999."""

from __future__ import annotations

import pytest

from services.invoicing.domain.numbering import SERIES_PREFIX, invoice_number, series_for
from shared.references import national_reference


@pytest.mark.parametrize(
    ("series", "counter", "number"),
    [
        ("subscription", 1, 1_000_000_001),  # 1 x 10^9 + 1
        ("notice", 1, 2_000_000_001),  # 2 x 10^9 + 1
        ("corrective", 1, 3_000_000_001),  # 3 x 10^9 + 1
        ("subscription", 4, 1_000_000_004),
        ("notice", 123_456, 2_000_123_456),  # 2 000 000 000 + 123 456
        ("subscription", 999_999_999, 1_999_999_999),  # the last of the series
        ("corrective", 999_999_999, 3_999_999_999),
    ],
)
def test_numbers_are_the_series_prefix_then_nine_counter_digits(series: str, counter: int, number: int) -> None:
    assert invoice_number(series, counter) == number
    assert len(str(number)) == 10


@pytest.mark.parametrize("counter", [0, -1, 1_000_000_000, 10**12])
def test_a_counter_outside_1_to_999_999_999_is_refused(counter: int) -> None:
    with pytest.raises(ValueError, match="exhausted or the counter is wrong"):
        invoice_number("subscription", counter)


def test_an_unknown_series_has_no_numbers() -> None:
    with pytest.raises(KeyError):
        invoice_number("reminder", 1)


def test_series_never_overlap() -> None:
    # the last subscription number is below the first notice number, and so on
    assert invoice_number("subscription", 999_999_999) < invoice_number("notice", 1)
    assert invoice_number("notice", 999_999_999) < invoice_number("corrective", 1)
    assert sorted(SERIES_PREFIX.values()) == [1, 2, 3]


def test_corrective_invoices_of_both_kinds_share_one_series() -> None:
    assert series_for("subscription") == "subscription"
    assert series_for("notice") == "notice"
    assert series_for("subscription", corrective=True) == "corrective"
    assert series_for("notice", corrective=True) == "corrective"


def test_every_number_makes_a_printable_national_reference() -> None:
    # 1000000001: 1*7 + 1*7 = 14 -> check 6; 1999999999: 9*(7+3+1)*3 = 297, + 1*7 = 304 -> 6;
    # 3999999999: 297 + 3*7 = 318 -> 2 (the references are 11 digits, within the 20 allowed)
    assert national_reference(str(invoice_number("subscription", 1))) == "10000000016"
    assert national_reference(str(invoice_number("subscription", 999_999_999))) == "19999999996"
    assert national_reference(str(invoice_number("corrective", 999_999_999))) == "39999999992"
