"""The billing run summary PDF, read back with pypdf: the figures a clerk checks, the mode
banner, the left-out reasons in the chosen language, and the invoice list surviving page
breaks whole. Amounts are computed by hand in the comments below, not by the code."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from services.invoicing.summary_pdf import SummaryRow, render_run_summary
from shared.events.invoicing import BillingRunFinished, LeftOut, RunMode, RunTotals, RunVatTotal

GENERATED = datetime(2026, 11, 23, 14, 40, tzinfo=UTC)  # 16.40 in Helsinki (EET = UTC+2 in November)
FINISHED = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)  # 16.05 in Helsinki

# Three invoices, VAT rounded once per invoice per rate (shared/events/invoicing.py):
#   A: 100.00 at 25.5 % -> VAT 25.50; 20.00 at 10 % -> VAT 2.00; net 120.00, VAT 27.50, gross 147.50 (2 lines)
#   B: 1000.00 at 10 % -> VAT 100.00; gross 1100.00 (1 line)
#   C: 1234.56 at 25.5 % -> 314.8128 -> VAT 314.81; gross 1549.37 (1 line)
# Per rate: 25.5 %: net 100.00 + 1234.56 = 1334.56, VAT 25.50 + 314.81 = 340.31, gross 1674.87
#           10 %:   net 20.00 + 1000.00 = 1020.00, VAT 2.00 + 100.00 = 102.00, gross 1122.00
# Totals:   net 2354.56, VAT 442.31, gross 2796.87 (= 147.50 + 1100.00 + 1549.37)
THREE = [
    ("1001", "C-1", "Virtanen Matti", "email", 2, "120.00", "27.50", "147.50"),
    ("1002", "C-2", "Korhonen Oy", "einvoice", 1, "1000.00", "100.00", "1100.00"),
    ("1003", "C-3", "Mäkinen Åke", "print", 1, "1234.56", "314.81", "1549.37"),
]
LEFT_OUT = [
    LeftOut(
        code="profile-error",
        count=2,
        message_fi="Asiakkaan laskutustiedoissa on virhe.",
        message_en="The customer's billing data has an error.",
    ),
    LeftOut(code="order-cancelled", count=1, message_fi="Tilaus on peruttu.", message_en="The order was cancelled."),
]


def _rows(mode: RunMode) -> list[SummaryRow]:
    return [
        SummaryRow(
            invoice_number=number if mode == "confirm" else None,
            customer_number=customer,
            customer_name=name,
            channel=channel,
            invoice_date=date(2026, 11, 23),
            due_date=date(2026, 12, 7),
            lines=lines,
            net=Decimal(net),
            vat=Decimal(vat),
            gross=Decimal(gross),
        )
        for number, customer, name, channel, lines, net, vat, gross in THREE
    ]


def _run(mode: RunMode, *, invoices: int = 3, left_out: list[LeftOut] | None = None) -> BillingRunFinished:
    return BillingRunFinished(
        run_id="run-42",
        kind="subscription",
        mode=mode,
        invoice_date=date(2026, 11, 23),
        invoices=invoices,
        requests=7,  # 4 invoiced (A has two) + 3 left out
        totals=RunTotals(net=Decimal("2354.56"), vat=Decimal("442.31"), gross=Decimal("2796.87")),
        by_vat_rate=[
            RunVatTotal(rate=Decimal("10"), net=Decimal("1020.00"), vat=Decimal("102.00"), gross=Decimal("1122.00")),
            RunVatTotal(rate=Decimal("25.5"), net=Decimal("1334.56"), vat=Decimal("340.31"), gross=Decimal("1674.87")),
        ],
        by_channel={"email": 1, "einvoice": 1, "print": 1},
        left_out=LEFT_OUT if left_out is None else left_out,
        actor="clerk",
        finished_at=FINISHED,
    )


def _pages(pdf: bytes) -> list[str]:
    """Each page's text with every run of white space (no-break spaces too) as one space."""
    reader = PdfReader(io.BytesIO(pdf))
    return [" ".join(page.extract_text().replace("\u00a0", " ").split()) for page in reader.pages]


def _render(mode: RunMode, language: str, rows: list[SummaryRow] | None = None, **run_kw: object) -> list[str]:
    run = _run(mode, **run_kw)  # type: ignore[arg-type]
    pdf = render_run_summary(run, _rows(mode) if rows is None else rows, language=language, generated_at=GENERATED)  # type: ignore[arg-type]
    assert pdf.startswith(b"%PDF-")
    return _pages(pdf)


def test_finnish_summary_shows_totals_per_rate_and_the_grand_total() -> None:
    text = " ".join(_render("confirm", "fi"))
    # per rate, highest first, Finnish number format
    assert (
        "ALV-kanta Veroton (€) ALV (€) Verollinen (€) 25,5 % 1 334,56 340,31 1 674,87 10 % 1 020,00 102,00 1 122,00"
        in text
    )
    assert "1 122,00 Yhteensä 2 354,56 442,31 2 796,87" in text
    assert "Laskutetaan yhteensä 3 7 3 2 796,87 €" in text  # figures: invoices, requests, left out, gross
    # the list's own total line agrees: 3 invoices, 2 + 1 + 1 = 4 lines
    assert "Yhteensä (3) 4 2 354,56 442,31 2 796,87" in text
    # channels, one each
    assert "Sähköposti 1 Verkkolasku 1 Paperilasku (tulostus) 1 Yhteensä 3" in text


def test_english_summary_uses_english_words_and_number_format() -> None:
    text = " ".join(_render("confirm", "en"))
    assert "25.5% 1,334.56 340.31 1,674.87 10% 1,020.00 102.00 1,122.00 Total 2,354.56 442.31 2,796.87" in text
    assert "€2,796.87" in text
    assert "Total (3) 4 2,354.56 442.31 2,796.87" in text
    assert "Veroton" not in text


def test_list_rows_show_numbers_dates_and_amounts_in_finnish_form() -> None:
    text = " ".join(_render("confirm", "fi"))
    assert "1 1001 C-1 Virtanen Matti Sähköposti 23.11.2026 07.12.2026 2 120,00 27,50 147,50" in text
    assert "3 1003 C-3 Mäkinen Åke Paperi 23.11.2026 07.12.2026 1 1 234,56 314,81 1 549,37" in text
    assert "Ajo valmistui 23.11.2026 klo 16.05" in text
    assert "Tulostettu 23.11.2026 klo 16.40" in text


def test_english_dates_are_iso() -> None:
    text = " ".join(_render("confirm", "en"))
    assert "1 1001 C-1 Virtanen Matti E-mail 2026-11-23 2026-12-07 2 120.00 27.50 147.50" in text
    assert "Printed 2026-11-23 16:40 (EET)" in text


@pytest.mark.parametrize(
    ("language", "banner", "mark"),
    [
        ("fi", "ESIKATSELU – laskuja ei ole luotu", "ESIKATSELU"),
        ("en", "PREVIEW – no invoices have been created", "PREVIEW"),
    ],
)
def test_a_preview_carries_its_banner_and_a_mark_on_every_page(language: str, banner: str, mark: str) -> None:
    rows = _many(150)
    pages = _render("preview", language, rows)
    assert len(pages) > 1
    assert banner in pages[0]
    for page in pages:
        assert mark in page
    # no invoice numbers in a preview: the list shows a dash and says why
    assert "1 – 7000001" in " ".join(pages)


def test_a_confirmed_run_has_no_preview_mark() -> None:
    text = " ".join(_render("confirm", "fi"))
    assert "ESIKATSELU" not in text
    assert "LUONNOS" not in text
    assert "VAHVISTETTU – laskut on luotu" in text


def test_a_draft_says_numbers_come_at_confirmation() -> None:
    text = " ".join(_render("draft", "fi"))
    assert "LUONNOS (PROFORMA) – laskut odottavat vahvistusta" in text
    assert "numerot annetaan vasta vahvistettaessa" in text


@pytest.mark.parametrize(
    ("language", "present", "absent"),
    [
        (
            "fi",
            ["Asiakkaan laskutustiedoissa on virhe. profile-error 2", "Tilaus on peruttu. order-cancelled 1"],
            "cancelled",
        ),
        (
            "en",
            ["The customer's billing data has an error. profile-error 2", "The order was cancelled. order-cancelled 1"],
            "peruttu",
        ),
    ],
)
def test_left_out_reasons_are_in_the_chosen_language(language: str, present: list[str], absent: str) -> None:
    text = " ".join(_render("confirm", language))
    for reason in present:
        assert reason in text
    assert absent not in text.replace("order-cancelled", "")


def test_nothing_left_out_is_said_plainly() -> None:
    text = " ".join(_render("confirm", "fi", left_out=[]))
    assert "Kaikki valitut laskutuspyynnöt laskutettiin." in text


def test_a_preview_with_nothing_left_out_does_not_say_it_invoiced() -> None:
    for language, billed in (("fi", "pyynnöt laskutettiin"), ("en", "request was invoiced")):
        text = " ".join(_render("preview", language, left_out=[]))
        assert billed not in text


def test_a_run_with_nothing_to_invoice_still_prints() -> None:
    run = BillingRunFinished(
        run_id="run-43",
        kind="notice",
        mode="confirm",
        invoices=0,
        requests=0,
        totals=RunTotals(net=Decimal(0), vat=Decimal(0), gross=Decimal(0)),
        actor="scheduler",
        finished_at=FINISHED,
    )
    pages = _pages(render_run_summary(run, [], language="fi", generated_at=GENERATED))
    assert len(pages) == 1
    assert "Ajossa ei syntynyt yhtään laskua" in pages[0]
    assert "Ilmoituslaskut" in pages[0]
    assert "useita" not in pages[0]  # no invoice, so no dates (not "several")
    assert "Yhteensä 0,00 0,00 0,00" in pages[0]
    assert "Sivu 1/1" in pages[0]


def _many(n: int) -> list[SummaryRow]:
    return [
        SummaryRow(
            invoice_number=None,
            customer_number=str(7000000 + i),
            customer_name=f"Asiakas {i}",
            channel="print",
            invoice_date=date(2026, 11, 23),
            due_date=date(2026, 12, 7),
            lines=1,
            net=Decimal("10.00"),
            vat=Decimal("2.55"),
            gross=Decimal("12.55"),
        )
        for i in range(1, n + 1)
    ]


def test_page_count_grows_with_rows_and_no_row_is_lost_or_repeated() -> None:
    counts = []
    for n in (10, 200, 1000):
        pages = _render("preview", "fi", _many(n))
        counts.append(len(pages))
        text = " ".join(pages)
        found = re.findall(r"\b7\d{6}\b", text)
        assert found == [str(7000000 + i) for i in range(1, n + 1)]  # each once, in order
        for k, page in enumerate(pages, start=1):
            assert f"Sivu {k}/{len(pages)}" in page
    assert counts[0] < counts[1] < counts[2]
    # a row is 11.5 pt and a page body 496 pt (A4 landscape less 35 mm of margins), so
    # 1000 rows need at least 1000 * 11.5 / 496 = 23.2 pages of list alone
    assert counts[2] >= 24


def test_the_list_header_row_repeats_on_every_list_page_and_the_total_comes_once() -> None:
    pages = _render("preview", "fi", _many(200))
    header = "Nro Laskunro Asiakasnro Asiakas Kanava Laskupäivä Eräpäivä Rivejä Veroton (€) ALV (€) Verollinen (€)"
    list_pages = [p for p in pages if re.search(r"\b7000\d{3}\b", p)]
    assert len(list_pages) >= 4
    for page in list_pages:
        assert page.count(header) == 1
    # 200 rows of 10.00 + 2.55 = 12.55: net 2 000,00, VAT 510,00, gross 2 510,00
    assert " ".join(pages).count("Yhteensä (200) 200 2 000,00 510,00 2 510,00") == 1
    assert "Yhteensä (200)" in list_pages[-1]


def test_names_are_shortened_to_their_column_and_folded_to_printable_letters() -> None:
    long_name = "Suomalaisen Kirjallisuuden Seura ry, Jäsenpalvelut ja lehtitilaukset, Helsinki"
    rows = [
        SummaryRow(
            None, "1", long_name, "email", date(2026, 11, 23), date(2026, 12, 7), 1, Decimal(1), Decimal(0), Decimal(1)
        ),
        SummaryRow(
            None,
            "2",
            "Łukasz Wiśniewski",
            "email",
            date(2026, 11, 23),
            date(2026, 12, 7),
            1,
            Decimal(1),
            Decimal(0),
            Decimal(1),
        ),
        SummaryRow(
            None, "3", None, "einvoice", date(2026, 11, 23), date(2026, 12, 7), 1, Decimal(1), Decimal(0), Decimal(1)
        ),
    ]
    text = " ".join(_render("preview", "fi", rows))
    assert long_name not in text
    assert "Suomalaisen Kirjallisuuden Seura ry" in text
    assert "…" in text
    assert "Lukasz Wisniewski" in text
    assert "3 – 3 – Verkkolasku" in text  # no number yet, no name on file


def test_reasons_are_printed_as_text_not_read_as_markup() -> None:
    odd = [LeftOut(code="odd", count=1, message_fi="Hinta <b>puuttuu</b> & tuote <tuntematon>", message_en="x")]
    text = " ".join(_render("confirm", "fi", left_out=odd))
    assert "Hinta <b>puuttuu</b> & tuote <tuntematon> odd 1" in text
