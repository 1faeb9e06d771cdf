"""Finvoice field mapping, worked by hand from the sample documents of
``tests.support.documents`` (the default invoice: 1 x 30.00 at 10 % and 2 x 12.10 at
25.5 %; net 54.20, VAT 3.00 + 6.17 = 9.17, gross 63.37; invoice 1000000001 of
2026-11-02, 14 days net -> due 2026-11-16)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.dispatch.finvoice import ENCODING, build_finvoice, check_finvoice
from shared.events.customers import PostalAddress
from shared.events.invoicing import InvoiceDocument
from shared.events.reminders import InterestPeriod
from shared.events.sales import ServicePeriod
from tests.support.documents import COMPANY, PERSON, credit_note, customer, invoice, reminder
from tests.support.finvoice import EB, NS, SELLER_OPERATOR, SELLER_OVT, XLINK, finvoice, frame, one, parts, texts

CONSUMER = PERSON.model_copy(
    update={"einvoice_address": "FI3715903000000776", "einvoice_operator": "NDEAFIHH", "delivery_channel": "einvoice"}
)


def company_invoice(**kwargs: object) -> InvoiceDocument:
    return invoice(who=customer("C-2", COMPANY), **kwargs)  # type: ignore[arg-type]


def test_every_document_type_validates_against_the_xsd_and_the_rules() -> None:
    original = company_invoice()
    corrective = credit_note(original, new_quantities={1: "1", 2: "3"})
    assert corrective.document_type == "corrective"
    documents = [
        original,
        invoice(who=customer("C-1", CONSUMER)),
        credit_note(original),
        corrective,
        reminder(original),
        reminder(original, level=2, fee="10.00", interest="2.15"),
    ]
    for doc in documents:
        assert check_finvoice(build_finvoice(doc, frame())) == [], doc


def test_invoice_amounts_are_written_with_a_decimal_comma_and_two_decimals() -> None:
    root = finvoice(build_finvoice(company_invoice(), frame()))
    assert one(root, "InvoiceDetails/InvoiceTypeCode") == "INV01"
    assert one(root, "InvoiceDetails/InvoiceTypeCodeUN") == "380"
    assert one(root, "InvoiceDetails/InvoiceTypeText") == "LASKU"
    assert one(root, "InvoiceDetails/InvoiceNumber") == "1000000001"
    assert one(root, "InvoiceDetails/InvoiceDate") == "20261102"
    assert one(root, "InvoiceDetails/RowsTotalVatExcludedAmount") == "54,20"
    assert one(root, "InvoiceDetails/InvoiceTotalVatExcludedAmount") == "54,20"
    assert one(root, "InvoiceDetails/InvoiceTotalVatAmount") == "9,17"
    assert one(root, "InvoiceDetails/InvoiceTotalVatIncludedAmount") == "63,37"
    assert one(root, "InvoiceDetails/PaymentTermsDetails/InvoiceDueDate") == "20261116"
    assert one(root, "InvoiceDetails/PaymentTermsDetails/PaymentTermsFreeText") == "14 päivää netto"
    # one block per rate: 10 % of 30.00 = 3.00; 25.5 % of 24.20 = 6.171 -> 6.17
    assert texts(root, "InvoiceDetails/VatSpecificationDetails/VatBaseAmount") == ["30,00", "24,20"]
    assert texts(root, "InvoiceDetails/VatSpecificationDetails/VatRatePercent") == ["10", "25,5"]
    assert texts(root, "InvoiceDetails/VatSpecificationDetails/VatCode") == ["S", "S"]
    assert texts(root, "InvoiceDetails/VatSpecificationDetails/VatRateAmount") == ["3,00", "6,17"]
    # rows: quantity 2 x 12,10 = 24,20 net, + 6,17 VAT = 30,37
    assert texts(root, "InvoiceRow/ArticleIdentifier") == ["HS-1KK", "KUVA"]
    assert texts(root, "InvoiceRow/ArticleName") == ["Helsingin Sanomat 1 kk", "Kuvaliite"]
    assert texts(root, "InvoiceRow/InvoicedQuantity") == ["1", "2"]
    assert [e.get("QuantityUnitCodeUN") for e in root.findall("InvoiceRow/InvoicedQuantity")] == ["C62", "C62"]
    assert texts(root, "InvoiceRow/UnitPriceAmount") == ["30,00", "12,10"]
    assert texts(root, "InvoiceRow/RowVatRatePercent") == ["10", "25,5"]
    assert texts(root, "InvoiceRow/RowVatAmount") == ["3,00", "6,17"]
    assert texts(root, "InvoiceRow/RowVatExcludedAmount") == ["30,00", "24,20"]
    assert texts(root, "InvoiceRow/RowAmount") == ["33,00", "30,37"]
    epi = "EpiDetails/EpiPaymentInstructionDetails/"
    assert one(root, epi + "EpiInstructedAmount") == "63,37"
    assert root.find(epi + "EpiInstructedAmount").get("AmountCurrencyIdentifier") == "EUR"  # type: ignore[union-attr]
    assert one(root, epi + "EpiDateOptionDate") == "20261116"
    assert one(root, epi + "EpiPaymentInstructionId") == "C-2"
    assert one(root, "EpiDetails/EpiPartyDetails/EpiBeneficiaryPartyDetails/EpiAccountID") == "FI2112345600000785"
    assert one(root, "EpiDetails/EpiPartyDetails/EpiBfiPartyDetails/EpiBfiIdentifier") == "NDEAFIHH"
    assert (
        one(root, "EpiDetails/EpiPartyDetails/EpiBeneficiaryPartyDetails/EpiNameAddressDetails") == "Esimerkkimedia Oy"
    )
    for element in root.iter():
        if element.get("Format") is not None:
            assert element.get("Format") == "CCYYMMDD"


def test_a_zero_rate_line_gets_its_own_vat_block_with_code_z_and_a_reason() -> None:
    spec = (("HS-1KK", "Helsingin Sanomat 1 kk", "1", "30.00", "10"), ("NOUTO", "Noutopiste", "1", "2.50", "0"))
    xml = build_finvoice(company_invoice(spec=spec), frame())
    root = finvoice(xml)
    assert texts(root, "InvoiceDetails/VatSpecificationDetails/VatRatePercent") == ["0", "10"]
    assert texts(root, "InvoiceDetails/VatSpecificationDetails/VatCode") == ["Z", "S"]
    assert texts(root, "InvoiceDetails/VatSpecificationDetails/VatBaseAmount") == ["2,50", "30,00"]
    assert texts(root, "InvoiceDetails/VatSpecificationDetails/VatRateAmount") == ["0,00", "3,00"]
    assert texts(root, "InvoiceDetails/VatSpecificationDetails/VatFreeText") == ["ALV 0 %"]
    assert texts(root, "InvoiceRow/RowVatCode") == ["S", "Z"]
    assert check_finvoice(xml) == []


def test_service_periods_become_row_dates_and_the_invoicing_period() -> None:
    doc = company_invoice()
    periods = [
        ServicePeriod(start=date(2026, 11, 1), end=date(2026, 11, 30)),
        ServicePeriod(start=date(2026, 10, 15), end=date(2026, 11, 14)),
    ]
    doc = doc.model_copy(
        update={
            "lines": [line.model_copy(update={"service_period": p}) for line, p in zip(doc.lines, periods, strict=True)]
        }
    )
    xml = build_finvoice(doc, frame())
    root = finvoice(xml)
    assert texts(root, "InvoiceRow/StartDate") == ["20261101", "20261015"]
    assert texts(root, "InvoiceRow/EndDate") == ["20261130", "20261114"]
    # the invoice's period: the earliest start and the latest end
    assert one(root, "InvoiceDetails/InvoicingPeriodStartDate") == "20261015"
    assert one(root, "InvoiceDetails/InvoicingPeriodEndDate") == "20261130"
    assert check_finvoice(xml) == []


def test_optional_elements_without_data_are_left_out() -> None:
    # a consumer: no business ID; no address: no postal address block (§9.2); EpiReference is
    # mandatory but not the payment reference, so it is written empty (CONVENTIONS §2)
    who = customer("C-7", CONSUMER.model_copy(update={"address": None}))
    xml = build_finvoice(invoice(who=who), frame())
    root = finvoice(xml)
    assert root.find("BuyerPartyDetails/BuyerPartyIdentifier") is None
    assert root.find("BuyerPartyDetails/BuyerPostalAddressDetails") is None
    assert one(root, "BuyerPartyDetails/BuyerOrganisationName") == "Maija Meikäläinen"
    assert one(root, "EpiDetails/EpiIdentificationDetails/EpiReference") == ""
    assert check_finvoice(xml) == []


def test_special_characters_are_written_as_the_five_entities() -> None:
    who = customer("C-8", COMPANY.model_copy(update={"name": "Osta & Myy <\"Paras\"> 'Kauppa' Oy"}))
    xml = build_finvoice(invoice(who=who), frame())
    assert b"Osta &amp; Myy &lt;&quot;Paras&quot;&gt; &apos;Kauppa&apos; Oy" in xml  # guidelines §9.3
    assert one(finvoice(xml), "BuyerPartyDetails/BuyerOrganisationName") == "Osta & Myy <\"Paras\"> 'Kauppa' Oy"
    assert check_finvoice(xml) == []


def test_parties_seller_and_buyer() -> None:
    root = finvoice(build_finvoice(company_invoice(), frame()))
    assert one(root, "SellerPartyDetails/SellerPartyIdentifier") == "0737546-2"
    assert one(root, "SellerPartyDetails/SellerOrganisationName") == "Esimerkkimedia Oy"
    assert one(root, "SellerPartyDetails/SellerOrganisationTaxCode") == "FI07375462"
    assert one(root, "SellerPartyDetails/SellerPostalAddressDetails/SellerStreetName") == "Mediakatu 1"
    assert one(root, "SellerInformationDetails/SellerAccountDetails/SellerAccountID") == "FI2112345600000785"
    assert one(root, "BuyerPartyDetails/BuyerPartyIdentifier") == "0112038-9"
    assert one(root, "BuyerPartyDetails/BuyerOrganisationName") == "Yritys Oy"
    assert one(root, "BuyerPartyDetails/BuyerPostalAddressDetails/BuyerPostCodeIdentifier") == "00510"
    assert one(root, "BuyerPartyDetails/BuyerPostalAddressDetails/CountryCode") == "FI"
    assert one(root, "InvoiceDetails/SellersBuyerIdentifier") == "C-2"
    assert one(root, "InvoiceRecipientLanguageCode") == "FI"


def test_a_finnish_buyer_gets_the_national_reference_under_spy_and_its_barcode_version_4() -> None:
    root = finvoice(build_finvoice(company_invoice(), frame()))
    reference = root.find("EpiDetails/EpiPaymentInstructionDetails/EpiRemittanceInfoIdentifier")
    assert reference is not None
    # base 1000000001, weights 7,3,1 from the right: 1*7 + 1*7 = 14 -> check digit 6
    assert (reference.get("IdentificationSchemeName"), reference.text) == ("SPY", "10000000016")
    # 4 | IBAN digits | 000063 37 | 000 | reference in 20 | due 261116
    expected = "4" + "2112345600000785" + "00006337" + "000" + "00000000010000000016" + "261116"
    assert one(root, "VirtualBankBarcode") == expected


def test_the_rf_reference_goes_under_iso_abroad_or_on_request_with_barcode_version_5() -> None:
    # RF check: "10000000016" + "RF00" -> 10000000016271500 mod 97 = 6 -> 98 - 6 = 92
    abroad = customer(
        "C-3",
        COMPANY.model_copy(
            update={
                "address": PostalAddress(street_lines=["Gatan 1"], postal_code="11122", city="Stockholm", country="SE")
            }
        ),
    )
    for xml in (
        build_finvoice(invoice(who=abroad), frame()),
        build_finvoice(company_invoice(), frame(), reference_scheme="ISO"),
    ):
        root = finvoice(xml)
        reference = root.find("EpiDetails/EpiPaymentInstructionDetails/EpiRemittanceInfoIdentifier")
        assert reference is not None
        assert (reference.get("IdentificationSchemeName"), reference.text) == ("ISO", "RF9210000000016")
        # 5 | IBAN digits | amount | RF check 92 | reference in 21 | due
        expected = "5" + "2112345600000785" + "00006337" + "92" + "000000000010000000016" + "261116"
        assert one(root, "VirtualBankBarcode") == expected
        assert check_finvoice(xml) == []


def test_a_credit_note_is_inv02_with_the_original_number_and_negative_amounts() -> None:
    xml = build_finvoice(credit_note(company_invoice()), frame("inv-3000000001"))
    root = finvoice(xml)
    assert one(root, "InvoiceDetails/InvoiceTypeCode") == "INV02"
    assert one(root, "InvoiceDetails/InvoiceTypeCodeUN") == "381"
    assert one(root, "InvoiceDetails/InvoiceTypeText") == "HYVITYSLASKU"
    assert one(root, "InvoiceDetails/InvoiceNumber") == "3000000001"
    assert one(root, "InvoiceDetails/OriginalInvoiceNumber") == "1000000001"
    names = [child.tag for child in root.find("InvoiceDetails")]  # type: ignore[union-attr]
    assert names.index("OriginalInvoiceNumber") == names.index("InvoiceDate") + 1  # right after the date (§10.6)
    # the original's lines negated: quantities -1 and -2 at the same (positive) unit prices
    assert texts(root, "InvoiceRow/InvoicedQuantity") == ["-1", "-2"]
    assert texts(root, "InvoiceRow/UnitPriceAmount") == ["30,00", "12,10"]
    assert texts(root, "InvoiceRow/RowVatExcludedAmount") == ["-30,00", "-24,20"]
    assert texts(root, "InvoiceRow/RowVatAmount") == ["-3,00", "-6,17"]
    assert texts(root, "InvoiceRow/RowAmount") == ["-33,00", "-30,37"]
    assert texts(root, "InvoiceDetails/VatSpecificationDetails/VatRateAmount") == ["-3,00", "-6,17"]
    assert one(root, "InvoiceDetails/InvoiceTotalVatExcludedAmount") == "-54,20"
    assert one(root, "InvoiceDetails/InvoiceTotalVatAmount") == "-9,17"
    assert one(root, "InvoiceDetails/InvoiceTotalVatIncludedAmount") == "-63,37"
    assert one(root, "EpiDetails/EpiPaymentInstructionDetails/EpiInstructedAmount") == "-63,37"
    # its own reference: base 3000000001 -> 1*7 + 3*7 = 28 -> check digit 2
    assert one(root, "EpiDetails/EpiPaymentInstructionDetails/EpiRemittanceInfoIdentifier") == "30000000012"
    assert root.find("VirtualBankBarcode") is None  # a negative amount cannot be coded (CONVENTIONS §4)


def test_a_credit_note_names_the_original_invoice_date_right_after_its_number() -> None:
    original = company_invoice()
    assert original.invoice_date == date(2026, 11, 2)
    for doc in (credit_note(original), credit_note(original, new_quantities={1: "2"})):  # INV02, INV01
        xml = build_finvoice(doc, frame("inv-3000000001"))
        root = finvoice(xml)
        date_element = root.find("InvoiceDetails/OriginalInvoiceDate")
        assert date_element is not None
        assert (date_element.text, date_element.get("Format")) == ("20261102", "CCYYMMDD")
        names = [child.tag for child in root.find("InvoiceDetails")]  # type: ignore[union-attr]
        assert names.index("OriginalInvoiceDate") == names.index("OriginalInvoiceNumber") + 1
        assert check_finvoice(xml) == []  # the XSD and the conventions


def test_a_credit_note_published_before_the_original_date_was_carried_still_builds() -> None:
    # an old corrective-invoice-issued event: no original_invoice_date in its JSON
    old = credit_note(company_invoice()).model_dump(mode="json")
    del old["original_invoice_date"]
    doc = InvoiceDocument.model_validate(old)
    assert doc.original_invoice_date is None
    xml = build_finvoice(doc, frame("inv-3000000001"))
    root = finvoice(xml)
    assert one(root, "InvoiceDetails/OriginalInvoiceNumber") == "1000000001"
    assert root.find("InvoiceDetails/OriginalInvoiceDate") is None  # left out, not invented
    assert check_finvoice(xml) == []


def test_a_corrective_invoice_with_a_positive_total_shares_each_rates_vat_over_its_rows() -> None:
    # lines: -1 x 30.00, -2 x 12.10, +1 x 30.00, +3 x 12.10
    # 10 %: -30.00 + 30.00 = 0.00 -> VAT 0.00; 25.5 %: -24.20 + 36.30 = 12.10 -> 3.0855 -> 3.09
    # 25.5 % rows: exact -6.171 and 9.2565, rounded down -6.18 and 9.25 (sum 3.07); the two cents
    # left go to the larger remainders: 0.009 (-> -6.17) then 0.0065 (-> 9.26); -6.17 + 9.26 = 3.09
    doc = credit_note(company_invoice(), new_quantities={1: "1", 2: "3"})
    root = finvoice(build_finvoice(doc, frame()))
    assert one(root, "InvoiceDetails/InvoiceTypeCode") == "INV01"
    assert one(root, "InvoiceDetails/InvoiceTypeCodeUN") == "384"
    assert one(root, "InvoiceDetails/OriginalInvoiceNumber") == "1000000001"
    assert texts(root, "InvoiceRow/RowVatExcludedAmount") == ["-30,00", "-24,20", "30,00", "36,30"]
    assert texts(root, "InvoiceRow/RowVatAmount") == ["-3,00", "-6,17", "3,00", "9,26"]
    assert texts(root, "InvoiceDetails/VatSpecificationDetails/VatBaseAmount") == ["0,00", "12,10"]
    assert texts(root, "InvoiceDetails/VatSpecificationDetails/VatRateAmount") == ["0,00", "3,09"]
    assert one(root, "InvoiceDetails/InvoiceTotalVatIncludedAmount") == "15,19"  # 12.10 + 3.09


def test_row_vat_adds_up_to_the_documents_vat_where_rounding_each_row_would_not() -> None:
    # three rows of 0.10 at 25.5 %: each exactly 0.0255 (0.03 if rounded alone: 0.09 in all);
    # the document rounds once: 0.30 * 0.255 = 0.0765 -> 0.08. Shares: 0.02 each + 2 cents -> 0.03, 0.03, 0.02
    spec = tuple((f"P{i}", f"Tuote {i}", "1", "0.10", "25.5") for i in range(3))
    doc = company_invoice(spec=spec)
    assert doc.totals.vat == Decimal("0.08")
    xml = build_finvoice(doc, frame())
    root = finvoice(xml)
    assert texts(root, "InvoiceRow/RowVatAmount") == ["0,03", "0,03", "0,02"]
    assert one(root, "InvoiceDetails/VatSpecificationDetails/VatRateAmount") == "0,08"
    assert check_finvoice(xml) == []


def test_a_reminder_is_inv08_naming_the_invoice_with_its_open_amount_fee_and_interest() -> None:
    doc = reminder(company_invoice(), fee="5.00", interest="1.23")
    xml = build_finvoice(doc, frame("rem-1000000001-1"))
    root = finvoice(xml)
    assert one(root, "InvoiceDetails/InvoiceTypeCode") == "INV08"  # REMINDER INVOICE, guidelines §10.5
    assert root.find("InvoiceDetails/InvoiceTypeCodeUN") is None
    assert one(root, "InvoiceDetails/InvoiceTypeText") == "HUOMAUTUSLASKU"
    assert one(root, "InvoiceDetails/InvoiceNumber") == "1000000001-1"
    assert one(root, "InvoiceDetails/InvoiceDate") == "20261201"
    assert one(root, "InvoiceDetails/OriginalInvoiceNumber") == "1000000001"
    assert one(root, "InvoiceDetails/OriginalInvoiceDate") == "20261102"
    # open 63.37 + fee 5.00 + interest 1.23 = 69.60; none of it is a sale: 0 %, code O
    assert texts(root, "InvoiceRow/RowVatExcludedAmount") == ["63,37", "5,00", "1,23"]
    assert texts(root, "InvoiceRow/RowVatCode") == ["O", "O", "O"]
    assert one(root, "InvoiceRow/RowOverDuePaymentDetails/RowOriginalInvoiceIdentifier") == "1000000001"
    assert one(root, "InvoiceRow/RowOverDuePaymentDetails/RowOriginalDueDate") == "20261116"
    assert one(root, "InvoiceRow/RowOverDuePaymentDetails/RowUnPaidVatIncludedAmount") == "63,37"
    assert texts(root, "InvoiceDetails/VatSpecificationDetails/VatBaseAmount") == ["69,60"]
    assert texts(root, "InvoiceDetails/VatSpecificationDetails/VatRateAmount") == ["0,00"]
    assert one(root, "InvoiceDetails/InvoiceTotalVatIncludedAmount") == "69,60"
    assert one(root, "EpiDetails/EpiPaymentInstructionDetails/EpiInstructedAmount") == "69,60"
    # the new due date: 2026-12-01 + 14 days; the invoice's reference, so the payment matches it
    assert one(root, "EpiDetails/EpiPaymentInstructionDetails/EpiDateOptionDate") == "20261215"
    assert one(root, "EpiDetails/EpiPaymentInstructionDetails/EpiRemittanceInfoIdentifier") == "10000000016"
    assert check_finvoice(xml) == []


def test_reminder_interest_periods_become_rows_when_they_add_up_to_the_interest() -> None:
    base = reminder(company_invoice(), fee="5.00", interest="1.23")
    periods = [
        InterestPeriod(
            start=date(2026, 11, 17), end=date(2026, 11, 30), days=14, rate=Decimal("11.5"), amount=Decimal("0.60")
        ),
        InterestPeriod(
            start=date(2026, 12, 1), end=date(2026, 12, 1), days=1, rate=Decimal("11.75"), amount=Decimal("0.63")
        ),
    ]
    root = finvoice(build_finvoice(base.model_copy(update={"interest_periods": periods}), frame()))
    assert texts(root, "InvoiceRow/RowVatExcludedAmount") == ["63,37", "5,00", "0,60", "0,63"]
    assert texts(root, "InvoiceRow/RowOverDuePaymentDetails/RowInterestRate") == ["11,5", "11,75"]
    assert texts(root, "InvoiceRow/RowOverDuePaymentDetails/RowInterestStartDate") == ["20261117", "20261201"]
    assert texts(root, "InvoiceRow/RowOverDuePaymentDetails/RowInterestDateNumber") == ["14", "1"]
    # 0.60 + 0.60 is not 1.23: one interest row with the reminder's own figure
    other = [periods[0], periods[0]]
    root = finvoice(build_finvoice(base.model_copy(update={"interest_periods": other}), frame()))
    assert texts(root, "InvoiceRow/RowVatExcludedAmount") == ["63,37", "5,00", "1,23"]


def test_the_soap_frame_comes_first_with_the_four_parties_in_order() -> None:
    xml = build_finvoice(company_invoice(), frame("inv-1000000001"))
    assert xml.startswith(b"<SOAP-ENV:Envelope ")
    assert b'</SOAP-ENV:Envelope>\n<?xml version="1.0" encoding="ISO-8859-15"?>\n<?xml-stylesheet' in xml
    envelope, root = parts(xml)
    header = envelope.find("s:Header/eb:MessageHeader", NS)
    assert header is not None
    parties = [
        (p.tag.split("}")[1], p.findtext("eb:PartyId", namespaces=NS), p.findtext("eb:Role", namespaces=NS))
        for p in header
        if p.tag in (f"{{{EB}}}From", f"{{{EB}}}To")
    ]
    assert parties == [
        ("From", SELLER_OVT, "Sender"),
        ("From", SELLER_OPERATOR, "Intermediator"),
        ("To", "003701120389", "Receiver"),
        ("To", "003721291126", "Intermediator"),
    ]
    assert header.findtext("eb:CPAId", namespaces=NS) == "yoursandmycpa"
    assert header.findtext("eb:Service", namespaces=NS) == "Routing"
    assert header.findtext("eb:Action", namespaces=NS) == "ProcessInvoice"
    assert header.findtext("eb:MessageData/eb:MessageId", namespaces=NS) == "inv-1000000001"
    assert header.findtext("eb:MessageData/eb:Timestamp", namespaces=NS) == "2026-11-02T08:30:00+00:00"
    reference = envelope.find("s:Body/eb:Manifest/eb:Reference", NS)
    assert reference is not None and reference.get(f"{{{XLINK}}}href") == "inv-1000000001"
    # MessageTransmissionDetails repeats the frame (CONVENTIONS §6)
    assert one(root, "MessageTransmissionDetails/MessageSenderDetails/FromIdentifier") == SELLER_OVT
    assert root.find("MessageTransmissionDetails/MessageSenderDetails/FromIdentifier").get("SchemeID") == "0037"  # type: ignore[union-attr]
    assert one(root, "MessageTransmissionDetails/MessageSenderDetails/FromIntermediator") == SELLER_OPERATOR
    assert one(root, "MessageTransmissionDetails/MessageReceiverDetails/ToIdentifier") == "003701120389"
    assert one(root, "MessageTransmissionDetails/MessageReceiverDetails/ToIntermediator") == "003721291126"
    assert one(root, "MessageTransmissionDetails/MessageDetails/MessageIdentifier") == "inv-1000000001"


def test_the_same_document_and_frame_give_the_same_bytes() -> None:
    assert build_finvoice(company_invoice(), frame()) == build_finvoice(company_invoice(), frame())


def test_the_file_is_iso_8859_15_and_other_characters_survive_as_references() -> None:
    assert ENCODING == "ISO-8859-15"
    who = customer("C-4", COMPANY.model_copy(update={"name": "Łódź Kahvila Käpälä Oy"}))
    xml = build_finvoice(invoice(who=who), frame())
    assert "Käpälä".encode("iso-8859-15") in xml  # ä is one byte, 0xE4
    assert b"&#321;&#243;d&#378;" not in xml and b"&#321;" in xml  # Ł and ź are not in Latin-9, ó is
    assert b"\t" not in xml
    assert one(finvoice(xml), "BuyerPartyDetails/BuyerOrganisationName") == "Łódź Kahvila Käpälä Oy"
    assert check_finvoice(xml) == []


def test_long_names_and_street_lines_are_laid_out_over_repeated_elements_not_cut() -> None:
    name = "Pohjois-Pohjanmaan Sanomalehtien Jakelu- ja Tilaajapalvelut Osuuskunta " * 2
    street = "Pitkänimisen teollisuusalueen huoltotie 123 C 45"  # 48 characters
    data = COMPANY.model_copy(
        update={"name": name.strip(), "address": PostalAddress(street_lines=[street], postal_code="90100", city="Oulu")}
    )
    xml = build_finvoice(invoice(who=customer("C-5", data)), frame())
    root = finvoice(xml)
    names = texts(root, "BuyerPartyDetails/BuyerOrganisationName")
    # 141 characters: two pieces of 70 (each copy of the phrase is exactly 70), cut at the space
    phrase = "Pohjois-Pohjanmaan Sanomalehtien Jakelu- ja Tilaajapalvelut Osuuskunta"
    assert len(phrase) == 70
    assert names == [phrase, phrase]
    streets = texts(root, "BuyerPartyDetails/BuyerPostalAddressDetails/BuyerStreetName")
    assert streets == ["Pitkänimisen teollisuusalueen", "huoltotie 123 C 45"]
    assert check_finvoice(xml) == []


def test_a_description_over_100_characters_goes_whole_into_article_description() -> None:
    words = "Helsingin Sanomat digi ja paperi " * 5  # 33 characters x 5 = 165, trailing space dropped
    xml = build_finvoice(company_invoice(spec=(("HS", words.strip(), "1", "30.00", "10"),)), frame())
    root = finvoice(xml)
    name = one(root, "InvoiceRow/ArticleName")
    assert len(name) <= 100 and words.startswith(name + " ")  # cut between words
    assert one(root, "InvoiceRow/ArticleDescription") == words.strip()
    assert check_finvoice(xml) == []


def test_an_address_that_does_not_fit_is_written_as_it_is_and_refused() -> None:
    # four street lines: the XSD allows three BuyerStreetName; nothing is dropped silently
    address = PostalAddress(
        street_lines=["c/o Yritys", "Osasto 5", "Teollisuustie 5", "PL 12"], postal_code="00510", city="Helsinki"
    )
    xml = build_finvoice(invoice(who=customer("C-9", COMPANY.model_copy(update={"address": address}))), frame())
    assert texts(finvoice(xml), "BuyerPartyDetails/BuyerPostalAddressDetails/BuyerStreetName") == address.street_lines
    problems = check_finvoice(xml)
    assert [(p.code, p.path) for p in problems] == [
        ("xsd", "/Finvoice/BuyerPartyDetails/BuyerPostalAddressDetails/BuyerStreetName[4]")  # the one too many
    ]


@pytest.mark.parametrize(("language", "text"), [("sv", "FAKTURA"), ("en", "INVOICE"), ("de", "INVOICE")])
def test_type_text_and_language_follow_the_customer(language: str, text: str) -> None:
    who = customer("C-6", COMPANY.model_copy(update={"language": language}))
    root = finvoice(build_finvoice(invoice(who=who), frame()))
    assert one(root, "InvoiceDetails/InvoiceTypeText") == text
    assert one(root, "InvoiceRecipientLanguageCode") == ("SV" if language == "sv" else "EN")


def test_a_document_without_an_einvoice_address_builds_but_does_not_pass_the_check() -> None:
    xml = build_finvoice(invoice(), frame())  # a consumer whose channel is e-mail: no e-invoice address
    codes = {p.code for p in check_finvoice(xml)}
    assert codes == {"xsd", "frame-party"}
