"""A :class:`BankFile` written back as a bank would deliver it: for round-trip tests, demo
data and the test kit. The layouts are the parsers' (``viitesiirto.py``, ``camt054.py``).

Not for sending anywhere: a writer trusts its input (a value that does not fit its field
raises ``ValueError``) and never invents an entry.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

from lxml import etree

from .model import BankFile, BankFileEntry


class _Sub(Protocol):
    def __call__(self, parent: etree._Element, name: str, text: str | None = None, **attrib: str) -> etree._Element: ...


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


def write_camt054(bank_file: BankFile, version: Literal["02", "08"] = "02") -> bytes:
    """A camt.054.001.02 (or .08) notification valid against the vendored schema: one
    booked entry per entry (``CRDT``; a reversal ``DBIT`` with ``RvslInd``), its archive id
    as both the entry's and the transaction's ``AcctSvcrRef``, the payment date as
    ``AccptncDtTm``, and the summary (``TxsSummry``) with all three totals."""
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.054.001.{version}"

    def sub(parent: etree._Element, name: str, text: str | None = None, **attrib: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{ns}}}{name}", attrib)
        if text is not None:
            element.text = text
        return element

    root = etree.Element(f"{{{ns}}}Document", nsmap={None: ns})  # type: ignore[dict-item]  # lxml-stubs: default namespace
    message = sub(root, "BkToCstmrDbtCdtNtfctn")
    header = sub(message, "GrpHdr")
    created = (bank_file.created_at or datetime(2000, 1, 1)).isoformat(timespec="seconds")
    sub(header, "MsgId", bank_file.file_id)
    sub(header, "CreDtTm", created)
    notification = sub(message, "Ntfctn")
    sub(notification, "Id", bank_file.file_id)
    sub(notification, "CreDtTm", created)
    account = (bank_file.account or "").replace(" ", "")
    account_id = sub(sub(notification, "Acct"), "Id")
    if re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}", account):
        sub(account_id, "IBAN", account)
    else:
        sub(sub(account_id, "Othr"), "Id", account or "UNKNOWN")
    _camt_summary(bank_file, notification, sub, version)
    for entry in bank_file.entries:
        _camt_entry(entry, notification, sub, version)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _camt_summary(bank_file: BankFile, notification: etree._Element, sub: _Sub, version: str) -> None:
    credits = [e.amount for e in bank_file.entries if not e.reversal]
    debits = [e.amount for e in bank_file.entries if e.reversal]
    net = sum(credits, Decimal(0)) - sum(debits, Decimal(0))
    summary = sub(notification, "TxsSummry")
    totals = sub(summary, "TtlNtries")
    sub(totals, "NbOfNtries", str(len(bank_file.entries)))
    sub(totals, "Sum", f"{sum(credits + debits, Decimal(0)):.2f}")
    side = "CRDT" if net >= 0 else "DBIT"
    if version == "02":
        sub(totals, "TtlNetNtryAmt", f"{abs(net):.2f}")
        sub(totals, "CdtDbtInd", side)
    else:
        net_entry = sub(totals, "TtlNetNtry")
        sub(net_entry, "Amt", f"{abs(net):.2f}")
        sub(net_entry, "CdtDbtInd", side)
    for name, group in (("TtlCdtNtries", credits), ("TtlDbtNtries", debits)):
        element = sub(summary, name)
        sub(element, "NbOfNtries", str(len(group)))
        sub(element, "Sum", f"{sum(group, Decimal(0)):.2f}")


def _camt_entry(entry: BankFileEntry, notification: etree._Element, sub: _Sub, version: str) -> None:
    amount = f"{entry.amount:.2f}"
    ntry = sub(notification, "Ntry")
    sub(ntry, "Amt", amount, Ccy="EUR")
    sub(ntry, "CdtDbtInd", "DBIT" if entry.reversal else "CRDT")
    if entry.reversal:
        sub(ntry, "RvslInd", "true")
    if version == "02":
        sub(ntry, "Sts", "BOOK")
    else:
        sub(sub(ntry, "Sts"), "Cd", "BOOK")
    sub(sub(ntry, "BookgDt"), "Dt", entry.booking_date.isoformat())
    sub(sub(ntry, "ValDt"), "Dt", entry.booking_date.isoformat())
    sub(ntry, "AcctSvcrRef", entry.archive_id)
    domain = sub(sub(ntry, "BkTxCd"), "Domn")
    sub(domain, "Cd", "PMNT")
    family = sub(domain, "Fmly")
    sub(family, "Cd", "RCDT")
    sub(family, "SubFmlyCd", "ESCT")
    tx = sub(sub(ntry, "NtryDtls"), "TxDtls")
    sub(sub(tx, "Refs"), "AcctSvcrRef", entry.archive_id)
    sub(sub(sub(tx, "AmtDtls"), "TxAmt"), "Amt", amount, Ccy="EUR")
    if entry.payer_name:
        debtor = sub(sub(tx, "RltdPties"), "Dbtr")
        sub(debtor if version == "02" else sub(debtor, "Pty"), "Nm", entry.payer_name)
    reference = sub(sub(sub(tx, "RmtInf"), "Strd"), "CdtrRefInf")
    kind = sub(reference, "Tp")
    sub(sub(kind, "CdOrPrtry"), "Cd", "SCOR")
    if entry.reference.startswith("RF"):
        sub(kind, "Issr", "ISO")
    sub(reference, "Ref", entry.reference)
    sub(sub(tx, "RltdDts"), "AccptncDtTm", f"{entry.payment_date.isoformat()}T00:00:00")
