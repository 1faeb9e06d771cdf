"""``billing payments``: the preview table as a clerk reads it (no server: the API's JSON
given by hand)."""

from __future__ import annotations

from billing_cli.payments import location, preview_lines

CAMT = "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[2]/NtryDtls[1]/TxDtls[1]"


def preview(where: str) -> dict[str, object]:
    return {
        "file_name": "camt054_001_08_sample.xml", "format": "camt054", "file_id": "CAMT054-0001",
        "count": 1, "amount": "20.00", "reversals": 1, "reversal_amount": "20.00",
        "entries": [
            {"location": where, "archive_id": "261205EFGH000001", "payment_date": "2026-12-05",
             "kind": "reversal", "amount": "20.00", "reference": "20261007", "outcome": "unmatched",
             "invoice_number": None, "payer_name": "MEIKÄLÄINEN MATTI",
             "reason_fi": "Pankki peruutti maksun, jota ei löydy (tai summa ei täsmää).",
             "reason_en": "The bank reversed a payment that is not found (or whose amount differs)."},
        ],
    }  # fmt: skip


def test_a_line_is_named_in_the_clerks_language() -> None:
    assert location("line 2", "fi") == "rivi 2"
    assert location("line 2", "en") == "line 2"
    assert "rivi 2" in preview_lines(preview("line 2"), "fi")[2]
    assert "line 2" not in "\n".join(preview_lines(preview("line 2"), "fi"))


def test_a_camt_element_path_is_shortened_so_the_table_fits() -> None:
    assert location(CAMT, "fi") == "Ntfctn[1]/Ntry[2]/TxDtls[1]"
    assert location("file", "en") == "file"
    lines = preview_lines(preview(CAMT), "en")
    assert "Ntfctn[1]/Ntry[2]/TxDtls[1]" in lines[2]
    assert len(lines[1]) < 130  # the head row spans every column but the reason (~170 with the full path)


def test_unmatched_payments_show_a_reversal_with_its_sign_as_the_preview_does() -> None:
    from billing_cli.invoicing.text import payment_rows

    items = [
        {"payment_id": "R:261205EFGH000002", "kind": "reversal", "payment_date": "2026-12-05", "amount": "20.00",
         "reference": "20261007", "status": "unmatched", "invoice_id": None, "payer_name": None},
        {"payment_id": "261205EFGH000001", "kind": "payment", "payment_date": "2026-12-05", "amount": "20.00",
         "reference": "20261007", "status": "unmatched", "invoice_id": None, "payer_name": None},
    ]  # fmt: skip
    lines = payment_rows(items, "fi")
    assert "-20,00" in lines[1]
    assert "20,00" in lines[2] and "-20,00" not in lines[2]
    assert "-20,00" in preview_lines(preview("line 2"), "fi")[2]  # the preview's own form


def test_one_imported_file_shows_its_entries_with_their_status_now() -> None:
    from billing_cli.payments import file_lines

    detail = {
        "id": 3, "file_name": "viitteet2.txt", "format": "viitesiirto", "file_id": "0261207",
        "imported_at": "2026-12-07T04:06:39+00:00", "imported_by": "anna", "count": 2, "amount": "147.89",
        "reversals": 0, "matched": 1, "unmatched": 1, "reversed": 0, "pending": 0, "repeated": 0,
        "entries": [
            {"seq": 1, "location": "line 2", "archive_id": "261207NC21000002", "kind": "payment",
             "reference": "10000000027", "amount": "142.89", "payment_date": "2026-12-06", "payer_name": "UUSI",
             "status": "matched", "invoice_number": 1000000002, "repeated": False, "reason_fi": None},
            {"seq": 2, "location": "line 3", "archive_id": "261207NC21000003", "kind": "payment",
             "reference": "1232", "amount": "5.00", "payment_date": "2026-12-06", "payer_name": None,
             "status": "unmatched", "invoice_number": None, "repeated": False,
             "reason_fi": "Viitteellä ei löydy laskua."},
        ],
    }  # fmt: skip
    lines = file_lines(detail, "fi")
    assert lines[0] == "Tuonti 3: viitteet2.txt (viitesiirto, 0261207), tuotu 7.12.2026 06.06, tuoja anna"
    assert "kohdistettu 1, kohdistamatta 1" in lines[1]
    assert lines[3].split()[:3] == ["1", "rivi", "2"] and "kohdistettu" in lines[3] and "1000000002" in lines[3]
    assert "kohdistamaton" in lines[4] and "Viitteellä ei löydy laskua." in lines[4]
