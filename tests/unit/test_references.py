"""Payment references with vectors computed by hand (the arithmetic is in the comments)
and the published ISO 11649 example."""

import pytest

from shared.references import (
    InvalidReference,
    format_national,
    format_rf,
    is_valid_national,
    is_valid_rf,
    national_reference,
    rf_reference,
)


@pytest.mark.parametrize(
    ("base", "reference"),
    [
        # 7*7 + 6*3 + 5*1 + 4*7 + 3*3 + 2*1 + 1*7 = 118 -> 120 - 118 = 2 (the vector)
        ("1234567", "12345672"),
        # 1*7 + 1*3 + 1*1 + 1*7 = 18 -> 2 (the virtual bar code example's reference 11112)
        ("1111", "11112"),
        # 0*7 + 0*3 + 1*1 = 1 -> 9; leading zeros are kept
        ("100", "1009"),
        # a sum that is already a multiple of ten gives 0: 0*7 + 1*3 + 7*1 = 10 -> 0
        ("710", "7100"),
    ],
)
def test_national_reference_adds_the_7_3_1_check_digit(base: str, reference: str) -> None:
    assert national_reference(base) == reference
    assert is_valid_national(reference)


@pytest.mark.parametrize("bad", ["12", "1" * 20, "12a4", "１２３４", "١٢٣", ""])
def test_a_base_that_is_not_3_to_19_ascii_digits_is_refused(bad: str) -> None:
    with pytest.raises(InvalidReference):
        national_reference(bad)


def test_a_wrong_check_digit_or_foreign_digits_are_not_a_valid_national_reference() -> None:
    assert not is_valid_national("12345673")
    assert not is_valid_national("1234567٢")
    assert is_valid_national("123 45672")  # spaces as printed are fine


def test_national_reference_is_printed_in_groups_of_five_from_the_right() -> None:
    assert format_national("12345672") == "123 45672"
    assert format_national("11112") == "11112"
    assert format_national("1234567890123") == "123 45678 90123"


def test_rf_reference_of_a_national_one() -> None:
    # "12345672" + "RF00" -> 12345672 27 15 00; 12345672271500 mod 97 = 13; 98 - 13 = 85
    assert rf_reference("12345672") == "RF8512345672"
    # 11112271500 = 97 * 114559500, mod 97 = 0 -> check digits 98 (the top of 02..98)
    assert rf_reference("11112") == "RF9811112"
    assert format_rf("RF8512345672") == "RF85 1234 5672"


def test_the_published_iso_11649_example_is_valid_and_a_changed_digit_is_not() -> None:
    assert is_valid_rf("RF18 5390 0754 7034")
    assert is_valid_rf("rf18539007547034")
    assert not is_valid_rf("RF18 5390 0754 7035")
    assert not is_valid_rf("RF19 5390 0754 7034")
    assert not is_valid_rf("XX18 5390 0754 7034")


def test_rf_of_an_invalid_national_reference_is_refused() -> None:
    with pytest.raises(InvalidReference):
        rf_reference("12345673")
