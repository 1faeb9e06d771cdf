"""Finnish identifiers with real vectors. Check digits worked by hand (weights
7, 9, 10, 5, 8, 4, 2), e.g. Nokia Oyj 0112038: 0+9+10+10+0+12+16 = 57, 57 mod 11 = 2,
check 11-2 = 9; 1234568: 7+18+30+20+40+24+16 = 155, 155 mod 11 = 1: never issued."""

import pytest

from shared.finnish import is_electronic_iban, is_valid_business_id, is_valid_iban, is_valid_ovt


@pytest.mark.parametrize(
    "business_id",
    ["0112038-9", "1927400-1", "0737546-2", "1234567-1", "737546-2"],
)
def test_valid_business_ids(business_id: str) -> None:
    assert is_valid_business_id(business_id)


@pytest.mark.parametrize(
    ("business_id", "why"),
    [
        ("0112038-8", "wrong check digit"),
        ("1234568-0", "remainder 1: no check digit exists"),
        ("1234568-1", "remainder 1: no check digit exists"),
        ("0000006-5", "remainder 1: no check digit exists"),
        ("01120389", "no hyphen"),
        ("0112038 9", "space instead of hyphen"),
        ("A112038-9", "letter"),
        ("", "empty"),
    ],
)
def test_invalid_business_ids(business_id: str, why: str) -> None:
    assert not is_valid_business_id(business_id), why


@pytest.mark.parametrize("address", ["003701120389", "0037011203891", "003701120389ABC12", "003719274001"])
def test_valid_ovt_addresses(address: str) -> None:
    assert is_valid_ovt(address)


@pytest.mark.parametrize(
    "address",
    [
        "003701120388",  # embedded business ID has a wrong check digit
        "003712345680",  # 1234568: remainder 1
        "0036011203890",  # not the Finnish 0037 prefix
        "00370112038",  # seven digits only
        "003701120389ABCDEF",  # suffix longer than five characters
    ],
)
def test_invalid_ovt_addresses(address: str) -> None:
    assert not is_valid_ovt(address)


def test_iban_check_accepts_the_standard_finnish_example_and_rejects_a_typo() -> None:
    assert is_valid_iban("FI21 1234 5600 0007 85")
    assert is_valid_iban("FI2112345600000785")
    assert not is_valid_iban("FI2112345600000786")
    assert not is_valid_iban("FI211234560000078")  # one digit short for FI


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("٠١١٢٠٣٨-٩", "Arabic-Indic digits"),
        ("０１１２０３８-９", "full-width digits"),
        (" 0112038-9", "leading space"),
        ("0112038-9 ", "trailing space"),
        ("0112038-9\n", "trailing newline"),
        ("FI01120389", "VAT number form"),
    ],
)
def test_business_id_is_taken_exactly_as_written_in_ascii(value: str, why: str) -> None:
    assert not is_valid_business_id(value), why


@pytest.mark.parametrize(
    "address",
    ["0037٠١١٢٠٣٨٩", " 003701120389", "003701120389 ", "003701120389\x00"],
)
def test_ovt_refuses_other_scripts_digits_and_surrounding_whitespace(address: str) -> None:
    assert not is_valid_ovt(address)


@pytest.mark.parametrize(
    ("iban", "valid", "why"),
    [
        ("DE89 3704 0044 0532 0130 00", True, "German, printed form"),
        ("NO9386011117947", True, "Norway: 15 characters"),
        ("GB82WEST12345698765432", True, "letters where the UK BBAN has them"),
        ("DE0537040044053201300A", False, "mod 97 holds, but a German BBAN is all digits"),
        ("FI721234560000078A", False, "mod 97 holds, but a Finnish BBAN is all digits"),
        ("XK8112345678901234", False, "mod 97 holds, but Kosovo's IBAN has 20 characters"),
        ("FI21١2345600000785", False, "an Arabic-Indic digit"),
        (" FI2112345600000785", False, "leading space"),
    ],
)
def test_iban_is_checked_against_its_countrys_format(iban: str, valid: bool, why: str) -> None:
    assert is_valid_iban(iban) is valid, why


def test_electronic_iban_has_no_spaces_and_upper_case_only() -> None:
    assert is_electronic_iban("FI2112345600000785")
    assert not is_electronic_iban("FI21 1234 5600 0007 85")
    assert not is_electronic_iban("fi2112345600000785")
