"""Writes a Finvoice 3.0 file: the SOAP frame, then the Finvoice document.

Element order is the XSD's sequence; optional elements without data are left out (§9.2);
texts, entities and indentation as :mod:`.writer` says. The file is ISO-8859-15 as the
guidelines require (§9.3): a character outside it (``Ł``) is written as a character
reference, so nothing is lost.

Lengths the XSD sets are met by layout where that loses nothing: a long name is split
over several ``…OrganisationName`` elements (2-70 each, repeatable), a long street line
over several ``…StreetName`` (2-35, up to three), a description over 100 characters goes
whole into ``ArticleDescription`` beside a shortened ``ArticleName``. What cannot be laid
out (a fourth street line, a one-letter name) is written as it is and the schema check
refuses the file, naming the element.
"""

from __future__ import annotations

import re
import textwrap
from datetime import date
from decimal import Decimal

from shared.events.customers import PostalAddress
from shared.events.invoicing import InvoiceDocument
from shared.events.reminders import ReminderDocument

from ..domain.barcode import NotCodable, virtual_barcode
from . import numbers
from .draft import Draft, Overdue, Row, Scheme, draft_invoice, draft_reminder
from .frame import Parties, envelope
from .model import TransmissionFrame
from .writer import Writer, attr

ENCODING = "ISO-8859-15"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ROOT_ATTRIBUTES = f' Version="3.0" xmlns:xsi="{XSI}" xsi:noNamespaceSchemaLocation="Finvoice3.0.xsd"'
EUR = attr("AmountCurrencyIdentifier", "EUR")
CCYYMMDD = attr("Format", "CCYYMMDD")
PROLOGUE = (
    f'<?xml version="1.0" encoding="{ENCODING}"?>\n<?xml-stylesheet type="text/xsl" href="Finvoice.xsl"?>\n'
).encode("ascii")
_OVT = re.compile(r"0037[0-9]{8}[A-Za-z0-9]{0,5}", re.ASCII)
UN_UNITS = {"kpl": "C62", "kk": "MON", "h": "HUR", "pv": "DAY", "vk": "WEE", "v": "ANN", "km": "KMT", "kg": "KGM"}
"""Recommendation 20 codes for the units the order systems use (others: no UN code)."""
MAX_UNIT = 14
MAX_ARTICLE_NAME = 100


def build_finvoice(
    doc: InvoiceDocument | ReminderDocument, frame: TransmissionFrame, *, reference_scheme: Scheme | None = None
) -> bytes:
    """The file to send for ``doc``: frame + Finvoice, ISO-8859-15 bytes.

    ``reference_scheme``: ``SPY`` writes the national reference, ``ISO`` the RF one;
    by default national for a buyer in Finland and RF abroad.
    """
    draft = (
        draft_invoice(doc, reference_scheme)
        if isinstance(doc, InvoiceDocument)
        else draft_reminder(doc, reference_scheme)
    )
    data = doc.customer.data
    parties = Parties(
        sender=frame.sender_address.strip(),
        sender_intermediator=frame.sender_intermediator.strip(),
        receiver=(data.einvoice_address or "").strip(),
        receiver_intermediator=(data.einvoice_operator or "").strip(),
    )
    message_id = frame.message_id.strip()
    timestamp = frame.timestamp.isoformat(timespec="seconds")
    body = _finvoice(draft, parties, message_id, timestamp)
    return envelope(parties, message_id, timestamp) + PROLOGUE + body.encode(ENCODING, "xmlcharrefreplace")


def _amount(w: Writer, tag: str, value: Decimal) -> None:
    w.leaf(tag, numbers.amount(value), EUR)


def _date(w: Writer, tag: str, value: date) -> None:
    w.leaf(tag, numbers.ccyymmdd(value), CCYYMMDD)


def _pieces(text: str | None, width: int) -> list[str]:
    """``text`` in pieces of at most ``width`` characters, cut between words."""
    if not text or not text.strip():
        return []
    text = text.strip()
    if len(text) <= width:
        return [text]
    return textwrap.wrap(text, width, break_on_hyphens=False) or [text]


def _fit(text: str, width: int) -> str:
    """At most ``width`` characters, cut between words where possible (EPI names)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width + 1].rsplit(" ", 1)[0]
    return cut if 0 < len(cut) <= width else text[:width]


def _identifier(w: Writer, tag: str, value: str) -> None:
    w.leaf(tag, value, attr("SchemeID", "0037") if _OVT.fullmatch(value) else "")


def _address(w: Writer, prefix: str, address: PostalAddress | None) -> None:
    """``…PostalAddressDetails`` when street, post code and town are all known (all three
    are required in it); long street lines continue in the next ``…StreetName``."""
    if address is None or not address.postal_code or not address.city:
        return
    streets = [piece for line in address.street_lines for piece in _pieces(line, 35)]
    if not streets:
        return
    w.open(f"{prefix}PostalAddressDetails")
    for street in streets:
        w.leaf(f"{prefix}StreetName", street)
    w.leaf(f"{prefix}TownName", address.city)
    w.leaf(f"{prefix}PostCodeIdentifier", address.postal_code)
    w.leaf("CountryCode", address.country.upper())
    w.close(f"{prefix}PostalAddressDetails")


def _transmission(w: Writer, parties: Parties, message_id: str, timestamp: str) -> None:
    w.open("MessageTransmissionDetails")
    w.open("MessageSenderDetails")
    _identifier(w, "FromIdentifier", parties.sender)
    w.leaf("FromIntermediator", parties.sender_intermediator)
    w.close("MessageSenderDetails")
    w.open("MessageReceiverDetails")
    _identifier(w, "ToIdentifier", parties.receiver)
    w.leaf("ToIntermediator", parties.receiver_intermediator)
    w.close("MessageReceiverDetails")
    w.open("MessageDetails")
    w.leaf("MessageIdentifier", message_id)
    w.leaf("MessageTimeStamp", timestamp)
    w.close("MessageDetails")
    w.close("MessageTransmissionDetails")


def _parties(w: Writer, draft: Draft) -> None:
    seller = draft.seller
    w.open("SellerPartyDetails")
    w.leaf("SellerPartyIdentifier", seller.business_id)
    for piece in _pieces(seller.name, 70):
        w.leaf("SellerOrganisationName", piece)
    w.leaf("SellerOrganisationTaxCode", seller.vat_number)
    _address(w, "Seller", seller.address)
    w.close("SellerPartyDetails")
    if seller.einvoice_address:
        w.leaf("SellerOrganisationUnitNumber", seller.einvoice_address)
    if seller.phone or seller.email:
        w.open("SellerCommunicationDetails")
        if seller.phone:
            w.leaf("SellerPhoneNumberIdentifier", seller.phone)
        if seller.email:
            w.leaf("SellerEmailaddressIdentifier", seller.email)
        w.close("SellerCommunicationDetails")
    w.open("SellerInformationDetails")
    w.open("SellerAccountDetails")
    w.leaf("SellerAccountID", seller.iban, attr("IdentificationSchemeName", "IBAN"))
    w.leaf("SellerBic", seller.bic, attr("IdentificationSchemeName", "BIC"))
    w.close("SellerAccountDetails")
    w.close("SellerInformationDetails")
    w.leaf("InvoiceRecipientLanguageCode", draft.texts.language)
    buyer = draft.customer.data
    w.open("BuyerPartyDetails")
    if buyer.business_id:
        w.leaf("BuyerPartyIdentifier", buyer.business_id)
    for piece in _pieces(buyer.name, 70):
        w.leaf("BuyerOrganisationName", piece)
    _address(w, "Buyer", buyer.address)
    w.close("BuyerPartyDetails")


def _invoice_details(w: Writer, draft: Draft) -> None:
    w.open("InvoiceDetails")
    w.leaf("InvoiceTypeCode", draft.type_code, attr("CodeListAgencyIdentifier", "SPY"))
    if draft.type_code_un:
        w.leaf("InvoiceTypeCodeUN", draft.type_code_un)
    w.leaf("InvoiceTypeText", draft.type_text)
    w.leaf("OriginCode", "Original")
    w.leaf("InvoiceNumber", draft.number)
    _date(w, "InvoiceDate", draft.invoice_date)
    if draft.original_number:
        w.leaf("OriginalInvoiceNumber", draft.original_number)
    if draft.original_date:
        _date(w, "OriginalInvoiceDate", draft.original_date)
    if draft.period:
        _date(w, "InvoicingPeriodStartDate", draft.period[0])
        _date(w, "InvoicingPeriodEndDate", draft.period[1])
    w.leaf("SellersBuyerIdentifier", draft.customer.customer_number)
    _amount(w, "RowsTotalVatExcludedAmount", draft.rows_total)
    _amount(w, "InvoiceTotalVatExcludedAmount", draft.net)
    _amount(w, "InvoiceTotalVatAmount", draft.vat_total)
    _amount(w, "InvoiceTotalVatIncludedAmount", draft.gross)
    for block in draft.vat:
        w.open("VatSpecificationDetails")
        _amount(w, "VatBaseAmount", block.base)
        w.leaf("VatRatePercent", numbers.compact(block.rate))
        w.leaf("VatCode", block.code)
        _amount(w, "VatRateAmount", block.vat)
        if block.free_text:
            w.leaf("VatFreeText", block.free_text)
        w.close("VatSpecificationDetails")
    for text in draft.free_texts:
        w.leaf("InvoiceFreeText", text)
    w.open("PaymentTermsDetails")
    if draft.terms_text:
        w.leaf("PaymentTermsFreeText", draft.terms_text)
    _date(w, "InvoiceDueDate", draft.due_date)
    w.close("PaymentTermsDetails")
    w.close("InvoiceDetails")


def _barcode(w: Writer, draft: Draft) -> None:
    """The virtual bar code, for a Finvoice someone prints; not on a credit note (its
    amount is negative, §4) nor when the data cannot be coded (a foreign IBAN)."""
    if draft.type_code == "INV02" or draft.gross <= 0:
        return
    try:
        code = virtual_barcode(draft.seller.iban, draft.gross, draft.reference, draft.due_date)
    except NotCodable:
        return
    w.leaf("VirtualBankBarcode", code)


def _overdue(w: Writer, overdue: Overdue) -> None:
    w.open("RowOverDuePaymentDetails")
    if overdue.invoice_number:
        w.leaf("RowOriginalInvoiceIdentifier", overdue.invoice_number)
    if overdue.invoice_date:
        _date(w, "RowOriginalInvoiceDate", overdue.invoice_date)
    if overdue.due_date:
        _date(w, "RowOriginalDueDate", overdue.due_date)
    if overdue.invoice_total is not None:
        _amount(w, "RowOriginalInvoiceTotalAmount", overdue.invoice_total)
    if overdue.reference:
        w.leaf("RowOriginalEpiRemittanceInfoIdentifier", overdue.reference)
    if overdue.paid is not None:
        _amount(w, "RowPaidVatIncludedAmount", overdue.paid)
    if overdue.unpaid is not None:
        _amount(w, "RowUnPaidVatIncludedAmount", overdue.unpaid)
    if overdue.interest_rate is not None:
        w.leaf("RowInterestRate", numbers.compact(overdue.interest_rate))
    if overdue.interest_start:
        _date(w, "RowInterestStartDate", overdue.interest_start)
    if overdue.interest_end:
        _date(w, "RowInterestEndDate", overdue.interest_end)
    if overdue.interest_days is not None:
        w.leaf("RowInterestDateNumber", str(overdue.interest_days))
    if overdue.interest_amount is not None:
        _amount(w, "RowInterestChargeAmount", overdue.interest_amount)
    w.close("RowOverDuePaymentDetails")


def _row(w: Writer, row: Row) -> None:
    w.open("InvoiceRow")
    if row.code:
        w.leaf("ArticleIdentifier", row.code)
    name = row.name.strip()
    w.leaf("ArticleName", _fit(name, MAX_ARTICLE_NAME))
    if len(name) > MAX_ARTICLE_NAME:
        w.leaf("ArticleDescription", name)
    if row.quantity is not None:
        unit = (row.unit or "").strip()
        attrs = attr("QuantityUnitCode", unit) if 0 < len(unit) <= MAX_UNIT else ""
        if unit.lower() in UN_UNITS:
            attrs += attr("QuantityUnitCodeUN", UN_UNITS[unit.lower()])
        w.leaf("InvoicedQuantity", numbers.compact(row.quantity), attrs)
    if row.start:
        _date(w, "StartDate", row.start)
    if row.end:
        _date(w, "EndDate", row.end)
    if row.price is not None:
        w.leaf("UnitPriceAmount", numbers.unit_price(row.price), EUR)
    w.leaf("RowPositionIdentifier", str(row.position))
    if row.overdue:
        _overdue(w, row.overdue)
    w.leaf("RowVatRatePercent", numbers.compact(row.rate))
    w.leaf("RowVatCode", row.vat_code)
    _amount(w, "RowVatAmount", row.vat)
    _amount(w, "RowVatExcludedAmount", row.net)
    _amount(w, "RowAmount", row.gross)
    w.close("InvoiceRow")


def _epi(w: Writer, draft: Draft) -> None:
    seller = draft.seller
    w.open("EpiDetails")
    w.open("EpiIdentificationDetails")
    _date(w, "EpiDate", draft.invoice_date)
    w.leaf("EpiReference", None)
    w.close("EpiIdentificationDetails")
    w.open("EpiPartyDetails")
    w.open("EpiBfiPartyDetails")
    w.leaf("EpiBfiIdentifier", seller.bic, attr("IdentificationSchemeName", "BIC"))
    w.close("EpiBfiPartyDetails")
    w.open("EpiBeneficiaryPartyDetails")
    w.leaf("EpiNameAddressDetails", _fit(seller.name, 35))
    if 8 <= len(seller.business_id) <= 11:
        w.leaf("EpiBei", seller.business_id)
    w.leaf("EpiAccountID", seller.iban, attr("IdentificationSchemeName", "IBAN"))
    w.close("EpiBeneficiaryPartyDetails")
    w.close("EpiPartyDetails")
    w.open("EpiPaymentInstructionDetails")
    # Consumer e-invoices need it (§13): the identifier the payer gave in the receiver
    # notification, which for this seller is the customer number it asks for.
    w.leaf("EpiPaymentInstructionId", draft.customer.customer_number)
    w.leaf("EpiRemittanceInfoIdentifier", draft.reference, attr("IdentificationSchemeName", draft.scheme))
    _amount(w, "EpiInstructedAmount", draft.gross)
    w.leaf("EpiCharge", "SHA", attr("ChargeOption", "SHA"))
    _date(w, "EpiDateOptionDate", draft.due_date)
    w.leaf("EpiPaymentMeansCode", "58")
    w.close("EpiPaymentInstructionDetails")
    w.close("EpiDetails")


def _finvoice(draft: Draft, parties: Parties, message_id: str, timestamp: str) -> str:
    w = Writer()
    w.open("Finvoice", ROOT_ATTRIBUTES)
    _transmission(w, parties, message_id, timestamp)
    _parties(w, draft)
    _invoice_details(w, draft)
    _barcode(w, draft)
    for row in draft.rows:
        _row(w, row)
    _epi(w, draft)
    w.close("Finvoice")
    return w.text()
