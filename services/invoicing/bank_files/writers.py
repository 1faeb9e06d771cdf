"""A :class:`BankFile` written back as a bank would deliver it: for round-trip tests, demo
data and the test kit. The layouts are the parsers' (``viitesiirto.py``, ``camt054.py``).

Not for sending anywhere: a writer trusts its input (a value that does not fit its field
raises ``ValueError``) and never invents an entry.
"""

from __future__ import annotations

import re
from datetime import datetime

from .model import BankFile, BankFileEntry

_VIITESIIRTO_FILE_ID = re.compile(r"^(\d{12})-(\d{0,2})-(\S{0,9})$")


def write_viitesiirto(bank_file: BankFile) -> bytes:
    """One batch: a batch record, a reference payment record (code 3) per entry, a
    correction code 1 for a reversal, and the sum record (payments and corrections apart).
    ISO 8859-1, CRLF after every record."""
    created_at, bank_code, service_id = _batch_header(bank_file)
    account = _bban(bank_file.account)
    lines = ["0" + f"{created_at:%y%m%d%H%M}" + bank_code.rjust(2, "0") + service_id.ljust(9) + "1" + " " * 67]
    counts = {False: [0, 0], True: [0, 0]}
    for entry in bank_file.entries:
        cents = int(entry.amount * 100)
        counts[entry.reversal][0] += 1
        counts[entry.reversal][1] += cents
        lines.append(_payment_record(entry, account, cents))
    (payments, payment_cents), (corrections, correction_cents) = counts[False], counts[True]
    lines.append(
        "9" + f"{payments:06d}{payment_cents:011d}{corrections:06d}{correction_cents:011d}" + "0" * 17 + " " * 38
    )
    for line in lines:
        if len(line) != 90:
            raise ValueError(f"a record came out {len(line)} characters long")
    return "".join(line + "\r\n" for line in lines).encode("iso-8859-1")


def _batch_header(bank_file: BankFile) -> tuple[datetime, str, str]:
    match = _VIITESIIRTO_FILE_ID.match(bank_file.file_id)
    if match:
        return datetime.strptime(match[1], "%Y%m%d%H%M"), match[2], match[3]
    created_at = bank_file.created_at or datetime(2000, 1, 1)
    return created_at, "00", bank_file.file_id[:9]


def _bban(account: str | None) -> str:
    compact = (account or "").replace(" ", "")
    if compact.startswith("FI") and len(compact) == 18:
        compact = compact[4:]
    if len(compact) != 14 or not compact.isdigit():
        raise ValueError("a viitesiirto file needs a Finnish account (FI IBAN or 14 digits)")
    return compact


def _payment_record(entry: BankFileEntry, account: str, cents: int) -> str:
    if len(entry.archive_id) > 16:
        raise ValueError("an archive id is at most 16 characters in a viitesiirto file")
    rf = entry.reference.startswith("RF")
    reference = entry.reference.ljust(20) if rf else entry.reference.rjust(20, "0")
    if len(reference) != 20:
        raise ValueError("a reference is at most 20 characters in a viitesiirto file")
    name = (entry.payer_name or "")[:12].encode("iso-8859-1", errors="replace").decode("iso-8859-1")
    return (
        "3"
        + account
        + f"{entry.booking_date:%y%m%d}"
        + f"{entry.payment_date:%y%m%d}"
        + entry.archive_id.ljust(16)
        + reference
        + name.ljust(12)
        + "1"
        + ("A" if name else " ")
        + f"{cents:010d}"
        + ("1" if entry.reversal else "0")
        + "A"
        + " "
    )
