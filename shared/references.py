"""Payment references (*viitenumero*): the Finnish national reference and its
international RF form (ISO 11649). Pure functions, no I/O.

National reference (Finance Finland, "Viitenumero ja tilisiirtolomake"): a base of 3 to
19 digits followed by one check digit. The base's digits, from the right, are weighted
7, 3, 1, 7, 3, 1, ...; the check digit is what brings the weighted sum up to the next
multiple of ten (0 when it already is one). Printed in groups of five digits counted
from the right: ``1234 56783``.

RF reference (ISO 11649): ``RF`` + two check digits + the national reference. The check
digits are computed like an IBAN's (ISO 7064 MOD 97-10): move ``RF00`` to the end,
letters to numbers (A = 10 ... Z = 35), and the check is ``98 - (number mod 97)``.
Printed in groups of four: ``RF33 1234 5678 3``.
"""

from __future__ import annotations

_WEIGHTS = (7, 3, 1)
MIN_BASE_DIGITS = 3
MAX_BASE_DIGITS = 19


class InvalidReference(ValueError):
    """Not a valid national or RF reference (the reason says why, without the value)."""


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def national_check_digit(base: str) -> int:
    """The 7-3-1 check digit of a reference base (3 to 19 ASCII digits)."""
    if not _ascii_digits(base) or not MIN_BASE_DIGITS <= len(base) <= MAX_BASE_DIGITS:
        raise InvalidReference(f"a reference base is {MIN_BASE_DIGITS} to {MAX_BASE_DIGITS} digits 0-9")
    total = sum(int(d) * _WEIGHTS[i % 3] for i, d in enumerate(reversed(base)))
    return (10 - total % 10) % 10


def national_reference(base: str) -> str:
    """The national reference for ``base``: the base and its check digit, no spaces."""
    return base + str(national_check_digit(base))


def is_valid_national(reference: str) -> bool:
    compact = reference.replace(" ", "")
    if not _ascii_digits(compact) or not MIN_BASE_DIGITS + 1 <= len(compact) <= MAX_BASE_DIGITS + 1:
        return False
    return national_check_digit(compact[:-1]) == int(compact[-1])


def _mod97(text: str) -> int:
    """ISO 7064 MOD 97-10 of an alphanumeric string (letters A=10 ... Z=35)."""
    number = "".join(str(int(c, 36)) for c in text)
    return int(number) % 97


def rf_reference(national: str) -> str:
    """The RF form of a national reference: ``RF`` + check digits + the reference
    (leading zeros of the national reference are kept as printed)."""
    compact = national.replace(" ", "")
    if not is_valid_national(compact):
        raise InvalidReference("not a valid national reference (7-3-1 check digit)")
    check = 98 - _mod97(compact + "RF00")
    return f"RF{check:02d}{compact}"


def is_valid_rf(reference: str) -> bool:
    compact = reference.replace(" ", "").upper()
    if len(compact) < 5 or len(compact) > 25 or not compact.startswith("RF") or not compact.isascii():
        return False
    if not compact[2:4].isdigit() or not compact[4:].isalnum():
        return False
    return _mod97(compact[4:] + compact[:4]) == 1


def format_national(reference: str) -> str:
    """Groups of five digits counted from the right, as printed on an invoice."""
    compact = reference.replace(" ", "")
    head = len(compact) % 5
    groups = ([compact[:head]] if head else []) + [compact[i : i + 5] for i in range(head, len(compact), 5)]
    return " ".join(groups)


def format_rf(reference: str) -> str:
    """Groups of four characters from the left, as printed on an invoice."""
    compact = reference.replace(" ", "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
