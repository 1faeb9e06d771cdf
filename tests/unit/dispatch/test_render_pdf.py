"""The PDF a customer receives: read back with pypdf, values worked out by hand.

The default invoice (tests/support/documents.py): number 1000000001, dated 2.11.2026,
14 days net -> due 16.11.2026; lines 1 x 30.00 (10 %) and 2 x 12.10 (25.5 %) -> gross
63.37. Its national reference: base 1000000001, digits from the right weighted
7, 3, 1, ...: 1*7 + 0 + ... + 1*7 (the tenth digit from the right has weight 7) = 14,
check digit 10 - 4 = 6 -> 10000000016, printed in fives from the right "1 00000 00016".
Seller IBAN FI21 1234 5600 0007 85, BIC NDEAFIHH.
"""

from __future__ import annotations

import pytest

from services.dispatch.render import render_pdf
from tests.support import documents as d
from tests.support import render_samples as samples
from tests.support.pdf import bars, code128_table, decode_code128_c, page_texts, text

IBAN = "FI21 1234 5600 0007 85"
REFERENCE = "1 00000 00016"
# Virtual bar code v4: 4 | IBAN digits | euros (6) cents (2) | 000 | reference (20) | due YYMMDD
BARCODE_V4 = "4" + "2112345600000785" + "000063" + "37" + "000" + "00000000010000000016" + "261116"


@pytest.mark.parametrize(
    ("lang", "title", "due", "reference_label", "to_pay"),
    [
        ("fi", "LASKU", "16.11.2026", "Viitenumero", "Maksettava yhteensä"),
        ("sv", "FAKTURA", "16.11.2026", "Referensnummer", "Att betala"),
        ("en", "INVOICE", "16 Nov 2026", "Reference number", "Amount due"),
    ],
)
def test_invoice_shows_number_reference_iban_due_date_and_amount_in_the_customers_language(
    lang: str, title: str, due: str, reference_label: str, to_pay: str
) -> None:
    pdf = render_pdf(d.invoice(who=d.customer(data=samples.person(lang))))
    assert pdf.startswith(b"%PDF-")
    pages = page_texts(pdf)
    assert len(pages) == 1
    lines = pages[0].splitlines()
    assert title in lines
    assert "1000000001" in lines
    assert lines[lines.index(reference_label) + 1] == REFERENCE
    assert due in lines
    assert lines[lines.index(to_pay) + 1] == "63,37 €"
    # The bank transfer form: IBAN, BIC, reference, due date dd.mm.yyyy, amount without the sign.
    assert IBAN in lines
    assert "NDEAFIHH" in lines
    form = lines[lines.index("TILISIIRTO") :]
    assert REFERENCE in form
    assert "16.11.2026" in form
    assert "63,37" in form
    assert BARCODE_V4 in form


def test_the_lines_vat_breakdown_and_totals_are_printed_with_finnish_number_forms() -> None:
    lines = page_texts(render_pdf(d.invoice()))[0].splitlines()
    # Line 2: 2 pieces at 12,10, 25,5 %, net 2 * 12.10 = 24.20
    i = lines.index("Kuvaliite")
    assert lines[i + 1 : i + 6] == ["2", "kpl", "12,10", "25,5 %", "24,20 €"]
    # VAT 25.5 %: 24.20 * 0.255 = 6.171 -> 6.17, gross 30.37; VAT 10 %: 3.00, gross 33.00
    assert lines[lines.index("6,17 €") - 2 : lines.index("6,17 €") + 2] == ["25,5 %", "24,20 €", "6,17 €", "30,37 €"]
    assert lines[lines.index("3,00 €") - 2 : lines.index("3,00 €") + 2] == ["10 %", "30,00 €", "3,00 €", "33,00 €"]
    assert lines[lines.index("Veroton yhteensä") + 1] == "54,20 €"
    assert lines[lines.index("ALV yhteensä") + 1] == "9,17 €"


def test_the_bar_code_bars_encode_the_virtual_bar_code_in_code_128_set_c() -> None:
    pdf = render_pdf(d.invoice())
    assert decode_code128_c(pdf) == BARCODE_V4


def test_the_code_128_table_the_decoder_uses_agrees_with_the_standard() -> None:
    # ISO/IEC 15417 widths (bar, space, bar, space, bar, space): 0 = 212222, 1 = 222122,
    # 99 = 113141 (code C), 105 = 211232 (start C).
    table = code128_table()
    assert (table["212222"], table["222122"], table["113141"], table["211232"]) == (0, 1, 99, 105)


def test_a_customer_abroad_gets_the_rf_reference_and_a_version_5_bar_code() -> None:
    doc = samples.reminder_with_interest()
    # Invoice 1000000003: 3*7 + 1*7 = 28 -> check digit 2 -> national 10000000032.
    # RF check digits: 98 - ("10000000032" + "RF00" as digits, R=27 F=15) mod 97.
    rf_check = 98 - int("10000000032" + "2715" + "00") % 97
    assert rf_check == 48
    pdf = render_pdf(doc)
    lines = text(pdf).splitlines()
    assert "RF48 1000 0000 032" in lines
    assert "SWEDEN" in lines
    # v5: 5 | IBAN digits | 69.44 € | RF check | reference (21) | new due 15.12.2026
    expected = "5" + "2112345600000785" + "000069" + "44" + "48" + "000000000010000000032" + "261215"
    assert expected in lines
    assert decode_code128_c(pdf) == expected


def test_credit_note_shows_the_original_invoice_and_has_no_payment_form() -> None:
    original = d.invoice(1000000002, who=d.customer("C-2", d.COMPANY))
    pdf = render_pdf(d.credit_note(original))
    lines = text(pdf).splitlines()
    assert "HYVITYSLASKU" in lines
    assert "3000000001" in lines
    assert lines[lines.index("Alkuperäinen lasku") + 1] == "1000000002"
    # Every line negated: -(30.00 + 3.00) - (24.20 + 6.17) = -63.37
    assert lines[lines.index("Hyvitys yhteensä") + 1] == "-63,37 €"
    assert "Asiakkaan Y-tunnus" in lines
    for form_text in ("TILISIIRTO", "Viitenro", IBAN, "Eräpäivä", "Maksettava yhteensä"):
        assert form_text not in lines
    assert not any(line.isdigit() and len(line) == 54 for line in lines)


@pytest.mark.parametrize(("lang", "title"), [("sv", "KREDITNOTA"), ("en", "CREDIT NOTE")])
def test_credit_note_title_per_language(lang: str, title: str) -> None:
    original = d.invoice(who=d.customer(data=samples.person(lang)))
    assert title in text(render_pdf(d.credit_note(original))).splitlines()


def test_reminder_shows_level_original_invoice_open_amount_fee_interest_and_new_due_date() -> None:
    pdf = render_pdf(samples.reminder_with_interest())
    lines = text(pdf).splitlines()
    assert "PAYMENT REMINDER" in lines
    assert lines[lines.index("Reminder no.") + 1] == "2"
    assert lines[lines.index("Invoice number") + 1] == "1000000003"
    assert lines[lines.index("Unpaid amount") + 1] == "63,37 €"
    assert lines[lines.index("Reminder fee") + 1] == "5,00 €"
    after_interest = [lines[i + 1] for i, line in enumerate(lines) if line == "Late payment interest"]
    assert after_interest == ["per the Finnish Interest Act", "1,07 €"]  # the field, then the amount
    assert "17 Nov 2026–31 Dec 2026, 45 days at 11,5 %" in lines
    assert "1 Jan 2027–8 Jan 2027, 8 days at 12 %" in lines
    # 63.37 + 5.00 + (0.90 + 0.17) = 69.44
    assert lines[lines.index("Amount due") + 1] == "69,44 €"
    assert lines[lines.index("New due date") + 1] == "15 Dec 2026"
    form = lines[lines.index("TILISIIRTO") :]
    assert "15.12.2026" in form
    assert "69,44" in form


def test_finnish_reminder_is_a_maksumuistutus_with_the_national_reference() -> None:
    # Default reminder: open 63.37 + fee 5.00 = 68.37, due 1.12.2026 + 14 days = 15.12.2026
    lines = text(render_pdf(d.reminder(d.invoice()))).splitlines()
    assert "MAKSUMUISTUTUS" in lines
    assert lines[lines.index("Muistutuskerta") + 1] == "1"
    assert lines[lines.index("Uusi eräpäivä") + 1] == "15.12.2026"
    assert lines[lines.index("Maksettava yhteensä") + 1] == "68,37 €"
    assert "4" + "2112345600000785" + "00006837" + "000" + "00000000010000000016" + "261215" in lines


def test_a_long_invoice_runs_over_pages_with_every_line_once_and_the_totals_once_on_the_last() -> None:
    doc = d.invoice(1000000004, spec=samples.long_spec(80))
    pdf = render_pdf(doc)
    pages = page_texts(pdf)
    count = len(pages)
    assert count >= 2
    for number, page in enumerate(pages, start=1):
        assert f"Sivu {number} ({count})" in page.splitlines()
    everything = "\n".join(pages).splitlines()
    for i in range(1, 81):
        label = f"{samples.LONG_TEXT} ({i})" if i % 7 == 0 else f"Tuote {i}"
        if i % 7:
            assert everything.count(label) == 1, label
    wrapped = [line for line in everything if line.startswith("Ilmoitus: Helsingin Sanomat")]
    assert len(wrapped) == 80 // 7  # the long descriptions wrap, each starts once
    totals = [n for n, page in enumerate(pages, start=1) if "Maksettava yhteensä" in page.splitlines()]
    assert totals == [count]
    assert [n for n, page in enumerate(pages, start=1) if "TILISIIRTO" in page] == [count]
    assert all("Jatkuu seuraavalla sivulla" in page for page in pages[:-1])
    # Line i: (i % 3 + 1) x (i + 0.25) €. Odd lines (25.5 %) net 3 246.00, VAT 3246.00 * 0.255
    # = 827.73; even lines (10 %) net 3 328.25, VAT 332.825 -> 332.83; gross 3246.00 + 827.73
    # + 3328.25 + 332.83 = 7 734.81.
    last = pages[-1].splitlines()
    assert last[last.index("Maksettava yhteensä") + 1] == "7 734,81 €"
    assert last[last.index("Veroton yhteensä") + 1] == "6 574,25 €"
    assert "7 734,81" in last[last.index("TILISIIRTO") :]
    # The bars are on the last page only and carry 7734.81 € (euros 007734, cents 81).
    assert decode_code128_c(pdf, page=-1)[17:25] == "00773481"
    assert all(not bars(pdf, page=n) for n in range(count - 1))


def test_language_falls_back_to_finnish_and_accepts_a_region_suffix() -> None:
    german = text(render_pdf(d.invoice(who=d.customer(data=samples.person("de"))))).splitlines()
    assert "LASKU" in german
    swedish = text(render_pdf(d.invoice(who=d.customer(data=samples.person("sv-FI"))))).splitlines()
    assert "FAKTURA" in swedish


def test_a_name_outside_the_fonts_letters_is_printed_without_its_accents() -> None:
    lines = text(render_pdf(samples.reminder_with_interest())).splitlines()
    assert "Lukasz Wadolowski" in lines  # Ł -> L, ą -> a, ł -> l
    assert "■" not in "".join(lines)


def test_the_same_document_renders_to_the_same_bytes() -> None:
    assert render_pdf(d.invoice()) == render_pdf(d.invoice())


def test_corrective_invoice_with_more_to_pay_has_the_difference_on_the_payment_form() -> None:
    # Line 1 re-billed at 2 pieces: -1 x 30.00 - 2 x 12.10 + 2 x 30.00.
    # 10 %: -30.00 + 60.00 = 30.00, VAT 3.00; 25.5 %: -24.20, VAT -6.171 -> -6.17.
    # Gross 33.00 - 30.37 = 2.63 to pay.
    doc = d.credit_note(d.invoice(), new_quantities={1: "2"})
    assert doc.document_type == "corrective"
    pdf = render_pdf(doc)
    lines = text(pdf).splitlines()
    assert "KORJAUSLASKU" in lines
    assert lines[lines.index("Alkuperäinen lasku") + 1] == "1000000001"
    assert lines[lines.index("Maksettava yhteensä") + 1] == "2,63 €"
    assert "Korjaa laskua 1000000001." in lines
    # Corrective invoice 3000000001: 3*7 + 1*7 = 28 -> check 2 -> reference 30000000012.
    assert decode_code128_c(pdf) == "4" + "2112345600000785" + "00000263" + "000" + "00000000030000000012" + "261116"


def test_a_long_name_and_four_street_lines_still_fit_the_window_and_the_form() -> None:
    address = samples.ABROAD.address.model_copy(  # type: ignore[union-attr]
        update={"street_lines": ["c/o Asunto Oy Esimerkki", "Rappu A", "Pitkäkatu 123 A 45", "PL 99"]}
    )
    who = d.customer(
        "C-9", samples.person("fi").model_copy(update={"name": "Maija " + "Meikäläinen-" * 12, "address": address})
    )
    lines = text(render_pdf(d.invoice(who=who))).splitlines()
    names = [line for line in lines if line.startswith("Maija Meikäläinen-")]
    assert len(names) == 2  # the window and the form, each cut to one line
    assert all(name.endswith("…") for name in names)
    # Window: every line; form (5 lines): the street lines joined, city and country kept.
    assert lines.count("Rappu A") == 1
    joined = [line for line in lines if line.startswith("c/o Asunto Oy Esimerkki, Rappu A, Pitkäkatu")]
    assert len(joined) == 1 and joined[0].endswith("…")
    assert lines.count("111 22 Stockholm") == 2
    assert lines.count("SWEDEN") == 2


def test_units_are_printed_in_the_customers_language() -> None:
    swedish = text(render_pdf(d.invoice(who=d.customer(data=samples.person("sv"))))).splitlines()
    english = text(render_pdf(d.invoice(who=d.customer(data=samples.person("en"))))).splitlines()
    assert swedish[swedish.index("Kuvaliite") + 2] == "st"  # kpl
    assert english[english.index("Kuvaliite") + 2] == "pcs"
