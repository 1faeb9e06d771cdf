"""What the clerk reads in the terminal: one line per invoice, in Finnish or English."""

from __future__ import annotations

from typing import Any

from billing_cli.reminders import row_line

CANDIDATE: dict[str, Any] = {
    "invoice_number": "1000000001",
    "customer_number": "C-1",
    "customer_name": "Maija Meikäläinen",
    "due_date": "2026-03-16",
    "days_overdue": 15,
    "candidate": True,
    "open_amount": "1063.37",
    "fee": "5.00",
    "compensation": "0.00",
    "interest": "0.25",
    "total_due": "1068.62",
}


def test_a_candidate_in_finnish_with_finnish_dates_and_amounts() -> None:
    line = row_line(CANDIDATE, "fi")
    assert "eräp. 16.3.2026" in line
    assert "15 pv" in line
    assert "avoin 1\u00a0063,37  kulu 5,00  korko 0,25  yht. 1\u00a0068,62" in line
    assert "korvaus" not in line  # no compensation for a consumer: not shown


def test_a_business_candidate_in_english_shows_the_compensation() -> None:
    line = row_line({**CANDIDATE, "fee": "0.00", "compensation": "40.00", "total_due": "1103.62"}, "en")
    assert "due 2026-03-16" in line
    assert "open 1,063.37  fee 0.00  compensation 40.00  interest 0.25  total 1,103.62" in line


def test_a_left_out_invoice_says_why() -> None:
    row = {**CANDIDATE, "candidate": False, "message_fi": "Lasku on riitautettu.", "message_en": "Disputed."}
    assert row_line(row, "fi").endswith("ei muistuteta: Lasku on riitautettu.")
    assert row_line(row, "en").endswith("left out: Disputed.")
