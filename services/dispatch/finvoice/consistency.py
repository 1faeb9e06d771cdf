"""Rules beyond the XSD that are not sums (guidelines §9-§13, CONVENTIONS §1, §2, §4, §5, §8).

- every ``Format="CCYYMMDD"`` date is a calendar date (the XSD takes ``20230230``);
- quantities are numbers with a decimal comma (the XSD does not check them);
- element texts have no spaces next to the tags (§9.2);
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

from lxml import etree

from shared.finnish import is_electronic_iban
from shared.references import is_valid_national, is_valid_rf

from ..domain.barcode import NotCodable, virtual_barcode
from .numbers import is_number
from .tree import Findings, at, day, number, text

TYPE_CODES = frozenset(
    {"REQ01", "QUO01", "ORD01", "ORC01", "DEV01", "TES01", "PRI01", "INF01", "DEN01", "SDD01"}
    | {f"INV{n:02d}" for n in range(1, 10)}
    | {f"{kind}{n:02d}" for kind in ("SEI", "REC", "RES") for n in range(1, 10)}
)
"""The type codes of guidelines §10.5 (the XSD takes any ``INV`` + two digits)."""
NAMES_ORIGINAL = frozenset({"INV02", "INV03", "INV08"})
_DATE_DIGITS = re.compile(r"[0-9]{8}", re.ASCII)
_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?", re.ASCII)
_EPI = "EpiDetails/EpiPaymentInstructionDetails"
_BARCODE_PARTS = (
    ("version", 0, 1),
    ("account", 1, 17),
    ("amount", 17, 25),
    ("reference", 25, 48),
    ("due date", 48, 54),
)


def form(found: Findings) -> None:
    """Dates, quantities, spaces around texts."""
    for element in found.root.iter():
        if not isinstance(element.tag, str):
            continue
        value = element.text
        if len(element) == 0 and value and value != value.strip():
            found.add("whitespace", element, "spaces next to the tags (guidelines §9.2)")
        if (
            element.get("Format") is not None
            and value
            and _DATE_DIGITS.fullmatch(value.strip())
            and day(element) is None
        ):
            found.add("date-invalid", element, "not a calendar date")
        if element.tag.endswith("Quantity") and value and value.strip() and not is_number(value.strip()):
            found.add("quantity-format", element, "a quantity is digits with an optional decimal comma")


def currency(found: Findings) -> None:
    amounts: list[etree._Element] = []
    details = found.root.find("InvoiceDetails")
    if details is not None:
        amounts += [e for e in details if e.get("AmountCurrencyIdentifier")]
        for spec in details.findall("VatSpecificationDetails"):
            amounts += [e for e in spec if e.get("AmountCurrencyIdentifier")]
    for row in found.root.findall("InvoiceRow"):
        amounts += [e for e in row if e.get("AmountCurrencyIdentifier")]
    instructed = found.root.find(f"{_EPI}/EpiInstructedAmount")
    if instructed is not None:
        amounts.append(instructed)
    currencies = sorted({e.get("AmountCurrencyIdentifier", "") for e in amounts})
    if len(currencies) > 1:
        found.add("currency", "/Finvoice", f"amounts in several currencies ({', '.join(currencies)}); one expected")


def invoice_type(found: Findings) -> None:
    details = found.root.find("InvoiceDetails")
    if details is None:
        return
    code = text(details.find("InvoiceTypeCode")) or ""
    where = at(details, "InvoiceTypeCode")
    if code not in TYPE_CODES:
        found.add("type-code", where, "not an InvoiceTypeCode of the guidelines (§10.5)")
    un = text(details.find("InvoiceTypeCodeUN"))
    if un is not None and (code == "INV02") != (un == "381"):
        found.add(
            "type-code-un", at(details, "InvoiceTypeCodeUN"), "INV02 (credit note) goes with 381 and only with it"
        )
    total = number(details.find("InvoiceTotalVatIncludedAmount"))
    if code == "INV02":
        if total is not None and total >= 0:
            found.add(
                "credit-note-sign",
                at(details, "InvoiceTotalVatIncludedAmount"),
                "a credit note's total is negative (§10.5)",
            )
        if found.root.find("VirtualBankBarcode") is not None:
            found.add("credit-note-barcode", at(found.root, "VirtualBankBarcode"), "a credit note carries no bar code")
    if code in NAMES_ORIGINAL and not _names_original(found.root, details):
        found.add("original-invoice", where, f"{code} must give the OriginalInvoiceNumber it refers to (§10.6)")
    if text(details.find("OriginCode")) == "Cancel" and code != "INV02":
        found.add("origin-code", at(details, "OriginCode"), "OriginCode Cancel only on a credit note INV02 (§10.7)")


def _names_original(root: etree._Element, details: etree._Element) -> bool:
    if text(details.find("OriginalInvoiceNumber")) or details.find("OriginalInvoiceReference") is not None:
        return True
    priced = [r for r in root.findall("InvoiceRow") if r.find("RowVatExcludedAmount") is not None]
    return bool(priced) and all(text(r.find("OriginalInvoiceNumber")) for r in priced)


def payment(found: Findings) -> None:
    root = found.root
    reference = root.find(f"{_EPI}/EpiRemittanceInfoIdentifier")
    if reference is not None:
        value, scheme = text(reference) or "", reference.get("IdentificationSchemeName")
        if scheme == "SPY" and not is_valid_national(value):
            found.add("reference", reference, "not a national reference with a valid 7-3-1 check digit (SPY)")
        elif scheme == "ISO" and not is_valid_rf(value):
            found.add("reference", reference, "not an RF creditor reference with valid check digits (ISO 11649)")
        elif scheme is None:
            found.add("reference", reference, "IdentificationSchemeName SPY (national) or ISO (RF) is required")
    account = root.find("EpiDetails/EpiPartyDetails/EpiBeneficiaryPartyDetails/EpiAccountID")
    if (
        account is not None
        and account.get("IdentificationSchemeName") == "IBAN"
        and not is_electronic_iban(text(account) or "")
    ):
        found.add("iban", account, "not a valid IBAN in electronic form")
    bic = root.find("EpiDetails/EpiPartyDetails/EpiBfiPartyDetails/EpiBfiIdentifier")
    if bic is not None and not _BIC.fullmatch(text(bic) or ""):
        found.add("bic", bic, "not a BIC (8 or 11 letters and digits)")
    beneficiary = root.find("EpiDetails/EpiPartyDetails/EpiBeneficiaryPartyDetails")
    if beneficiary is not None and not text(beneficiary.find("EpiNameAddressDetails")):
        found.add("epi-name", beneficiary, "EpiNameAddressDetails (the payee's name) is required (§13)")
    pay_on = root.find(f"{_EPI}/EpiDateOptionDate")
    dues = [day(e) for e in root.findall("InvoiceDetails/PaymentTermsDetails/InvoiceDueDate")]
    known = [d for d in dues if d is not None]
    if pay_on is not None and day(pay_on) is not None and known and day(pay_on) not in known:
        found.add("due-date", pay_on, "EpiDateOptionDate is not the InvoiceDueDate")


def barcode(found: Findings) -> None:
    root = found.root
    element = root.find("VirtualBankBarcode")
    if element is None:
        return
    code = text(element) or ""
    if len(code) != 54 or not code.isascii() or not code.isdigit() or code[0] not in "45":
        found.add("barcode", element, "not a version 4 or 5 virtual bar code of 54 digits")
        return
    due = day(root.find(f"{_EPI}/EpiDateOptionDate"))
    try:
        expected = virtual_barcode(
            text(root.find("EpiDetails/EpiPartyDetails/EpiBeneficiaryPartyDetails/EpiAccountID")) or "",
            number(root.find(f"{_EPI}/EpiInstructedAmount")),
            text(root.find(f"{_EPI}/EpiRemittanceInfoIdentifier")) or "",
            due,
        )
    except NotCodable as exc:
        found.add("barcode", element, f"cannot be compared with the EPI data: {exc}")
        return
    differing = [name for name, start, end in _BARCODE_PARTS if code[start:end] != expected[start:end]]
    if differing:
        found.add("barcode", element, f"does not code the EPI data (differing: {', '.join(differing)})")


def check_consistency(found: Findings) -> None:
    form(found)
    currency(found)
    invoice_type(found)
    payment(found)
    barcode(found)
