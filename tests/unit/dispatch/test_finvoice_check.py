"""The checker refuses what must not be sent: each case tampers one thing in a valid
file (the default company invoice: rows 30,00 @ 10 % and 2 x 12,10 = 24,20 @ 25,5 %, VAT
3,00 + 6,17, total 63,37, reference 10000000016, due 20261116) and names every problem
code the change causes, worked out by hand. Without the checker none of these passes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from services.dispatch.finvoice import build_finvoice, check_finvoice, describe
from services.dispatch.finvoice.schema import SCHEMA_PATH, finvoice_schema
from shared.events.invoicing import Totals, VatRow
from tests.support.documents import COMPANY, customer, invoice, reminder
from tests.support.finvoice import frame

VALID = build_finvoice(invoice(who=customer("C-2", COMPANY)), frame())
VALID_RF = build_finvoice(invoice(who=customer("C-2", COMPANY)), frame(), reference_scheme="ISO")


def tamper(xml: bytes, *changes: tuple[str, str]) -> bytes:
    text = xml.decode("iso-8859-15")
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text.encode("iso-8859-15")


def codes(xml: bytes) -> set[str]:
    return {p.code for p in check_finvoice(xml)}


def test_the_untampered_files_pass() -> None:
    assert check_finvoice(VALID) == []
    assert check_finvoice(VALID_RF) == []


CASES = [
    pytest.param(
        # 63,38 ≠ 54,20 + 9,17; and the EPI's 63,37 ≠ 63,38 - 0
        [(">63,37</InvoiceTotalVatIncludedAmount>", ">63,38</InvoiceTotalVatIncludedAmount>")],
        {"invoice-total-incl", "epi-amount"},
        id="tampered total",
    ),
    pytest.param(
        # row 2 made 3 x 12,10 = 36,30 + 9,26 = 45,56 (consistent in itself); the sums still say 24,20 / 6,17:
        # rows 30,00 + 36,30 = 66,30 ≠ 54,20; 25,5 % base 36,30 ≠ 24,20; VAT 9,26 ≠ 6,17
        [
            (">2</InvoicedQuantity>", ">3</InvoicedQuantity>"),
            (">24,20</RowVatExcludedAmount>", ">36,30</RowVatExcludedAmount>"),
            (">6,17</RowVatAmount>", ">9,26</RowVatAmount>"),
            (">30,37</RowAmount>", ">45,56</RowAmount>"),
        ],
        {"rows-total", "vat-base", "vat-amount"},
        id="row sum mismatch",
    ),
    pytest.param(
        [(">30,37</RowAmount>", ">30,38</RowAmount>")],  # 24,20 + 6,17 = 30,37
        {"row-amount"},
        id="row amount not net + VAT",
    ),
    pytest.param(
        # 3,10 is not 10 % of 30,00 (±0,01); 30,00 + 3,10 ≠ 33,00; the 10 % block's 3,00 ≠ 3,10
        [(">3,00</RowVatAmount>", ">3,10</RowVatAmount>")],
        {"row-vat", "row-amount", "vat-amount"},
        id="row VAT off its rate",
    ),
    pytest.param(
        # 7-3-1 gives 6 for 1000000001; the bar code still codes ...16
        [(">10000000016</EpiRemittanceInfoIdentifier>", ">10000000017</EpiRemittanceInfoIdentifier>")],
        {"reference", "barcode"},
        id="wrong national check digit",
    ),
    pytest.param(
        # an RF value under SPY is no national reference; the bar code is version 4, not 5
        [('"SPY">10000000016<', '"SPY">RF9210000000016<')],
        {"reference", "barcode"},
        id="RF reference under SPY",
    ),
    pytest.param(
        [(">63,37</InvoiceTotalVatIncludedAmount>", ">63.37</InvoiceTotalVatIncludedAmount>")],
        {"xsd"},  # decimal point: the XSD's amount pattern; the sums skip an unreadable amount
        id="xsd: decimal point",
    ),
    pytest.param(
        [("<InvoiceNumber>1000000001</InvoiceNumber>", "")],
        {"xsd"},
        id="xsd: InvoiceNumber missing",
    ),
    pytest.param(
        [('<EpiDate Format="CCYYMMDD">20261102<', '<EpiDate Format="CCYYMMDD">20260230<')],
        {"date-invalid"},  # 8 digits pass the XSD; 30 February is no date
        id="impossible date",
    ),
    pytest.param(
        [(">20261116</EpiDateOptionDate>", ">20261117</EpiDateOptionDate>")],
        {"due-date", "barcode"},  # ≠ InvoiceDueDate; the bar code codes 261116
        id="payment date not the due date",
    ),
    pytest.param(
        [(">63,37</EpiInstructedAmount>", ">63,36</EpiInstructedAmount>")],
        {"epi-amount", "barcode"},
        id="EPI amount not the total",
    ),
    pytest.param(
        [(">INV01<", ">INV02<"), (">380<", ">381<")],
        # a credit note: total 63,37 not negative, carries a bar code, names no original invoice
        {"credit-note-sign", "credit-note-barcode", "original-invoice"},
        id="credit note with a positive total",
    ),
    pytest.param([(">INV01<", ">INV99<")], {"type-code"}, id="type code not in the guidelines"),
    pytest.param([(">380<", ">381<")], {"type-code-un"}, id="UN code 381 on INV01"),
    pytest.param([(">LASKU<", "> LASKU<")], {"whitespace"}, id="space next to a tag"),
    pytest.param(
        [(">2</InvoicedQuantity>", ">2.0</InvoicedQuantity>")], {"quantity-format"}, id="decimal point in a quantity"
    ),
    pytest.param([("\n    <InvoiceTypeCode ", "\n\t<InvoiceTypeCode ")], {"tab"}, id="tab indentation"),
    pytest.param(
        [('<?xml-stylesheet type="text/xsl" href="Finvoice.xsl"?>\n', "")], {"stylesheet-missing"}, id="no stylesheet"
    ),
    pytest.param(
        [(' xsi:noNamespaceSchemaLocation="Finvoice3.0.xsd"', "")], {"schema-reference"}, id="no reference to the XSD"
    ),
    pytest.param(
        [(">FI2112345600000785</EpiAccountID>", ">FI2112345600000786</EpiAccountID>")],
        {"iban", "barcode"},
        id="IBAN check digits",
    ),
    pytest.param(
        [("<VirtualBankBarcode>42112345600000785000063370", "<VirtualBankBarcode>42112345600000785000063380")],
        {"barcode"},  # codes 63,38, the EPI says 63,37
        id="bar code amount",
    ),
    pytest.param(
        [(">003701120389</ToIdentifier>", ">003701120390</ToIdentifier>")],
        {"frame-mismatch"},
        id="MessageTransmissionDetails differs from the frame",
    ),
    pytest.param([(">Original</OriginCode>", ">Cancel</OriginCode>")], {"origin-code"}, id="Cancel on an INV01"),
    pytest.param(
        [("<EpiNameAddressDetails>Esimerkkimedia Oy</EpiNameAddressDetails>", "")],
        {"epi-name"},  # optional in the XSD, mandatory by §13: the payment needs the payee's name
        id="no payee name",
    ),
    pytest.param([("<eb:Role>Sender</eb:Role>", "<eb:Role>Receiver</eb:Role>")], {"frame-party"}, id="frame roles"),
    pytest.param([(">yoursandmycpa<", ">mycpa<")], {"frame-constant"}, id="frame CPAId"),
]


@pytest.mark.parametrize(("changes", "expected"), CASES)
def test_a_tampered_file_is_refused_for_exactly_what_was_changed(
    changes: list[tuple[str, str]], expected: set[str]
) -> None:
    assert codes(tamper(VALID, *changes)) == expected


def test_a_wrong_rf_check_digit_is_refused() -> None:
    # RF92 is right for 10000000016 (mod 97 of 10000000016271500 is 6: 98 - 6 = 92)
    xml = tamper(VALID_RF, (">RF9210000000016<", ">RF9310000000016<"))
    assert codes(xml) == {"reference", "barcode"}


def test_a_file_without_vat_breakdown_validates_against_the_xsd_but_is_refused() -> None:
    text = VALID.decode("iso-8859-15")
    start = text.index("    <VatSpecificationDetails>")
    end = text.rindex("</VatSpecificationDetails>\n") + len("</VatSpecificationDetails>\n")
    xml = (text[:start] + text[end:]).encode("iso-8859-15")
    problems = check_finvoice(xml)
    assert {p.code for p in problems} == {"vat-missing"}
    assert [p.message for p in problems] == [
        "rows at 10 % have no VatSpecificationDetails",
        "rows at 25,5 % have no VatSpecificationDetails",
    ]


def test_rows_with_only_a_row_amount_skip_the_sums_they_cannot_have() -> None:
    # the energy sector's consumer practice (CONVENTIONS §3): rows carry RowAmount alone, so the
    # breakdown cannot be summed from them; the other totals still hold (54,20 + 9,17 = 63,37)
    text = VALID.decode("iso-8859-15")
    for line in ("RowVatExcludedAmount", "RowVatAmount"):
        text = "".join(part for part in text.splitlines(keepends=True) if f"<{line} " not in part)
    assert check_finvoice(text.encode("iso-8859-15")) == []


def test_the_frame_is_required_unless_the_caller_routes_without_it() -> None:
    bare = VALID[VALID.index(b"<?xml") :]
    assert codes(bare) == {"frame-missing"}
    assert check_finvoice(bare, require_frame=False) == []


def test_a_utf8_file_is_refused_for_its_encoding() -> None:
    text = VALID.decode("iso-8859-15").replace('encoding="ISO-8859-15"', 'encoding="UTF-8"')
    assert codes(text.encode("utf-8")) == {"encoding"}


def test_a_truncated_file_is_malformed() -> None:
    assert codes(VALID[: len(VALID) // 2]) == {"xml-malformed"}


def test_problems_point_at_the_element_and_show_the_amounts() -> None:
    problems = check_finvoice(tamper(VALID, (">30,37</RowAmount>", ">30,38</RowAmount>")))
    assert [(p.code, p.path, p.message) for p in problems] == [
        (
            "row-amount",
            "/Finvoice/InvoiceRow[2]/RowAmount",
            "RowAmount 30,38 ≠ RowVatExcludedAmount 24,20 + RowVatAmount 6,17",
        )
    ]
    assert describe(problems) == (
        "row-amount at /Finvoice/InvoiceRow[2]/RowAmount: "
        "RowAmount 30,38 ≠ RowVatExcludedAmount 24,20 + RowVatAmount 6,17"
    )


def test_xsd_messages_do_not_repeat_the_offending_value() -> None:
    # a person's name where a date and an amount belong: libxml2 quotes the value; the problem must not
    xml = tamper(
        VALID,
        ('<InvoiceDate Format="CCYYMMDD">20261102<', '<InvoiceDate Format="CCYYMMDD">Maija Meikäläinen<'),
        (">63,37</InvoiceTotalVatIncludedAmount>", ">Maija Meikäläinen</InvoiceTotalVatIncludedAmount>"),
        (
            "<CountryCode>FI</CountryCode>\n    </BuyerPostalAddressDetails>",
            "<CountryCode>Maija</CountryCode>\n    </BuyerPostalAddressDetails>",
        ),
    )
    problems = check_finvoice(xml)
    xsd = [p for p in problems if p.code == "xsd"]
    assert {p.path for p in xsd} == {
        "/Finvoice/InvoiceDetails/InvoiceDate",
        "/Finvoice/InvoiceDetails/InvoiceTotalVatIncludedAmount",
        "/Finvoice/BuyerPartyDetails/BuyerPostalAddressDetails/CountryCode",
    }
    by_path = {p.path: p.message for p in xsd}
    assert by_path["/Finvoice/InvoiceDetails/InvoiceDate"].startswith(
        "Element 'InvoiceDate': the value is not a valid value of the atomic type 'dateType'."
    )
    assert by_path["/Finvoice/InvoiceDetails/InvoiceTotalVatIncludedAmount"].startswith(
        "Element 'InvoiceTotalVatIncludedAmount': [facet 'pattern'] The value is not accepted by the pattern"
    )
    for problem in problems:
        assert "Maija" not in problem.message and "Meikäläinen" not in problem.message, problem


def test_inconsistent_documents_build_into_files_the_checker_refuses() -> None:
    doc = invoice(who=customer("C-2", COMPANY))
    # the total one cent off: 54,20 + 9,17 = 63,37, not 63,38
    wrong_total = doc.model_copy(
        update={"totals": Totals(net=Decimal("54.20"), vat=Decimal("9.17"), gross=Decimal("63.38"))}
    )
    assert codes(build_finvoice(wrong_total, frame())) == {"invoice-total-incl"}
    # 25,5 % VAT 6,27 where 24,20 x 0,255 = 6,171: the row and the block are off their rate
    rows = [
        doc.vat_breakdown[0],
        VatRow(rate=Decimal("25.5"), net=Decimal("24.20"), vat=Decimal("6.27"), gross=Decimal("30.47")),
    ]
    wrong_vat = doc.model_copy(
        update={
            "vat_breakdown": rows,
            "totals": Totals(net=Decimal("54.20"), vat=Decimal("9.27"), gross=Decimal("63.47")),
        }
    )
    assert codes(build_finvoice(wrong_vat, frame())) == {"row-vat", "vat-rate-amount"}
    # a reminder whose total is not open 63,37 + fee 5,00 + interest 1,23 = 69,60
    due = reminder(doc, fee="5.00", interest="1.23")
    wrong_due = due.model_copy(update={"total_due": Decimal("69.61")})
    assert codes(build_finvoice(wrong_due, frame())) == {"invoice-total-excl"}


def test_the_schema_is_the_vendored_file_loaded_once_per_thread() -> None:
    assert SCHEMA_PATH.is_file() and "shared" not in SCHEMA_PATH.parts
    assert finvoice_schema() is finvoice_schema()
    with ThreadPoolExecutor(1) as pool:
        other = pool.submit(finvoice_schema).result()
    assert other is not finvoice_schema()


def test_a_message_id_over_48_characters_is_refused_in_the_frame_and_by_the_xsd() -> None:
    xml = build_finvoice(invoice(who=customer("C-2", COMPANY)), frame("x" * 49))
    assert codes(xml) == {"frame-message-id", "xsd"}


@pytest.mark.parametrize("data", [b"", b"not xml", b"<Finvoice", b"<?xml version='1.0'?><Other/>"])
def test_garbage_is_refused_without_an_exception(data: bytes) -> None:
    problems = check_finvoice(data)
    assert problems and {p.code for p in problems} & {"xml-malformed", "not-finvoice"}
