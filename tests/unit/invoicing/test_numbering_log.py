"""The invoice-number check's pure parts (issue 18, restore): the series and counter of a
number, the highest number per series among the log's, the comparison with the
database's counters, and the lines reconcile rebuilds from an issued document."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.invoicing.domain.billing import Line
from services.invoicing.domain.numbering import Behind, behind, highest_numbers, series_of
from services.invoicing.rebuild import Report, document_lines
from shared.events.invoicing import InvoiceDocument
from tests.support.documents import SELLER, customer


@pytest.mark.parametrize(
    ("number", "series", "counter"),
    [
        (1_000_000_001, "subscription", 1),
        (2_000_123_456, "notice", 123_456),  # 2 x 10^9 + 123 456
        (3_999_999_999, "corrective", 999_999_999),
    ],
)
def test_a_number_gives_back_its_series_and_counter(number: int, series: str, counter: int) -> None:
    assert series_of(number) == (series, counter)


@pytest.mark.parametrize("number", [1_000_000_000, 4_000_000_001, 999, 0])
def test_a_number_of_no_series_is_refused(number: int) -> None:
    with pytest.raises(ValueError, match="known series"):
        series_of(number)


def test_highest_numbers_per_series_whatever_the_order() -> None:
    log = [1_000_000_003, 2_000_000_001, 1_000_000_007, 1_000_000_005, 3_000_000_002, 3_000_000_001]
    assert highest_numbers(log) == {"subscription": 1_000_000_007, "notice": 2_000_000_001, "corrective": 3_000_000_002}
    assert highest_numbers([]) == {}


def test_a_series_below_the_log_is_behind_the_others_are_not() -> None:
    log = {"subscription": 1_000_000_007, "notice": 2_000_000_001, "corrective": 3_000_000_002}
    database = {"subscription": 3, "notice": 1, "corrective": 5}  # counters: notice level, corrective ahead
    assert behind(log, database) == [Behind("subscription", 1_000_000_003, 1_000_000_007)]


def test_a_series_the_database_never_used_is_behind_any_number_on_the_log() -> None:
    # restored from a dump older than the series' first invoice: no invoice_series row at all
    assert behind({"notice": 2_000_000_002}, {}) == [Behind("notice", 2_000_000_000, 2_000_000_002)]


def test_level_or_ahead_is_not_behind() -> None:
    assert behind({"subscription": 1_000_000_007}, {"subscription": 7}) == []
    assert behind({"subscription": 1_000_000_007}, {"subscription": 9}) == []
    assert behind({}, {"subscription": 9}) == []  # an empty log never blocks


def _doc(document_type: str, lines: list[dict[str, Any]]) -> InvoiceDocument:
    return InvoiceDocument.model_validate(
        {
            "invoice_id": "9",
            "invoice_number": "3000000001" if document_type != "invoice" else "1000000004",
            "series": "corrective" if document_type != "invoice" else "subscription",
            "document_type": document_type,
            "kind": "subscription",
            "invoice_date": "2026-11-02",
            "due_date": "2026-11-16",
            "payment_terms_days": 14,
            "reference": "10000000045",
            "reference_rf": "RF0610000000045",
            "seller": SELLER.model_dump(mode="json"),
            "customer": customer().model_dump(mode="json"),
            "lines": lines,
            "vat_breakdown": [{"rate": "10", "net": "0.00", "vat": "0.00", "gross": "0.00"}],
            "totals": {"net": "0.00", "vat": "0.00", "gross": "0.00"},
            "issued_at": datetime(2026, 11, 2, tzinfo=UTC).isoformat(),
        }
    )


def _line(no: int, request_id: str, quantity: str, code: str = "HS") -> dict[str, Any]:
    return {
        "line_no": no,
        "request_id": request_id,
        "product_code": code,
        "description": code,
        "quantity": quantity,
        "unit": "kpl",
        "unit_price": "10.00",
        "vat_rate": "10",
        "net": str(Decimal(quantity) * 10),
    }


def test_an_invoice_s_lines_take_their_place_within_their_request_in_document_order() -> None:
    doc = _doc("invoice", [_line(1, "R1", "1"), _line(2, "R1", "2", "KUVA"), _line(3, "R2", "1")])
    lines = document_lines(doc, [])
    assert [(x.line_no, x.request_id, x.request_line, x.reversal) for x in lines] == [
        (1, "R1", 0, False),
        (2, "R1", 1, False),
        (3, "R2", 0, False),
    ]


def test_a_corrective_invoice_s_lines_take_the_place_of_the_original_line_they_undo() -> None:
    original = [
        Line(1, "HS", "HS", Decimal(1), "kpl", Decimal("10.00"), Decimal(10), Decimal("10.00"), "R1", 0),
        Line(2, "KUVA", "KUVA", Decimal(2), "kpl", Decimal("10.00"), Decimal(10), Decimal("20.00"), "R1", 1),
    ]
    doc = _doc("credit-note", [_line(1, "R1", "-2", "KUVA"), _line(2, "R1", "1", "KUVA")])
    lines = document_lines(doc, original)
    assert [(x.request_line, x.reversal, x.quantity) for x in lines] == [(1, True, -2), (1, False, 1)]


def test_the_report_holds_counts_and_numbers_only() -> None:
    report = Report(records=9, issued_on_log=6, present=3, rebuilt=3, drafts_confirmed=1, requests_invoiced=3)
    report.rebuilt_numbers = [1_000_000_004, 1_000_000_006, 1_000_000_005]
    report.series = {"subscription": (3, 6, 6)}
    text = "\n".join(report.lines())
    assert "rebuilt numbers subscription: 1000000004..1000000006" in text
    assert "series subscription: counter 3 -> 6 (highest on the log 6)" in text
    assert text.endswith("done")
    assert "C-1" not in text  # no customer, no name: counts and invoice numbers
    assert (
        Report(records=6, issued_on_log=6, present=6, series={"subscription": (6, 6, 6)})
        .lines()[-1]
        .startswith("nothing to do")
    )
