"""``billing invoicing``: what the clerk types is understood, what is printed is in the
clerk's formats, and bad calls stop before any request is sent. (The commands against a
real service: ``tests/integration/test_invoicing_cli.py``.)"""

from __future__ import annotations

import socket
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from billing_cli.invoicing import text
from billing_cli.main import app

NBSP = "\u00a0"


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, ["invoicing", *args], env=env)


def said(result: Any) -> str:
    """The output as one line: the usage-error box's borders and wrapping taken away."""
    return " ".join(result.output.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch) -> str:
    """A URL nothing listens on: any command that got as far as calling fails with 2."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("BILLING_INVOICING_URL", url)
    monkeypatch.setenv("BILLING_TOKEN", "t")
    return url


# --- formats ---------------------------------------------------------------------------


def test_money_in_finnish_and_english() -> None:
    # 1234567.891 -> cents half away from zero 1234567.89; groups of three
    assert text.money("1234567.891", "fi") == f"1{NBSP}234{NBSP}567,89"
    assert text.money("1234567.891", "en") == "1,234,567.89"
    assert text.money("-15.19", "fi") == "-15,19"
    # -0.005 is a tie: away from zero -> -0.01
    assert text.money("-0.005", "en") == "-0.01"


def test_rates_quantities_and_prices_without_exponents() -> None:
    # the API has answered a normalised 10 as "1E+1": still printed 10
    assert text.rate("1E+1", "fi") == "10 %"
    assert text.rate("25.5", "fi") == "25,5 %"
    assert text.rate("25.50", "en") == "25.5%"
    assert text.number("8.000", "fi") == "8"
    assert text.number("-2.500", "fi") == "-2,5"
    assert text.price("50.0000", "fi") == "50,00"
    assert text.price("0.1234", "en") == "0.1234"


def test_dates_and_local_times() -> None:
    assert text.day("2026-12-07", "fi") == "7.12.2026"
    assert text.day("2026-12-07", "en") == "2026-12-07"
    # 23:30 UTC on 31 December is 01:30 on 1 January in Helsinki (UTC+2 in winter)
    assert text.moment("2026-12-31T23:30:00+00:00", "fi") == "1.1.2027 01.30"


def test_what_the_clerk_types() -> None:
    assert text.parse_quantity("2,5") == Decimal("2.5")
    assert text.parse_quantity(" 6 ") == Decimal(6)
    for bad in ("-1", "kuusi", "NaN", "Infinity"):
        with pytest.raises(ValueError):
            text.parse_quantity(bad)
    assert text.parse_day("23.11.2026") == date(2026, 11, 23)
    assert text.parse_day("2026-11-23") == date(2026, 11, 23)
    for bad in ("31.2.2026", "2026-13-01", "huomenna"):
        with pytest.raises(ValueError):
            text.parse_day(bad)
    assert text.read_ids(["# valitut", "R1", "", "  R2  # toinen", "R1"]) == ["R1", "R2"]


# --- what is printed -----------------------------------------------------------------------


def _summary(**over: Any) -> dict[str, Any]:
    s = {
        "run_id": "8b99cd95-520b-4c3c-b5e7-50b26e2414d0",
        "kind": "notice",
        "mode": "draft",
        "invoices": 2,
        "requests": 3,
        "totals": {"net": "1100.00", "vat": "263.00", "gross": "1363.00"},
        "by_vat_rate": [
            {"rate": "10", "net": "100.00", "vat": "10.00", "gross": "110.00"},
            {"rate": "25.5", "net": "1000.00", "vat": "255.00", "gross": "1255.00"},
        ],
        "by_channel": {"print": 1, "einvoice": 1},
        "left_out": [
            {"code": "order-cancelled", "count": 2, "message_fi": "Tilaus on peruttu.", "message_en": "x"},
        ],
        "actor": "clerk-1",
        "finished_at": "2026-11-23T12:05:00+00:00",
    }
    s.update(over)
    return {"summary": s}


def test_summary_shows_mode_counts_totals_per_rate_channels_and_what_was_left_out() -> None:
    # 10 %: 100.00 + 10.00 = 110.00; 25.5 %: 1000.00 + 255.00 = 1255.00; total 1363.00
    out = [" ".join(line.replace(NBSP, "_").split()) for line in text.summary_lines(_summary(), "fi")]
    assert out == [
        "Laskutusajon kooste – Ilmoituslaskut – LUONNOS (proforma: muokattavissa, numerot vahvistettaessa)",
        "Ajo 8b99cd95-520b-4c3c-b5e7-50b26e2414d0, käynnistäjä clerk-1, valmistui 23.11.2026 14.05",
        "Laskuja 2, laskutuspyyntöjä 3",
        "Laskut tallennettiin luonnoksina: ne laskutetaan vasta vahvistettaessa (invoicing confirm).",
        "ALV Veroton ALV Verollinen",
        "10 % 100,00 10,00 110,00",
        "25,5 % 1_000,00 255,00 1_255,00",
        "Yhteensä 1_100,00 263,00 1_363,00",
        "Lähetyskanavat: verkkolasku 1, paperi 1",
        "Laskuttamatta jääneet:",
        "2 × Tilaus on peruttu. (order-cancelled)",
    ]


def test_an_empty_run_says_there_was_nothing_to_invoice() -> None:
    empty = _summary(
        invoices=0,
        requests=0,
        totals={"net": "0", "vat": "0", "gross": "0"},
        by_vat_rate=[],
        by_channel={},
        left_out=[],
        mode="confirm",
    )
    assert text.summary_lines(empty, "en")[2:] == ["Invoices 0, billing requests 0", "There was nothing to invoice."]


def test_a_preview_says_it_billed_nothing_and_never_that_requests_were_invoiced() -> None:
    # every selected request would be invoiced, but a preview invoices none of them
    for lang, billed in (("fi", "pyynnöt laskutettiin"), ("en", "request was invoiced")):
        lines = text.summary_lines(_summary(mode="preview", left_out=[]), lang)
        said = " ".join(lines)
        assert billed not in said, lines
        assert ("mitään ei laskutettu" if lang == "fi" else "nothing was invoiced") in said
        assert ("tulisivat laskutetuiksi" if lang == "fi" else "would be invoiced") in said


def test_the_summary_names_the_single_invoice_date_and_the_customers_left_out() -> None:
    left = {
        "code": "invoice-over-limit",
        "count": 2,
        "message_fi": "Asiakkaan laskun summa ylittäisi rajan.",
        "message_en": "Over the limit.",
        "customers": ["C-7"],
    }
    lines = text.summary_lines(_summary(mode="confirm", invoice_date="2026-11-23", left_out=[left]), "en")
    assert "Invoice date 2026-11-23" in lines
    assert "  2 × Over the limit. (invoice-over-limit) [C-7]" in lines


def test_only_erroneous_rows_carry_reasons_and_the_card_command() -> None:
    page = {
        "kind": "subscription",
        "total": 2,
        "ready": 1,
        "errors": 1,
        "items": [
            {
                "request_id": "R1",
                "customer_number": "C-1",
                "state": "ready",
                "label_fi": "valmis",
                "label_en": "ready",
                "invoice_date": "2026-11-23",
                "net": "30.00",
                "reasons": [],
            },
            {
                "request_id": "R2",
                "customer_number": "C-2",
                "state": "error",
                "label_fi": "virhe",
                "label_en": "error",
                "invoice_date": "2026-11-23",
                "net": "1234.5",
                "reasons": [{"code": "x", "field": "email", "message_fi": "Puuttuu.", "message_en": "Missing."}],
            },
        ],
    }
    out = [line.replace(NBSP, "_").rstrip() for line in text.request_lines(page, "fi", card_command="open {customer}")]
    assert out == [
        "Tilauslaskut: 2 laskutuspyyntöä, valmiina 1, virheellisiä 1",
        "Pyyntö  Asiakas  Tila    Laskupv      Veroton",
        "R1      C-1      valmis  23.11.2026     30,00",
        "R2      C-2      virhe   23.11.2026  1_234,50",
        "    email: Puuttuu.",
        "    asiakaskortti: open C-2",
    ]
    assert text.notice_lines(None, "fi") == []


# --- bad calls stop before the service is asked ----------------------------------------------


def test_a_run_needs_an_explicit_selection_and_mode(nowhere: str, tmp_path: Path) -> None:
    for args, says in (
        (["--mode", "confirm"], "choose the requests"),
        (["--mode", "confirm", "--all", "--request-id", "R1"], "not both"),
        (["--all"], "--mode"),
        (["--mode", "confirm", "--all", "--no-wait", "--pdf", str(tmp_path / "x.pdf")], "--pdf needs the run"),
        (["--mode", "confirm", "--from-file", str(tmp_path / "missing.txt")], "cannot read"),
        (["--mode", "confirm", "--all", "--up-to", "31.2.2026"], "is not a date"),
        (["--mode", "later", "--all"], "later"),
    ):
        result = invoke("run", "--kind", "subscription", *args)
        assert result.exit_code == 2, (args, result.output)  # usage error, nothing sent
        assert says in said(result), (args, result.output)
        assert "cannot reach" not in result.output


def test_edit_line_needs_a_change_and_a_number(nowhere: str) -> None:
    for args, says in (
        (["edit-line", "5", "1"], "give --quantity"),
        (["edit-line", "5", "1", "--quantity", "-1"], "0 or above"),
        (["edit-line", "5", "0", "--quantity", "1"], "'line_no': Input should be greater than or equal to 1"),
        (["confirm", "5", "--all-of-kind", "notice"], "not both"),
        (["confirm"], "not both"),
        (["summary", "not-a-run"], "not a run id"),
        (["payments", "--unmatched", "--status", "matched"], "disagree"),
    ):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert says in said(result), (args, result.output)
        assert "cannot reach" not in result.output


def test_a_service_that_cannot_be_reached_exits_2(nowhere: str) -> None:
    result = invoke("invoices")
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"Palveluun invoicing ei saada yhteyttä ({nowhere}, ConnectError): onko se käynnissä? Käynnistä: make demo"
    )
