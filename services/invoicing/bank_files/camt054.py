"""ISO 20022 camt.054 (BankToCustomerDebitCreditNotification), read. (Work in progress.)"""

from __future__ import annotations

from .model import BankFile, BankFileInvalid


def looks_like_xml(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


def parse(data: bytes) -> BankFile:
    raise BankFileInvalid("/", "camt.054-tuki ei ole vielä valmis.", "camt.054 is not supported yet.")
