"""A bank's payment file as parsed: the file and its entries, before anything is recorded.

Both formats (ISO 20022 camt.054 and the Finnish reference-payment record file,
*viitesiirtoaineisto*) parse into these, so the import, its preview and its checks do not
care which one the bank sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

BankFileFormat = Literal["camt.054", "viitesiirto"]


@dataclass(frozen=True)
class BankFileEntry:
    """One incoming reference payment, or a reversal (correction) of one."""

    archive_id: str
    """The bank's archive reference for this entry: the event's ``payment_id``."""
    reference: str
    """The creditor reference as the file gives it (national digits or RF form)."""
    amount: Decimal
    """Euros, > 0: received, or for a reversal taken back."""
    booking_date: date
    payment_date: date
    payer_name: str | None
    reversal: bool
    reverses_archive_id: str | None
    """The reversed payment's archive id, when the file names it."""
    location: str
    """Where in the file: ``line 4`` or an element path, for messages and the preview."""


@dataclass(frozen=True)
class BankFile:
    format: BankFileFormat
    file_id: str
    """The bank's identifier of the file (camt.054 message id; viitesiirto batch header)."""
    created_at: datetime | None
    account: str | None
    """The creditor's account (IBAN or domestic number) the payments came to."""
    entries: tuple[BankFileEntry, ...]


class BankFileInvalid(ValueError):
    """The file is refused whole: ``where`` says the line or element that is wrong."""

    def __init__(self, where: str, fi: str, en: str) -> None:
        super().__init__(f"{where}: {en}")
        self.where = where
        self.fi = fi
        self.en = en
