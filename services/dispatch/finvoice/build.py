"""Writes a Finvoice 3.0 file: the SOAP frame, then the Finvoice document.

Element order is the XSD's sequence; texts are trimmed (no spaces next to tags, §9.2);
optional elements without data are left out (§9.2); indentation is two spaces, never
tabs. The file is ISO-8859-15 as the guidelines require (§9.3): a character outside it
(``Ł``) is written as a character reference, so nothing is lost.

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

from lxml import etree

from shared.events.customers import PostalAddress
from shared.events.invoicing import InvoiceDocument
from shared.events.reminders import ReminderDocument

from ..domain.barcode import NotCodable, virtual_barcode
from . import numbers
from .draft import Draft, Overdue, Row, Scheme, draft_invoice, draft_reminder
from .frame import Parties, envelope
from .model import TransmissionFrame

ENCODING = "ISO-8859-15"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
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
    timestamp = frame.timestamp.isoformat(timespec="seconds")
    root = _finvoice(draft, parties, frame.message_id.strip(), timestamp)
    body = etree.tostring(root, encoding=ENCODING, xml_declaration=False, pretty_print=True)
    assert isinstance(body, bytes)  # an encoding was given
    return envelope(parties, frame.message_id.strip(), timestamp) + PROLOGUE + body


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text.strip()
    return element


def _amount(parent: etree._Element, tag: str, value: Decimal) -> None:
    _sub(parent, tag, numbers.amount(value), AmountCurrencyIdentifier="EUR")


def _date(parent: etree._Element, tag: str, value: date) -> None:
    _sub(parent, tag, numbers.ccyymmdd(value), Format="CCYYMMDD")


def _pieces(text: str | None, width: int) -> list[str]:
    """``text`` in pieces of at most ``width`` characters, cut between words."""
    if not text or not text.strip():
        return []
    return textwrap.wrap(text.strip(), width, break_on_hyphens=False) or [text.strip()]


def _fit(text: str, width: int) -> str:
    """At most ``width`` characters, cut between words where possible (EPI names)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width + 1].rsplit(" ", 1)[0]
    return cut if 0 < len(cut) <= width else text[:width]


def _identifier(parent: etree._Element, tag: str, value: str) -> None:
    if _OVT.fullmatch(value):
        _sub(parent, tag, value, SchemeID="0037")
    else:
        _sub(parent, tag, value)


def _address(parent: etree._Element, prefix: str, tag: str, address: PostalAddress | None) -> None:
    """``…PostalAddressDetails`` when street, post code and town are all known (all three
    are required in it); long street lines continue in the next ``…StreetName``."""
    if address is None or not address.postal_code or not address.city:
        return
    streets = [piece for line in address.street_lines for piece in _pieces(line, 35)]
    if not streets:
        return
    details = _sub(parent, tag)
    for street in streets:
        _sub(details, f"{prefix}StreetName", street)
    _sub(details, f"{prefix}TownName", address.city)
    _sub(details, f"{prefix}PostCodeIdentifier", address.postal_code)
    _sub(details, "CountryCode", address.country.upper())


def _transmission(root: etree._Element, parties: Parties, message_id: str, timestamp: str) -> None:
    details = _sub(root, "MessageTransmissionDetails")
    sender = _sub(details, "MessageSenderDetails")
    _identifier(sender, "FromIdentifier", parties.sender)
    _sub(sender, "FromIntermediator", parties.sender_intermediator)
    receiver = _sub(details, "MessageReceiverDetails")
    _identifier(receiver, "ToIdentifier", parties.receiver)
    _sub(receiver, "ToIntermediator", parties.receiver_intermediator)
    message = _sub(details, "MessageDetails")
    _sub(message, "MessageIdentifier", message_id)
    _sub(message, "MessageTimeStamp", timestamp)


def _parties(root: etree._Element, draft: Draft) -> None:
    seller = draft.seller
    party = _sub(root, "SellerPartyDetails")
    _sub(party, "SellerPartyIdentifier", seller.business_id)
    for piece in _pieces(seller.name, 70):
        _sub(party, "SellerOrganisationName", piece)
    _sub(party, "SellerOrganisationTaxCode", seller.vat_number)
    _address(party, "Seller", "SellerPostalAddressDetails", seller.address)
    if seller.einvoice_address:
        _sub(root, "SellerOrganisationUnitNumber", seller.einvoice_address)
    if seller.phone or seller.email:
        contact = _sub(root, "SellerCommunicationDetails")
        if seller.phone:
            _sub(contact, "SellerPhoneNumberIdentifier", seller.phone)
        if seller.email:
            _sub(contact, "SellerEmailaddressIdentifier", seller.email)
    account = _sub(_sub(root, "SellerInformationDetails"), "SellerAccountDetails")
    _sub(account, "SellerAccountID", seller.iban, IdentificationSchemeName="IBAN")
    _sub(account, "SellerBic", seller.bic, IdentificationSchemeName="BIC")
    _sub(root, "InvoiceRecipientLanguageCode", draft.texts.language)
    buyer = draft.customer.data
    party = _sub(root, "BuyerPartyDetails")
    if buyer.business_id:
        _sub(party, "BuyerPartyIdentifier", buyer.business_id)
    for piece in _pieces(buyer.name, 70):
        _sub(party, "BuyerOrganisationName", piece)
    _address(party, "Buyer", "BuyerPostalAddressDetails", buyer.address)


def _invoice_details(root: etree._Element, draft: Draft) -> None:
    details = _sub(root, "InvoiceDetails")
    _sub(details, "InvoiceTypeCode", draft.type_code, CodeListAgencyIdentifier="SPY")
    if draft.type_code_un:
        _sub(details, "InvoiceTypeCodeUN", draft.type_code_un)
    _sub(details, "InvoiceTypeText", draft.type_text)
    _sub(details, "OriginCode", "Original")
    _sub(details, "InvoiceNumber", draft.number)
    _date(details, "InvoiceDate", draft.invoice_date)
    if draft.original_number:
        _sub(details, "OriginalInvoiceNumber", draft.original_number)
    if draft.original_date:
        _date(details, "OriginalInvoiceDate", draft.original_date)
    if draft.period:
        _date(details, "InvoicingPeriodStartDate", draft.period[0])
        _date(details, "InvoicingPeriodEndDate", draft.period[1])
    _sub(details, "SellersBuyerIdentifier", draft.customer.customer_number)
    _amount(details, "RowsTotalVatExcludedAmount", draft.rows_total)
    _amount(details, "InvoiceTotalVatExcludedAmount", draft.net)
    _amount(details, "InvoiceTotalVatAmount", draft.vat_total)
    _amount(details, "InvoiceTotalVatIncludedAmount", draft.gross)
    for block in draft.vat:
        spec = _sub(details, "VatSpecificationDetails")
        _amount(spec, "VatBaseAmount", block.base)
        _sub(spec, "VatRatePercent", numbers.compact(block.rate))
        _sub(spec, "VatCode", block.code)
        _amount(spec, "VatRateAmount", block.vat)
        if block.free_text:
            _sub(spec, "VatFreeText", block.free_text)
    for text in draft.free_texts:
        _sub(details, "InvoiceFreeText", text)
    terms = _sub(details, "PaymentTermsDetails")
    if draft.terms_text:
        _sub(terms, "PaymentTermsFreeText", draft.terms_text)
    _date(terms, "InvoiceDueDate", draft.due_date)


def _barcode(root: etree._Element, draft: Draft) -> None:
    """The virtual bar code, for a Finvoice someone prints; not on a credit note (its
    amount is negative, §4) nor when the data cannot be coded (a foreign IBAN)."""
    if draft.type_code == "INV02" or draft.gross <= 0:
        return
    try:
        code = virtual_barcode(draft.seller.iban, draft.gross, draft.reference, draft.due_date)
    except NotCodable:
        return
    _sub(root, "VirtualBankBarcode", code)


def _overdue(row: etree._Element, overdue: Overdue) -> None:
    details = _sub(row, "RowOverDuePaymentDetails")
    if overdue.invoice_number:
        _sub(details, "RowOriginalInvoiceIdentifier", overdue.invoice_number)
    if overdue.invoice_date:
        _date(details, "RowOriginalInvoiceDate", overdue.invoice_date)
    if overdue.due_date:
        _date(details, "RowOriginalDueDate", overdue.due_date)
    if overdue.invoice_total is not None:
        _amount(details, "RowOriginalInvoiceTotalAmount", overdue.invoice_total)
    if overdue.reference:
        _sub(details, "RowOriginalEpiRemittanceInfoIdentifier", overdue.reference)
    if overdue.paid is not None:
        _amount(details, "RowPaidVatIncludedAmount", overdue.paid)
    if overdue.unpaid is not None:
        _amount(details, "RowUnPaidVatIncludedAmount", overdue.unpaid)
    if overdue.interest_rate is not None:
        _sub(details, "RowInterestRate", numbers.compact(overdue.interest_rate))
    if overdue.interest_start:
        _date(details, "RowInterestStartDate", overdue.interest_start)
    if overdue.interest_end:
        _date(details, "RowInterestEndDate", overdue.interest_end)
    if overdue.interest_days is not None:
        _sub(details, "RowInterestDateNumber", str(overdue.interest_days))
    if overdue.interest_amount is not None:
        _amount(details, "RowInterestChargeAmount", overdue.interest_amount)


def _row(root: etree._Element, row: Row) -> None:
    element = _sub(root, "InvoiceRow")
    if row.code:
        _sub(element, "ArticleIdentifier", row.code)
    name = row.name.strip()
    _sub(element, "ArticleName", _fit(name, MAX_ARTICLE_NAME))
    if len(name) > MAX_ARTICLE_NAME:
        _sub(element, "ArticleDescription", name)
    if row.quantity is not None:
        unit = (row.unit or "").strip()
        attrib = {"QuantityUnitCode": unit} if 0 < len(unit) <= MAX_UNIT else {}
        if unit.lower() in UN_UNITS:
            attrib["QuantityUnitCodeUN"] = UN_UNITS[unit.lower()]
        _sub(element, "InvoicedQuantity", numbers.compact(row.quantity), **attrib)
    if row.start:
        _date(element, "StartDate", row.start)
    if row.end:
        _date(element, "EndDate", row.end)
    if row.price is not None:
        _sub(element, "UnitPriceAmount", numbers.unit_price(row.price), AmountCurrencyIdentifier="EUR")
    _sub(element, "RowPositionIdentifier", str(row.position))
    if row.overdue:
        _overdue(element, row.overdue)
    _sub(element, "RowVatRatePercent", numbers.compact(row.rate))
    _sub(element, "RowVatCode", row.vat_code)
    _amount(element, "RowVatAmount", row.vat)
    _amount(element, "RowVatExcludedAmount", row.net)
    _amount(element, "RowAmount", row.gross)


def _epi(root: etree._Element, draft: Draft) -> None:
    seller = draft.seller
    epi = _sub(root, "EpiDetails")
    identification = _sub(epi, "EpiIdentificationDetails")
    _date(identification, "EpiDate", draft.invoice_date)
    _sub(identification, "EpiReference")
    party = _sub(epi, "EpiPartyDetails")
    _sub(_sub(party, "EpiBfiPartyDetails"), "EpiBfiIdentifier", seller.bic, IdentificationSchemeName="BIC")
    beneficiary = _sub(party, "EpiBeneficiaryPartyDetails")
    _sub(beneficiary, "EpiNameAddressDetails", _fit(seller.name, 35))
    if 8 <= len(seller.business_id) <= 11:
        _sub(beneficiary, "EpiBei", seller.business_id)
    _sub(beneficiary, "EpiAccountID", seller.iban, IdentificationSchemeName="IBAN")
    instruction = _sub(epi, "EpiPaymentInstructionDetails")
    # Consumer e-invoices need it (§13): the identifier the payer gave in the receiver
    # notification, which for this seller is the customer number it asks for.
    _sub(instruction, "EpiPaymentInstructionId", draft.customer.customer_number)
    _sub(instruction, "EpiRemittanceInfoIdentifier", draft.reference, IdentificationSchemeName=draft.scheme)
    _sub(instruction, "EpiInstructedAmount", numbers.amount(draft.gross), AmountCurrencyIdentifier="EUR")
    _sub(instruction, "EpiCharge", "SHA", ChargeOption="SHA")
    _date(instruction, "EpiDateOptionDate", draft.due_date)
    _sub(instruction, "EpiPaymentMeansCode", "58")


def _finvoice(draft: Draft, parties: Parties, message_id: str, timestamp: str) -> etree._Element:
    root = etree.Element("Finvoice", {"Version": "3.0"}, nsmap={"xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}noNamespaceSchemaLocation", "Finvoice3.0.xsd")
    _transmission(root, parties, message_id, timestamp)
    _parties(root, draft)
    _invoice_details(root, draft)
    _barcode(root, draft)
    for row in draft.rows:
        _row(root, row)
    _epi(root, draft)
    return root
