"""What the clerk reads in the terminal: one line per invoice, in Finnish or English."""

from __future__ import annotations

from typing import Any

import pytest

from billing_cli.reminders import _print_list, row_line

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


def _page_with_a_rate_gap() -> dict[str, Any]:
    """A candidates answer on 23.11.2026 as the service gives it while 2026 H2 has no rate."""
    return {
        "items": [{**CANDIDATE, "interest": "0.00", "total_due": "1068.37"}],
        "totals": {"excluded_by_reason": []},
        "next_after": None,
        "message_fi": "Maksumuistutettavia #1: 1 kpl, yhteensä 1 068,37 €. Ei muistuteta: 0.",
        "message_en": "Candidates for reminder #1: 1, 1068.37 € in all. Left out: 0.",
        "reference_rates_missing": [
            {
                "start": "2026-07-01",
                "end": "2026-12-31",
                "half_year": "2026 H2",
                "file": "services/reminders/domain/data/reference_rates.toml",
                "row": '[[rate]]\nstart = 2026-07-01\nend = 2026-12-31\nreference = "…"\nbasis = "announced"\n',
                "setting": """REMINDERS_EXTRA_REFERENCE_RATES='{"2026-07-01": "…"}'""",
                "message_fi": "Viitekorko puuttuu ajalta 1.7.–31.12.2026: ...",
                "message_en": "No reference rate for 2026-07-01..2026-12-31 (2026 H2): ...",
            }
        ],
    }


def test_candidates_output_ends_with_the_missing_reference_rate_and_the_row_to_add(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _print_list(_page_with_a_rate_gap(), "fi")
    out = capsys.readouterr().out.splitlines()
    at = out.index("HUOM: Viitekorko puuttuu ajalta 1.7.–31.12.2026: ...")
    assert at == 2  # after the row and the count: what stays on the screen
    assert out[at + 1] == "  lisättävä rivi tiedostoon services/reminders/domain/data/reference_rates.toml:"
    assert out[at + 2 : at + 5] == ["    [[rate]]", "    start = 2026-07-01", "    end = 2026-12-31"]
    assert out[-1] == """  tai väliaikaisesti asetus REMINDERS_EXTRA_REFERENCE_RATES='{"2026-07-01": "…"}'"""
    _print_list(_page_with_a_rate_gap(), "en")
    out = capsys.readouterr().out.splitlines()
    assert "WARNING: No reference rate for 2026-07-01..2026-12-31 (2026 H2): ..." in out
    assert "  the row to add to services/reminders/domain/data/reference_rates.toml:" in out


def test_no_warning_when_the_table_covers_the_day(capsys: pytest.CaptureFixture[str]) -> None:
    _print_list({**_page_with_a_rate_gap(), "reference_rates_missing": []}, "fi")
    out = capsys.readouterr().out
    assert "HUOM" not in out and "reference_rates.toml" not in out
