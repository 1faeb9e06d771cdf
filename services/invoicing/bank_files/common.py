"""What both bank-file formats check the same way: the size limit, references, amounts,
archive ids repeated within a file. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from shared.money import format_fi
from shared.references import is_valid_national, is_valid_rf

from .model import BankFileEntry, BankFileInvalid

MAX_BANK_FILE_BYTES = 16 * 1024 * 1024
"""The largest file either parser reads (16 MiB: about 180,000 viitesiirto records or
10,000 camt.054 transactions; a bank's daily file is far smaller). Larger is refused
before anything is decoded or parsed."""

MAX_ENTRY_AMOUNT = Decimal("99999999.99")
"""The largest single payment a viitesiirto record can carry (10 digits of cents); camt.054
amounts are held to the same bound."""


def euros_fi(amount: Decimal) -> str:
    """An amount as Finnish text writes it in a message: ``1 234,56 €`` (comma decimal,
    no-break spaces), never ``1234.56``."""
    return f"{format_fi(amount)}\u00a0€"


def check_size(data: bytes) -> None:
    if len(data) > MAX_BANK_FILE_BYTES:
        raise BankFileInvalid(
            "file",
            f"Tiedosto on liian suuri ({len(data)} tavua, enintään {MAX_BANK_FILE_BYTES}).",
            f"The file is too large ({len(data)} bytes, at most {MAX_BANK_FILE_BYTES}).",
        )
    if not data.strip():
        raise BankFileInvalid("file", "Tiedosto on tyhjä.", "The file is empty.")


def normalize_reference(raw: str, where: str) -> str:
    """The creditor reference as the import matches it: a national reference without
    spaces or leading zeros (``1232``), or an RF reference upper-case without spaces
    (``RF471232``). A missing or invalid reference refuses the file: a bank routes only
    payments with a valid reference into its reference-payment services, so anything
    else means the file is not what it claims to be."""
    compact = raw.replace(" ", "").upper()
    if not compact.strip("0"):
        raise BankFileInvalid(where, "Viite puuttuu.", "The reference is missing.")
    if compact.lstrip("0").startswith("RF"):
        compact = compact.lstrip("0")
        if not is_valid_rf(compact):
            raise BankFileInvalid(
                where,
                "RF-viite ei ole kelvollinen (tarkiste ei täsmää).",
                "The RF reference is not valid (its check digits do not match).",
            )
        return compact
    national = compact.lstrip("0")
    if not is_valid_national(national):
        raise BankFileInvalid(
            where,
            "Viite ei ole kelvollinen kotimainen viite (4–20 numeroa, tarkiste 7-3-1).",
            "The reference is not a valid Finnish reference (4 to 20 digits, 7-3-1 check digit).",
        )
    return national


def check_amount(amount: Decimal, where: str) -> None:
    if amount <= 0:
        raise BankFileInvalid(where, "Summan on oltava suurempi kuin nolla.", "The amount must be greater than zero.")
    if amount > MAX_ENTRY_AMOUNT:
        raise BankFileInvalid(
            where,
            f"Summa on suurempi kuin {euros_fi(MAX_ENTRY_AMOUNT)}.",
            f"The amount is larger than {MAX_ENTRY_AMOUNT} euros.",
        )


def check_unique_archive_ids(entries: Iterable[BankFileEntry]) -> None:
    """An entry's identity is its archive id and its kind: two payments (or two
    reversals) of one file with the same id mean a broken file. A correction may carry
    its payment's own archive id (nothing in either format forbids it, and it is the
    obvious way to point at the original), so a payment and a reversal may share one."""
    seen: dict[tuple[str, bool], str] = {}
    for entry in entries:
        key = (entry.archive_id, entry.reversal)
        earlier = seen.get(key)
        if earlier is not None:
            raise BankFileInvalid(
                entry.location,
                f"Arkistointitunnus toistuu tiedostossa (myös kohdassa {earlier}).",
                f"The archive id is repeated in the file (also at {earlier}).",
            )
        seen[key] = entry.location


def iban_from_finnish_bban(bban: str) -> str:
    """``FIkk`` + the 14-digit machine-format Finnish account number (the form a
    viitesiirto record carries): the check digits by ISO 13616 MOD 97-10."""
    check = 98 - int(bban + "1518" + "00") % 97  # F = 15, I = 18
    return f"FI{check:02d}{bban}"
