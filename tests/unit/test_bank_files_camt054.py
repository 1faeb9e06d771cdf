"""camt.054 as Finnish banks notify incoming reference payments: both samples read field
by field (expected values read by hand off ``tests/data/bank_files/camt054_001_0*_sample.xml``,
see the README there), written and read back, and every kind of fault refused whole with
the element that is wrong."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from services.invoicing.bank_files import (
    MAX_BANK_FILE_BYTES,
    BankFile,
    BankFileInvalid,
    detect_format,
    parse_bank_file,
)
from services.invoicing.bank_files.writers import write_camt054, write_viitesiirto

DATA = Path(__file__).parents[1] / "data" / "bank_files"
V02 = (DATA / "camt054_001_02_sample.xml").read_bytes()
V08 = (DATA / "camt054_001_08_sample.xml").read_bytes()
NTFCTN = "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]"
SUMMARY = f"{NTFCTN}/TxsSummry"
TX1 = f"{NTFCTN}/Ntry[1]/NtryDtls[1]/TxDtls[1]"
TX2 = f"{NTFCTN}/Ntry[1]/NtryDtls[1]/TxDtls[2]"
HELSINKI_WINTER = timezone(timedelta(hours=2))


def refused(data: bytes) -> BankFileInvalid:
    with pytest.raises(BankFileInvalid) as caught:
        parse_bank_file(data)
    return caught.value


def changed(data: bytes, old: str, new: str, count: int = 1) -> bytes:
    text = data.decode("utf-8")
    assert text.count(old) >= count, old
    return text.replace(old, new, count).encode("utf-8")


def without_location(parsed: BankFile) -> list[object]:
    return [replace(entry, location="") for entry in parsed.entries]


def test_the_001_02_sample_is_read_field_by_field() -> None:
    parsed = parse_bank_file(V02)
    assert detect_format(V02) == "camt.054"
    assert parsed.format == "camt.054"
    assert parsed.file_id == "CAMT054-20261204-0001"
    assert parsed.created_at == datetime(2026, 12, 4, 6, 15, tzinfo=HELSINKI_WINTER)
    assert parsed.created_at.astimezone(UTC) == datetime(2026, 12, 4, 4, 15, tzinfo=UTC)
    assert parsed.account == "FI2112345600000785"
    assert len(parsed.entries) == 4
    first, second, third, reversal = parsed.entries

    assert first.archive_id == "261203ABCD000101"
    assert first.reference == "1232"
    assert first.amount == Decimal("123.45")
    assert first.booking_date == date(2026, 12, 3)
    assert first.payment_date == date(2026, 12, 2)  # AccptncDtTm
    assert first.payer_name == "Virtanen Maija"
    assert first.reversal is False
    assert first.reverses_archive_id is None
    assert first.location == f"{NTFCTN}/Ntry[1]/NtryDtls[1]/TxDtls[1]"

    assert second.archive_id == "261203ABCD000102"
    assert second.reference == "RF2920261007"
    assert second.amount == Decimal("1000.00")
    assert second.payment_date == date(2026, 12, 1)
    assert second.payer_name == "Åkerblom Örjan"
    assert second.location == f"{NTFCTN}/Ntry[1]/NtryDtls[1]/TxDtls[2]"

    # One transaction in the entry: archive id and amount from the entry, payment date its ValDt.
    assert third.archive_id == "261204ABCD000103"
    assert third.reference == "20261007"  # written "2026 1007"
    assert third.amount == Decimal("50.00")
    assert third.booking_date == date(2026, 12, 4)
    assert third.payment_date == date(2026, 12, 4)
    assert third.payer_name == "Kärkkäinen Sari"

    assert reversal.archive_id == "261204ABCD000109"
    assert reversal.reversal is True
    assert reversal.reverses_archive_id is None
    assert reversal.reference == "1232"
    assert reversal.amount == Decimal("123.45")
    assert reversal.location == f"{NTFCTN}/Ntry[3]/NtryDtls[1]/TxDtls[1]"


def test_the_001_08_sample_is_read_field_by_field() -> None:
    parsed = parse_bank_file(V08)
    assert parsed.file_id == "CAMT054V08-20261205-7"
    assert parsed.created_at == datetime(2026, 12, 5, 7, 0, tzinfo=HELSINKI_WINTER)
    assert parsed.account == "FI2112345600000785"
    payment, reversal = parsed.entries
    assert payment.archive_id == "261205EFGH000001"
    assert payment.reference == "RF111232"
    assert payment.amount == Decimal("75.50")  # TxDtls/Amt
    assert payment.payer_name == "Nyström Åsa"  # Dbtr/Pty/Nm
    assert payment.booking_date == date(2026, 12, 5)
    assert payment.payment_date == date(2026, 12, 4)
    assert payment.reversal is False
    assert reversal.archive_id == "261205EFGH000002"
    assert reversal.reversal is True
    assert reversal.reference == "44558"
    assert reversal.amount == Decimal("20.00")
    assert reversal.payer_name is None
    assert reversal.payment_date == date(2026, 12, 5)  # no ValDt, no AccptncDtTm: booking date


@pytest.mark.parametrize("version", ["02", "08"])
@pytest.mark.parametrize("sample", ["camt054_001_02_sample.xml", "camt054_001_08_sample.xml", "viitesiirto_sample.txt"])
def test_written_and_read_back_gives_the_same_entries(sample: str, version: str) -> None:
    original = parse_bank_file((DATA / sample).read_bytes())
    written = write_camt054(original, version)  # type: ignore[arg-type]
    assert f"camt.054.001.{version}".encode() in written
    again = parse_bank_file(written)
    assert again.format == "camt.054"
    assert (again.file_id, again.account, again.created_at) == (original.file_id, original.account, original.created_at)
    assert without_location(again) == without_location(original)


def test_camt_entries_written_as_viitesiirto_read_back_the_same() -> None:
    original = parse_bank_file(V02)
    again = parse_bank_file(write_viitesiirto(replace(original, file_id="202612040615-47-123456789")))
    assert again.entries[1].payer_name == "Åkerblom Örj"  # a viitesiirto name is 12 characters
    short_names = [replace(entry, payer_name=(entry.payer_name or "")[:12] or None) for entry in original.entries]
    assert without_location(again) == without_location(replace(original, entries=tuple(short_names)))


@pytest.mark.parametrize(
    ("old", "new", "where", "words"),
    [
        ("<NbOfNtries>3</NbOfNtries>", "<NbOfNtries>4</NbOfNtries>", f"{SUMMARY}/TtlNtries/NbOfNtries", "4"),
        ("<Sum>1296.90</Sum>", "<Sum>1296.91</Sum>", f"{SUMMARY}/TtlNtries/Sum", "1296.91"),
        ("<Sum>1173.45</Sum>", "<Sum>1173.00</Sum>", f"{SUMMARY}/TtlCdtNtries/Sum", "sum"),
        (
            "<NbOfNtries>1</NbOfNtries>",
            "<NbOfNtries>0</NbOfNtries>",
            f"{SUMMARY}/TtlDbtNtries/NbOfNtries",
            "0",
        ),
        ("<TtlNetNtryAmt>1050.00", "<TtlNetNtryAmt>1050.01", f"{SUMMARY}/TtlNtries", "net amount"),
        ("<NbOfTxs>2</NbOfTxs>", "<NbOfTxs>3</NbOfTxs>", f"{NTFCTN}/Ntry[1]/NtryDtls[1]/Btch/NbOfTxs", "3"),
        (
            '<TtlAmt Ccy="EUR">1123.45</TtlAmt>',
            '<TtlAmt Ccy="EUR">1123.46</TtlAmt>',
            f"{NTFCTN}/Ntry[1]/NtryDtls[1]/Btch/TtlAmt",
            "batch total",
        ),
        (
            '<Amt Ccy="EUR">1000.00</Amt>',
            '<Amt Ccy="EUR">1000.01</Amt>',
            f"{NTFCTN}/Ntry[1]/NtryDtls[1]/Btch/TtlAmt",
            "batch total",
        ),
        (
            "<Ref>1232</Ref>",
            "<Ref>1233</Ref>",
            f"{TX1}/RmtInf/Strd/CdtrRefInf/Ref",
            "valid",
        ),
        (
            "<Ref>RF2920261007</Ref>",
            "<Ref>RF3020261007</Ref>",
            f"{TX2}/RmtInf/Strd/CdtrRefInf/Ref",
            "RF",
        ),
        (
            "<AcctSvcrRef>261203ABCD000102</AcctSvcrRef>",
            "<AcctSvcrRef>261203ABCD000101</AcctSvcrRef>",
            f"{NTFCTN}/Ntry[1]/NtryDtls[1]/TxDtls[2]",
            "repeated",
        ),
        ("<Sts>BOOK</Sts>", "<Sts>PDNG</Sts>", f"{NTFCTN}/Ntry[1]/Sts", "not booked"),
        ('<Amt Ccy="EUR">50.00</Amt>', '<Amt Ccy="SEK">50.00</Amt>', f"{NTFCTN}/Ntry[2]/Amt", "only euro"),
        ('<Amt Ccy="EUR">50.00</Amt>', '<Amt Ccy="EUR">5x</Amt>', f"{NTFCTN}/Ntry[2]/Amt", "schema"),
        ("<Dt>2026-12-03</Dt>", "<Dt>2026-02-30</Dt>", f"{NTFCTN}/Ntry[1]/BookgDt/Dt", "schema"),
        ("<GrpHdr>", "<GrpHdr><Foo/>", "/Document/BkToCstmrDbtCdtNtfctn/GrpHdr/Foo", "schema"),
    ],
)
def test_a_faulty_element_refuses_the_whole_file(old: str, new: str, where: str, words: str) -> None:
    error = refused(changed(V02, old, new))
    assert error.where == where
    assert words in error.en
    assert error.fi and error.fi != error.en


def test_a_missing_reference_is_refused() -> None:
    data, replaced = re.subn(
        rb"<Strd>\s*<CdtrRefInf>\s*<Ref>2026 1007</Ref>\s*</CdtrRefInf>\s*</Strd>", b"<Strd/>", V02
    )
    assert replaced == 1
    error = refused(data)
    assert error.where == f"{NTFCTN}/Ntry[2]/NtryDtls[1]/TxDtls[1]/RmtInf/Strd/CdtrRefInf/Ref"
    assert error.en == "The reference is missing."


def test_a_missing_archive_id_is_refused() -> None:
    error = refused(changed(V02, "<AcctSvcrRef>261204ABCD000103</AcctSvcrRef>", ""))
    assert error.where == f"{NTFCTN}/Ntry[2]/NtryDtls[1]/TxDtls[1]/Refs/AcctSvcrRef"


def test_an_entry_amount_unlike_its_transactions_is_refused() -> None:
    data = changed(V02, '<Amt Ccy="EUR">1123.45</Amt>', '<Amt Ccy="EUR">1123.44</Amt>')
    data = changed(data, "<Sum>1296.90</Sum>", "<Sum>1296.89</Sum>")
    data = changed(data, "<TtlNetNtryAmt>1050.00", "<TtlNetNtryAmt>1049.99")
    data = changed(data, "<Sum>1173.45</Sum>", "<Sum>1173.44</Sum>")
    error = refused(data)
    assert error.where == f"{NTFCTN}/Ntry[1]/Amt"
    assert "1123.44" in error.en


def test_a_plain_debit_entry_is_refused_not_skipped() -> None:
    error = refused(changed(V02, "<RvslInd>true</RvslInd>", ""))
    assert error.where == f"{NTFCTN}/Ntry[3]"
    assert "debit entry" in error.en


def test_a_reversed_debit_is_refused() -> None:
    data = changed(
        V02,
        "<CdtDbtInd>CRDT</CdtDbtInd>\n        <Sts>",
        "<CdtDbtInd>CRDT</CdtDbtInd>\n        <RvslInd>true</RvslInd>\n        <Sts>",
    )
    error = refused(data)
    assert error.where == f"{NTFCTN}/Ntry[1]"
    assert "reversal of a debit" in error.en


def test_more_than_two_decimals_are_refused() -> None:
    error = refused(changed(V08, '<Amt Ccy="EUR">20.00</Amt>', '<Amt Ccy="EUR">20.001</Amt>', count=2))
    assert error.where == f"{NTFCTN}/Ntry[2]/Amt"
    assert "two decimals" in error.en


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">&xxe;</Document>',
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">&c;</Document>',
        b'<?xml version="1.0"?><!DOCTYPE Document SYSTEM "http://bank.invalid/camt.dtd">'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"/>',
    ],
)
def test_doctype_and_entities_are_refused(document: bytes) -> None:
    error = refused(document)
    assert error.where == "DOCTYPE"
    assert "passwd" not in error.en + error.fi


def test_a_doctype_inside_the_sample_is_refused() -> None:
    data = changed(V02, "<Document xmlns", '<!DOCTYPE Document [<!ENTITY n "Virtanen">]>\n<Document xmlns')
    assert refused(changed(data, "<Nm>Virtanen Maija</Nm>", "<Nm>&n; Maija</Nm>")).where == "DOCTYPE"


def test_other_documents_are_refused_with_their_root() -> None:
    statement = refused(changed(V02, 'xsd:camt.054.001.02"', 'xsd:camt.053.001.02"'))
    assert statement.where == "/Document"
    assert "not a camt.054" in statement.en
    assert refused(changed(V02, 'xsd:camt.054.001.02"', 'xsd:camt.054.001.04"')).where == "/Document"
    assert refused(b"<Invoice/>").where == "/Invoice"
    broken = refused(V02[:-30])
    assert broken.where.startswith("line ")
    assert "well-formed" in broken.en


def test_schema_messages_do_not_quote_values() -> None:
    error = refused(changed(V02, "<CdtDbtInd>CRDT</CdtDbtInd>", "<CdtDbtInd>Virtanen</CdtDbtInd>"))
    assert "schema" in error.en
    assert "Virtanen" not in error.en + error.fi


def test_no_message_quotes_the_payer_name() -> None:
    error = refused(changed(V02, "<Ref>1232</Ref>", "<Ref>1233</Ref>"))
    assert "Virtanen" not in error.en + error.fi


def test_the_writer_output_is_schema_valid_for_both_versions() -> None:
    original = parse_bank_file(V02)
    for version in ("02", "08"):
        root = etree.fromstring(write_camt054(original, version))  # type: ignore[arg-type]
        assert etree.QName(root).namespace == f"urn:iso:std:iso:20022:tech:xsd:camt.054.001.{version}"
        assert len(root.findall(".//{*}Ntry")) == 4
        assert [e.text for e in root.findall(".//{*}RvslInd")] == ["true"]


def test_an_oversize_document_is_refused_before_parsing() -> None:
    padding = b"<!--" + b" " * MAX_BANK_FILE_BYTES + b"-->"
    error = refused(V02.replace(b"<Document", padding + b"<Document", 1))
    assert error.where == "file"
    assert "too large" in error.en


def test_a_reversal_may_reuse_its_payments_archive_id_but_two_payments_may_not() -> None:
    """Review H1: a correction that carries its payment's own archive id is a valid file
    (a payment and a reversal are told apart by kind); two payments with one id are not."""
    reused = changed(V02, "261204ABCD000109", "261203ABCD000101", count=2)
    parsed = parse_bank_file(reused)
    ids = [(e.archive_id, e.reversal) for e in parsed.entries]
    assert ("261203ABCD000101", False) in ids
    assert ("261203ABCD000101", True) in ids
    twice = changed(V02, "261203ABCD000102", "261203ABCD000101")
    assert "repeated" in refused(twice).en


def test_a_file_of_too_many_tiny_elements_is_refused_before_it_is_parsed() -> None:
    """Review M2: 16 MiB of ``<a/>`` would take some 500 MiB as a tree: refused by count."""
    from services.invoicing.bank_files.camt054_xml import MAX_XML_MARKUP

    many = b'<?xml version="1.0"?><Document>' + b"<a/>" * (MAX_XML_MARKUP + 1) + b"</Document>"
    error = refused(many)
    assert (error.where, "too many elements" in error.en) == ("file", True)


@pytest.mark.parametrize(
    ("stamp", "day"),
    [
        ("2026-12-04T23:30:00Z", date(2026, 12, 5)),  # 01:30 in Helsinki
        ("2026-12-04T21:30:00+00:00", date(2026, 12, 4)),  # 23:30 in Helsinki
        ("2026-07-04T21:30:00Z", date(2026, 7, 5)),  # summer time: 00:30
        ("2026-12-04T23:30:00", date(2026, 12, 4)),  # no offset: local already
    ],
)
def test_an_acceptance_stamp_with_an_offset_is_the_day_in_helsinki(stamp: str, day: date) -> None:
    """Review L3: the payment date of a stamp near midnight is the Finnish day."""
    data = changed(V02, "<AccptncDtTm>2026-12-02T00:00:00</AccptncDtTm>", f"<AccptncDtTm>{stamp}</AccptncDtTm>")
    assert parse_bank_file(data).entries[0].payment_date == day


def test_finnish_messages_write_amounts_the_finnish_way() -> None:
    error = refused(changed(V02, "<Sum>1296.90</Sum>", "<Sum>1296.91</Sum>"))
    nb = "\u00a0"
    assert error.fi == f"Yhteenvedon summa 1{nb}296,91{nb}€ ei täsmää tapahtumien summaan 1{nb}296,90{nb}€."
    assert "1296.91" in error.en
    error = refused(changed(V02, '<TtlAmt Ccy="EUR">1123.45</TtlAmt>', '<TtlAmt Ccy="EUR">1123.46</TtlAmt>'))
    assert error.fi == f"Erän kokonaissumma 1{nb}123,46{nb}€ ei täsmää maksujen summaan 1{nb}123,45{nb}€."
