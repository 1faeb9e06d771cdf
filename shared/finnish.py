"""Finnish identifier helpers shared by the services (pure functions, no I/O).

- Business ID (*Y-tunnus*): seven digits, a hyphen and a check digit. Weights
  7, 9, 10, 5, 8, 4, 2 from the left; remainder 0 gives check digit 0, remainder 1
  is never issued (invalid), otherwise the check digit is 11 - remainder. Old
  six-digit IDs are written with a leading zero. The check itself is python-stdnum's
  (``stdnum.fi.alv.checksum``, what ``stdnum.fi.ytunnus`` validates with); the
  written form is checked here first, because stdnum also takes ``FI``-prefixed,
  hyphen-less and space-separated numbers.
- OVT e-invoice address: ``0037`` + the eight digits of a valid Y-tunnus (without the
  hyphen) + an optional organisation-specific suffix of up to five characters.
- IBAN: ISO 13616, checked by schwifty against each country's registered length and
  BBAN structure (not only mod 97).

Every check takes the text exactly as given: ASCII digits only (``\\d`` would let
other scripts' digits, e.g. Arabic-Indic ``١``, through), and no surrounding
whitespace, so what is valid is also what can be stored and sent as it is.
"""

from __future__ import annotations

import re

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.fi import alv

_BUSINESS_ID = re.compile(r"([0-9]{6,7})-([0-9])", re.ASCII)
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)
_OVT = re.compile(r"0037([0-9]{8})([A-Za-z0-9]{0,5})", re.ASCII)
_IBAN_PRINTED = re.compile(r"[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,30}", re.ASCII)


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
    """``0112038-9`` (and the old six-digit form ``737546-2``); nothing else."""
    match = _BUSINESS_ID.fullmatch(value)
    if not match:
        return False
    # eight digits already (the pattern): the check digit alone, as ytunnus.validate
    # ends (its clean-up of separators and case has nothing left to do)
    return bool(alv.checksum(match.group(1).zfill(7) + match.group(2)) == 0)


def business_id_from_digits(digits: str) -> str:
    """``'07375462'`` -> ``'0737546-2'``."""
    return f"{digits[:7]}-{digits[7]}"


def is_valid_ovt(value: str) -> bool:
    """OVT built on a valid Y-tunnus: ``0037`` + its eight digits + suffix (0-5)."""
    match = _OVT.fullmatch(value)
    return match is not None and is_valid_business_id(business_id_from_digits(match.group(1)))


def normalise_iban(value: str) -> str:
    """Electronic form: no spaces, upper case (``FI21 1234 …`` -> ``FI211234…``)."""
    return value.replace(" ", "").upper()


def is_valid_iban(value: str) -> bool:
    """An IBAN in electronic or printed (groups of four) form, valid for its country."""
    if not _IBAN_PRINTED.fullmatch(value):
        return False
    try:
        IBAN(normalise_iban(value), validate_bban=True)
    except SchwiftyException:
        return False
    return True


def is_electronic_iban(value: str) -> bool:
    """An IBAN as machines exchange it (e.g. a Finvoice address): no spaces, upper case."""
    return value == normalise_iban(value) and is_valid_iban(value)
