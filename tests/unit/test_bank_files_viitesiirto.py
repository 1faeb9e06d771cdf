"""The reference-payment record file (viitesiirto): the sample read field by field (the
expected values are read by hand off ``tests/data/bank_files/viitesiirto_sample.txt``,
see the README there), written and read back, and every kind of fault refused whole
with the line that is wrong."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from services.invoicing.bank_files import MAX_BANK_FILE_BYTES, BankFileInvalid, detect_format, parse_bank_file
from services.invoicing.bank_files.common import check_amount
from services.invoicing.bank_files.writers import write_viitesiirto

SAMPLE = Path(__file__).parents[1] / "data" / "bank_files" / "viitesiirto_sample.txt"


def sample_lines() -> list[str]:
    return SAMPLE.read_bytes().decode("iso-8859-1").split("\r\n")[:-1]


def join(lines: list[str], end: str = "\r\n") -> bytes:
    return "".join(line + end for line in lines).encode("iso-8859-1")


def put(line: str, position: int, text: str) -> str:
    """``text`` written over ``line`` from 1-based ``position`` (the specification's way)."""
    return line[: position - 1] + text + line[position - 1 + len(text) :]


def refused(data: bytes) -> BankFileInvalid:
    with pytest.raises(BankFileInvalid) as caught:
        parse_bank_file(data)
    return caught.value


def test_the_sample_is_read_field_by_field() -> None:
    parsed = parse_bank_file(SAMPLE.read_bytes())
    assert detect_format(SAMPLE.read_bytes()) == "viitesiirto"
    assert parsed.format == "viitesiirto"
    assert parsed.file_id == "202612040615-47-123456789"
    assert parsed.created_at == datetime(2026, 12, 4, 6, 15)
    assert parsed.account == "FI2112345600000785"
    assert len(parsed.entries) == 4
    first, second, third, correction = parsed.entries

    assert first.archive_id == "261203ABCD000001"
    assert first.reference == "1232"
    assert first.amount == Decimal("123.45")
    assert first.booking_date == date(2026, 12, 3)
    assert first.payment_date == date(2026, 12, 2)
    assert first.payer_name == "VIRTANEN MAI"
    assert first.reversal is False
    assert first.reverses_archive_id is None
    assert first.location == "line 2"

    assert second.archive_id == "261203ABCD000002"
    assert second.reference == "20261007"
    assert second.amount == Decimal("50.00")
    assert str(second.amount) == "50.00"
    assert second.payment_date == date(2026, 12, 3)
    assert second.payer_name == "KÄRKKÄINEN S"  # ISO 8859-1 bytes C4
    assert second.location == "line 3"

    assert third.archive_id == "261204ABCD000003"
    assert third.reference == "RF2920261007"
    assert third.amount == Decimal("1000.00")
    assert third.booking_date == date(2026, 12, 4)
    assert third.payment_date == date(2026, 12, 1)
    assert third.payer_name == "HÄMÄLÄINEN O"  # written H[M[L[INEN O (SFS 4017)

    assert correction.archive_id == "261204ABCD000009"
    assert correction.reversal is True
    assert correction.reverses_archive_id is None  # the record has no field for it
    assert correction.reference == "1232"
    assert correction.amount == Decimal("123.45")
    assert correction.location == "line 5"


def test_written_and_read_back_is_the_same_file() -> None:
    parsed = parse_bank_file(SAMPLE.read_bytes())
    assert parse_bank_file(write_viitesiirto(parsed)) == parsed


def test_the_writer_writes_the_specified_layout() -> None:
    written = write_viitesiirto(parse_bank_file(SAMPLE.read_bytes())).decode("iso-8859-1").split("\r\n")
    assert written[0] == "0261204061547123456789" + "1" + " " * 67
    assert written[1][43:63] == "00000000000000001232"
    assert written[2][63:75] == "KÄRKKÄINEN S"
    assert written[4][87] == "1"
    assert written[5][:35] == "9" + "000003" + "00000117345" + "000001" + "00000012345"
    assert written[6] == ""


def test_lf_line_ends_trailing_empty_lines_and_ctrl_z_are_read() -> None:
    expected = parse_bank_file(SAMPLE.read_bytes())
    assert parse_bank_file(join(sample_lines(), "\n")) == expected
    assert parse_bank_file(join(sample_lines()) + b"\r\n\r\n") == expected
    assert parse_bank_file(join(sample_lines()) + b"\x1a") == expected
    no_final_newline = join(sample_lines()).removesuffix(b"\r\n")
    assert parse_bank_file(no_final_newline) == expected


def test_a_file_saved_again_as_utf8_is_read_in_characters() -> None:
    expected = parse_bank_file(SAMPLE.read_bytes())
    assert parse_bank_file(SAMPLE.read_bytes().decode("iso-8859-1").encode("utf-8")) == expected


def test_two_batches_and_a_failed_direct_debit() -> None:
    lines = sample_lines()
    batch2 = put(lines[0], 2, "2612050700")
    collected = put(put(lines[2], 1, "5"), 28, "261205ABCD000010")
    failed = put(put(put(lines[2], 1, "5"), 28, "261205ABCD000011"), 90, "2")  # not collected
    sums2 = "9" + "000001" + "00000005000" + "000000" + "00000000000" + "000001" + "00000005000" + " " * 38
    parsed = parse_bank_file(join([*lines, batch2, collected, failed, sums2]))
    assert [entry.archive_id for entry in parsed.entries][-1] == "261205ABCD000010"
    assert len(parsed.entries) == 5
    assert parsed.entries[-1].location == "line 8"


def test_sum_record_counting_corrections_among_payments_is_accepted() -> None:
    lines = sample_lines()
    lines[5] = put(lines[5], 2, "000004" + "00000129690")  # gross: 3 payments + 1 correction
    assert len(parse_bank_file(join(lines)).entries) == 4


@pytest.mark.parametrize(
    ("line_index", "mutate", "where", "words"),
    [
        (2, lambda line: line + " ", "line 3", "91 characters"),
        (2, lambda line: line[:-1], "line 3", "89 characters"),
        (2, lambda line: put(line, 78, "00000A5000"), "line 3", "amount (positions 78-87)"),
        (2, lambda line: put(line, 16, "261332"), "line 3", "booking date (positions 16-21)"),
        (2, lambda line: put(line, 22, "2612 3"), "line 3", "payment date (positions 22-27)"),
        (2, lambda line: put(line, 1, "4"), "line 3", "Unknown record code '4'"),
        (2, lambda line: put(line, 44, "0" * 20), "line 3", "reference is missing"),
        (2, lambda line: put(line, 44, " " * 20), "line 3", "reference is missing"),
        (2, lambda line: put(line, 44, "00000000000020261008"), "line 3", "not a valid Finnish reference"),
        (3, lambda line: put(line, 44, "RF3020261007        "), "line 4", "RF reference is not valid"),
        (2, lambda line: put(line, 28, " " * 16), "line 3", "archive id (positions 28-43) is missing"),
        (2, lambda line: put(line, 76, "2"), "line 3", "currency code (position 76)"),
        (2, lambda line: put(line, 88, "2"), "line 3", "correction code (position 88)"),
        (2, lambda line: put(line, 2, "1234560000078A"), "line 3", "account number"),
        (0, lambda line: put(line, 2, "261304"), "line 1", "creation date and time"),
        (5, lambda line: put(line, 2, "000002"), "line 6", "sum record does not match"),
        (5, lambda line: put(line, 8, "00000117346"), "line 6", "sum record does not match"),
        (5, lambda line: put(line, 19, "000000"), "line 6", "sum record does not match"),
        (5, lambda line: put(line, 8, "0000011734x"), "line 6", "positions 8-18"),
        (5, lambda line: put(line, 36, "000001"), "line 6", "failed direct debits"),
    ],
)
def test_a_faulty_record_refuses_the_whole_file(line_index, mutate, where, words) -> None:  # type: ignore[no-untyped-def]
    lines = sample_lines()
    lines[line_index] = mutate(lines[line_index])
    error = refused(join(lines))
    assert error.where == where
    assert words in error.en
    assert error.fi and error.fi != error.en


def test_a_zero_amount_is_refused() -> None:
    lines = sample_lines()
    lines[2] = put(lines[2], 78, "0000000000")
    lines[5] = put(lines[5], 2, "000002" + "00000112345")
    error = refused(join(lines))
    assert (error.where, error.en) == ("line 3", "The amount must be greater than zero.")


def test_a_missing_sum_record_is_refused_at_the_end() -> None:
    error = refused(join(sample_lines()[:-1]))
    assert error.where == "line 6"
    assert "sum record (record code 9) is missing" in error.en


def test_a_new_batch_before_the_sum_record_is_refused() -> None:
    lines = sample_lines()
    error = refused(join([*lines[:-1], lines[0], lines[-1]]))
    assert error.where == "line 6"
    assert "sum record" in error.en


def test_a_payment_before_any_batch_record_is_refused() -> None:
    lines = sample_lines()
    error = refused(join([*lines, lines[1]]))
    assert error.where == "line 7"
    assert "outside a batch" in error.en


def test_an_empty_line_between_records_is_refused() -> None:
    lines = sample_lines()
    error = refused(join([*lines[:2], "", *lines[2:]]))
    assert error.where == "line 3"


def test_an_archive_id_twice_in_one_file_is_refused() -> None:
    lines = sample_lines()
    lines[2] = put(lines[2], 28, "261203ABCD000001")
    error = refused(join(lines))
    assert error.where == "line 3"
    assert "line 2" in error.en


def test_an_oversize_or_empty_or_unknown_file_is_refused() -> None:
    assert refused(b"0" * (MAX_BANK_FILE_BYTES + 1)).where == "file"
    assert refused(b"").where == "file"
    assert refused(b" \r\n").where == "file"
    unknown = refused(b"Kirjauspaiva;Summa\r\n")
    assert unknown.where == "file"
    assert "neither" in unknown.en


def test_no_message_quotes_the_payer_name() -> None:
    lines = sample_lines()
    lines[1] = put(lines[1], 78, "00000123x5")
    error = refused(join(lines))
    assert "VIRTANEN" not in str(error) + error.fi


def test_writer_refuses_what_does_not_fit() -> None:
    parsed = parse_bank_file(SAMPLE.read_bytes())
    with pytest.raises(ValueError):
        write_viitesiirto(replace(parsed, account="DE89370400440532013000"))
    too_long = replace(parsed.entries[0], archive_id="X" * 17)
    with pytest.raises(ValueError):
        write_viitesiirto(replace(parsed, entries=(too_long,)))


def test_blank_failed_direct_debit_fields_in_the_sum_record_are_read_as_none() -> None:
    lines = sample_lines()
    lines[5] = put(lines[5], 36, " " * 17)
    assert len(parse_bank_file(join(lines)).entries) == 4
    failed = put(put(put(lines[2], 1, "5"), 28, "261203ABCD000077"), 90, "1")
    error = refused(join([*lines[:5], failed, lines[5]]))
    assert error.where == "line 7"
    assert "failed direct debits" in error.en


def test_a_correction_may_reuse_its_payments_archive_id() -> None:
    """Review H1: the correction (line 5) with the archive id of the payment it corrects
    (line 2) is a valid file; the two are told apart by kind."""
    lines = sample_lines()
    lines[4] = put(lines[4], 28, "261203ABCD000001")
    parsed = parse_bank_file(join(lines))
    assert [(e.archive_id, e.reversal) for e in parsed.entries if e.archive_id == "261203ABCD000001"] == [
        ("261203ABCD000001", False),
        ("261203ABCD000001", True),
    ]


def test_finnish_messages_write_amounts_the_finnish_way() -> None:
    lines = sample_lines()
    lines[5] = put(lines[5], 8, "00000117346")  # the sum record says 1173.46; the batch has 1173.45
    error = refused(join(lines))
    nb = "\u00a0"
    assert error.fi == (
        f"Summatietue ei täsmää: siinä 3 viitetapahtumaa 1{nb}173,46{nb}€ ja 1 oikaisua 123,45{nb}€, "
        f"erässä (rivi 1) 3 viitetapahtumaa 1{nb}173,45{nb}€ ja 1 oikaisua 123,45{nb}€."
    )
    assert "1173.46 EUR" in error.en  # English keeps its decimal point


def test_the_amount_limit_is_written_the_finnish_way() -> None:
    # ten digits of cents cannot exceed the limit in a record; camt.054 amounts can
    with pytest.raises(BankFileInvalid) as caught:
        check_amount(Decimal("100000000.00"), "line 2")
    assert caught.value.fi == "Summa on suurempi kuin 99\u00a0999\u00a0999,99\u00a0€."
