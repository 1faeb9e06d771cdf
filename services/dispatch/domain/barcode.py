"""The bank transfer form's virtual bar code (*virtuaaliviivakoodi*), 54 digits.

Finance Finland's bar code guide ("Pankkiviivakoodi-opas"): printed on the form as
digits and as a Code 128 (set C) bar code, so a payer's bank reads the account, amount,
reference and due date without typing them.

Version 4 (national reference)::

    4 | IBAN digits (16, "FI" left out) | euros (6) | cents (2) | 000 | reference (20) | due YYMMDD

Version 5 (RF reference)::

    5 | IBAN digits (16) | euros (6) | cents (2) | RF check digits (2) | reference (21) | due YYMMDD

Numbers are right-aligned with leading zeros. An amount over 999,999.99 € or a
missing one is coded as zeros (the payer types it), a missing due date as ``000000``.
Only Finnish IBANs can be coded. Pure functions, no I/O.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

MAX_AMOUNT = Decimal("999999.99")


class NotCodable(ValueError):
    """The data cannot be put in a virtual bar code (the reason says why)."""


def _iban_digits(iban: str) -> str:
    compact = iban.replace(" ", "").upper()
    if not compact.startswith("FI") or len(compact) != 18 or not (compact[2:].isascii() and compact[2:].isdigit()):
        raise NotCodable("only a Finnish IBAN (FI + 16 digits) can be coded")
    return compact[2:]


def _amount(amount: Decimal | None) -> str:
    if amount is None or amount > MAX_AMOUNT or amount <= 0:
        return "0" * 8
    cents = amount.quantize(Decimal("0.01"))
    if cents != amount:
        raise NotCodable("the amount has more than two decimals")
    euros, fraction = divmod(int(cents * 100), 100)
    return f"{euros:06d}{fraction:02d}"


def _due(due: date | None) -> str:
    return due.strftime("%y%m%d") if due is not None else "000000"


def virtual_barcode(iban: str, amount: Decimal | None, reference: str, due: date | None) -> str:
    """The 54-digit virtual bar code: version 4 for a national reference, version 5 for
    an RF reference (``RF`` + check digits + up to 21 digits)."""
    account = _iban_digits(iban)
    ref = reference.replace(" ", "").upper()
    if ref.startswith("RF"):
        check, body = ref[2:4], ref[4:]
        if not (check.isascii() and check.isdigit() and body.isascii() and body.isdigit()) or len(body) > 21:
            raise NotCodable("an RF reference is coded only when it is RF + 2 check digits + at most 21 digits")
        code = f"5{account}{_amount(amount)}{check}{body.zfill(21)}{_due(due)}"
    else:
        if not (ref.isascii() and ref.isdigit()) or not 4 <= len(ref) <= 20:
            raise NotCodable("a national reference is 4 to 20 digits")
        code = f"4{account}{_amount(amount)}000{ref.zfill(20)}{_due(due)}"
    assert len(code) == 54, len(code)
    return code
