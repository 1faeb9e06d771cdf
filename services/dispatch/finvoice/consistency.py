"""Rules beyond the XSD that are not sums (guidelines §9-§13, CONVENTIONS §1, §2, §4, §5, §8).
(Dates, quantities and spaces, which concern single elements, are checked while the
document is indexed: :mod:`.tree`.)

- the amounts that are summed share one currency (§19.1);
- ``InvoiceTypeCode`` is one the guidelines list (§10.5); ``INV02`` ↔ ``InvoiceTypeCodeUN``
  381; a credit note has a negative total and no bar code; a credit note, interest note
  or reminder names the original invoice (§10.6); ``OriginCode`` ``Cancel`` only on INV02;
- the reference's check digits fit its scheme: ``SPY`` national 7-3-1, ``ISO`` RF
  (ISO 11649) (§13); the payee's IBAN is valid, the BIC well formed; the payee's name
  is given (§13);
- the payment date (``EpiDateOptionDate``) is the due date (``InvoiceDueDate``);
- a ``VirtualBankBarcode`` codes the EPI account, amount, reference and due date.
"""

from __future__ import annotations

import re
from functools import lru_cache

from shared.finnish import is_electronic_iban
from shared.references import is_valid_national, is_valid_rf

from ..domain.barcode import NotCodable, virtual_barcode
from .tree import Findings, at, day, number, text

TYPE_CODES = frozenset(
    {"REQ01", "QUO01", "ORD01", "ORC01", "DEV01", "TES01", "PRI01", "INF01", "DEN01", "SDD01"}
    | {f"INV{n:02d}" for n in range(1, 10)}
    | {f"{kind}{n:02d}" for kind in ("SEI", "REC", "RES") for n in range(1, 10)}
)
"""The type codes of guidelines §10.5 (the XSD takes any ``INV`` + two digits)."""
NAMES_ORIGINAL = frozenset({"INV02", "INV03", "INV08"})
_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?", re.ASCII)
_BARCODE_PARTS = (
    ("version", 0, 1),
    ("account", 1, 17),
    ("amount", 17, 25),
    ("reference", 25, 48),
    ("due date", 48, 54),
)


def currency(found: Findings) -> None:
    currencies = sorted(found.currencies)
    if len(currencies) > 1:
        found.add("currency", "/Finvoice", f"amounts in several currencies ({', '.join(currencies)}); one expected")


def invoice_type(found: Findings) -> None:
    details = found.details
    if not details:
        return
    parent = found.top["InvoiceDetails"]
    code = text(details.get("InvoiceTypeCode")) or ""
    where = at(parent, details, "InvoiceTypeCode")
    if code not in TYPE_CODES:
        found.add("type-code", where, "not an InvoiceTypeCode of the guidelines (§10.5)")
    un = text(details.get("InvoiceTypeCodeUN"))
    if un is not None and (code == "INV02") != (un == "381"):
        found.add(
            "type-code-un",
            at(parent, details, "InvoiceTypeCodeUN"),
            "INV02 (credit note) goes with 381 and only with it",
        )
    total = number(details.get("InvoiceTotalVatIncludedAmount"))
    if code == "INV02":
        if total is not None and total >= 0:
            found.add(
                "credit-note-sign",
                at(parent, details, "InvoiceTotalVatIncludedAmount"),
                "a credit note's total is negative (§10.5)",
            )
        if "VirtualBankBarcode" in found.top:
            found.add("credit-note-barcode", found.top["VirtualBankBarcode"], "a credit note carries no bar code")
    if code in NAMES_ORIGINAL and not _names_original(found):
        found.add("original-invoice", where, f"{code} must give the OriginalInvoiceNumber it refers to (§10.6)")
    if text(details.get("OriginCode")) == "Cancel" and code != "INV02":
        found.add(
            "origin-code", at(parent, details, "OriginCode"), "OriginCode Cancel only on a credit note INV02 (§10.7)"
        )


def _names_original(found: Findings) -> bool:
    details = found.details
    if text(details.get("OriginalInvoiceNumber")) or "OriginalInvoiceReference" in details:
        return True
    priced = [row for row in found.rows if "RowVatExcludedAmount" in row.fields]
    return bool(priced) and all(text(row.fields.get("OriginalInvoiceNumber")) for row in priced)


@lru_cache(maxsize=256)
def _iban_ok(value: str) -> bool:
    """Cached: a seller sends thousands of files to the same few accounts (schwifty's
    full check costs ~20 µs)."""
    return is_electronic_iban(value)


def payment(found: Findings) -> None:
    epi = found.epi
    reference = epi.get("EpiRemittanceInfoIdentifier")
    if reference is not None:
        value, scheme = text(reference) or "", reference.get("IdentificationSchemeName")
        if scheme == "SPY" and not is_valid_national(value):
            found.add("reference", reference, "not a national reference with a valid 7-3-1 check digit (SPY)")
        elif scheme == "ISO" and not is_valid_rf(value):
            found.add("reference", reference, "not an RF creditor reference with valid check digits (ISO 11649)")
        elif scheme is None:
            found.add("reference", reference, "IdentificationSchemeName SPY (national) or ISO (RF) is required")
    account = epi.get("EpiAccountID")
    if account is not None and account.get("IdentificationSchemeName") == "IBAN" and not _iban_ok(text(account) or ""):
        found.add("iban", account, "not a valid IBAN in electronic form")
    bic = epi.get("EpiBfiIdentifier")
    if bic is not None and not _BIC.fullmatch(text(bic) or ""):
        found.add("bic", bic, "not a BIC (8 or 11 letters and digits)")
    beneficiary = epi.get("EpiBeneficiaryPartyDetails")
    if beneficiary is not None and not text(epi.get("EpiNameAddressDetails")):
        found.add("epi-name", beneficiary, "EpiNameAddressDetails (the payee's name) is required (§13)")
    pay_on = epi.get("EpiDateOptionDate")
    known = [d for d in (day(e) for e in found.due_dates) if d is not None]
    if pay_on is not None and day(pay_on) is not None and known and day(pay_on) not in known:
        found.add("due-date", pay_on, "EpiDateOptionDate is not the InvoiceDueDate")


def barcode(found: Findings) -> None:
    element = found.top.get("VirtualBankBarcode")
    if element is None:
        return
    code = text(element) or ""
    if len(code) != 54 or not code.isascii() or not code.isdigit() or code[0] not in "45":
        found.add("barcode", element, "not a version 4 or 5 virtual bar code of 54 digits")
        return
    epi = found.epi
    try:
        expected = virtual_barcode(
            text(epi.get("EpiAccountID")) or "",
            number(epi.get("EpiInstructedAmount")),
            text(epi.get("EpiRemittanceInfoIdentifier")) or "",
            day(epi.get("EpiDateOptionDate")),
        )
    except NotCodable as exc:
        found.add("barcode", element, f"cannot be compared with the EPI data: {exc}")
        return
    differing = [name for name, start, end in _BARCODE_PARTS if code[start:end] != expected[start:end]]
    if differing:
        found.add("barcode", element, f"does not code the EPI data (differing: {', '.join(differing)})")


def check_consistency(found: Findings) -> None:
    currency(found)
    invoice_type(found)
    payment(found)
    barcode(found)
