"""Finnish identifiers with real vectors. Check digits worked by hand (weights
7, 9, 10, 5, 8, 4, 2), e.g. Nokia Oyj 0112038: 0+9+10+10+0+12+16 = 57, 57 mod 11 = 2,
check 11-2 = 9; 1234568: 7+18+30+20+40+24+16 = 155, 155 mod 11 = 1: never issued."""

import pytest

from shared.finnish import is_valid_business_id, is_valid_iban, is_valid_ovt


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
