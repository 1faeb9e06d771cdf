"""Finnish identifier helpers shared by the services (pure functions, no I/O).

- Business ID (*Y-tunnus*): seven digits, a hyphen and a check digit. Weights
  7, 9, 10, 5, 8, 4, 2 from the left; remainder 0 gives check digit 0, remainder 1
  is never issued (invalid), otherwise the check digit is 11 - remainder. Old
  six-digit IDs are written with a leading zero.
- OVT e-invoice address: ``0037`` + the eight digits of the Y-tunnus (without the
  hyphen) + an optional organisation-specific suffix of up to five characters.
- IBAN: ISO 13616, mod-97 check (used as an e-invoice address by consumers' banks).
"""

from __future__ import annotations

import re

_BUSINESS_ID = re.compile(r"^(\d{6,7})-(\d)$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)
_OVT = re.compile(r"^0037(\d{8})([A-Za-z0-9]{0,5})$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
_IBAN_LENGTH = {"FI": 18, "AX": 18, "SE": 24, "EE": 20, "DE": 22, "NO": 15, "DK": 18}


def business_id_check_digit(body: str) -> int | None:
    """Check digit for seven digits, or None when the remainder is 1 (never issued)."""
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    remainder = total % 11
    if remainder == 0:
        return 0
    if remainder == 1:
        return None
    return 11 - remainder


def is_valid_business_id(value: str) -> bool:
    match = _BUSINESS_ID.match(value.strip())
    if not match:
        return False
    body = match.group(1).zfill(7)
    expected = business_id_check_digit(body)
    return expected is not None and expected == int(match.group(2))


def business_id_from_digits(digits: str) -> str:
    """``'07375462'`` -> ``'0737546-2'``."""
    return f"{digits[:7]}-{digits[7]}"


def is_valid_ovt(value: str) -> bool:
    match = _OVT.match(value.strip())
    return match is not None and is_valid_business_id(business_id_from_digits(match.group(1)))


def normalise_iban(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()


def is_valid_iban(value: str) -> bool:
    iban = normalise_iban(value)
    if not _IBAN.match(iban):
        return False
    expected_length = _IBAN_LENGTH.get(iban[:2])
    if expected_length is not None and len(iban) != expected_length:
        return False
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1
