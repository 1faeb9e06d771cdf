"""The *Pankin aineistot / Bank files* tab in Chromium against the real invoicing service
on real Kafka and PostgreSQL: a reference-payment file (built by the bank-file writer,
``services/invoicing/bank_files/writers.py``) paying two real invoices plus one payment
whose reference is nobody's is uploaded, previewed (two matched to their invoice numbers,
one unmatched), confirmed, and listed with its counts once the invoicing consumer has
taken the payments; the same file again is a warning with nothing to confirm; a file
whose sum record does not add up is refused with the line, and nothing is imported; the
shipped camt.054 sample (``tests/data/bank_files``) is previewed and imported too.

The invoices come from real billing requests through a billing run (1 x 30.00 at 10 %
VAT = 33.00 each)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from services.invoicing.bank_files.model import BankFile, BankFileEntry
from services.invoicing.bank_files.writers import write_viitesiirto
from tests.browser.a11y import assert_accessible, assert_outcome_in_view
from tests.browser.conftest import Stack, shot
from tests.browser.tabs_support import api, finished_job, wait_until
from tests.support import sales

pytestmark = pytest.mark.integration

CUSTOMERS = ("C-1", "C-2")
UNKNOWN_REFERENCE = "1232"  # a valid Finnish reference (123, check digit 2) no invoice has
ACCOUNT = "FI2112345600000785"
CAMT054_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "bank_files" / "camt054_001_08_sample.xml"


@pytest.fixture
def stack_services() -> tuple[str, ...]:
    return ("invoicing",)


def seed(stack: Stack) -> list[dict[str, Any]]:
    """Two confirmed invoices of 33.00 (number, reference)."""
    stack.publish(lambda inbound: inbound.profiles(*(sales.profile(c, channel="email") for c in CUSTOMERS)))
    stack.publish(
        lambda inbound: inbound.requests(*(sales.request(f"R-{c}", c, invoice_date="2026-11-23") for c in CUSTOMERS))
    )
    with api(stack, "invoicing") as invoicing:
        wait_until(
            lambda: (
                invoicing.get("/billing-requests", params={"kind": "subscription", "state": "ready"}).json()["total"]
                == len(CUSTOMERS)
            ),
            what="the billing requests ready",
        )
        finished_job(invoicing, invoicing.post("/billing-runs", json={"kind": "subscription", "mode": "confirm"}))
        found = invoicing.get("/invoices", params={"status": "confirmed", "limit": 10}).json()["items"]
    invoices: list[dict[str, Any]] = sorted(found, key=lambda inv: inv["customer_number"])
    assert [inv["customer_number"] for inv in invoices] == list(CUSTOMERS)
    assert all(inv["reference"] and Decimal(inv["gross"]) == Decimal("33.00") for inv in invoices)
    return invoices


def entry(archive_id: str, reference: str, amount: str, line: int) -> BankFileEntry:
    return BankFileEntry(
        archive_id=archive_id,
        reference=reference,
        amount=Decimal(amount),
        booking_date=date(2026, 12, 4),
        payment_date=date(2026, 12, 3),
        payer_name="MAKSAJA",
        reversal=False,
        reverses_archive_id=None,
        location=f"line {line}",
    )


def sample(invoices: list[dict[str, Any]]) -> bytes:
    """Both invoices paid in full, and 12.50 to a reference no invoice has."""
    return write_viitesiirto(
        BankFile(
            format="viitesiirto",
            file_id="202612040615-47-TESTI0001",
            created_at=datetime(2026, 12, 4, 6, 15),
            account=ACCOUNT,
            entries=(
                entry("ARK0000000000001", invoices[0]["reference"], "33.00", 2),
                entry("ARK0000000000002", invoices[1]["reference"], "33.00", 3),
                entry("ARK0000000000003", UNKNOWN_REFERENCE, "12.50", 4),
            ),
        )
    )


def upload(page: Page, path: Path) -> None:
    page.get_by_label("Maksuaineisto").set_input_files(str(path))
    page.get_by_role("button", name="Esikatsele").click()


def test_upload_preview_confirm_and_the_list_and_a_malformed_file_refused(
    page: Page, stack: Stack, tmp_path: Path
) -> None:
    invoices = seed(stack)
    good = tmp_path / "viitteet.txt"
    good.write_bytes(sample(invoices))
    numbers = [str(inv["number"]) for inv in invoices]

    page.get_by_role("link", name="Pankin aineistot").click()
    expect(page.locator("h1")).to_have_text("Pankin aineistot")
    expect(page.locator("p[data-total]")).to_have_text("0 aineistoa")
    assert_accessible(page, "bank files: empty list")

    # the preview: what will be recorded, each entry's outcome, focused for the clerk
    upload(page, good)
    summary = page.locator("[data-preview-summary]")
    expect(summary.locator("[data-file-id]")).to_have_text("202612040615-47-TESTI0001")
    assert_outcome_in_view(page, summary)
    expect(summary.locator("[data-format]")).to_have_text("Viitesiirtoaineisto")
    expect(summary.locator("[data-payments]")).to_have_text("3 kpl, yhteensä 78,50\u00a0€")
    expect(summary.locator("[data-tally=matched]")).to_have_text("2")
    expect(summary.locator("[data-tally=unmatched]")).to_have_text("1")
    for archive_id, number in zip(("ARK0000000000001", "ARK0000000000002"), numbers, strict=True):
        row = page.locator(f"tr[data-entry={archive_id}]")
        expect(row).to_have_attribute("data-entry-outcome", "matched")
        expect(row.locator("a[data-invoice]")).to_have_text(f"laskulle {number}")
    unmatched = page.locator("tr[data-entry=ARK0000000000003]")
    expect(unmatched).to_have_attribute("data-entry-outcome", "unmatched")
    expect(unmatched).to_contain_text("12,50\u00a0€")
    expect(page.locator("[data-already-imported]")).to_have_count(0)
    assert_accessible(page, "bank files: preview")
    shot(page, "bank-files-preview.png")

    # confirm: the result, then the list with the counts once the payments are taken
    page.get_by_role("button", name="Vahvista tuonti").click()
    result = page.locator(".notice.ok[role=status]")
    expect(result).to_contain_text("Aineisto viitteet.txt tuotu")
    expect(result).to_contain_text("3 maksua, 3 tapahtumaa kirjattu, 0 jo aiemmin tuotua.")
    assert_outcome_in_view(page, result)
    row = page.locator("tr[data-file]")
    expect(row).to_have_count(1)

    def counted() -> bool:
        page.goto(f"{stack.url}/bank-files")
        return page.locator("tr[data-file] [data-count=pending]").inner_text() == "0"

    wait_until(counted, timeout=60, what="the payments taken by the invoicing consumer")
    names = ("entries", "matched", "unmatched", "reversed", "repeated")
    counts = {name: row.locator(f"[data-count={name}]") for name in names}
    expect(counts["entries"]).to_have_text("3")
    expect(row.locator("[data-count=amount]")).to_have_text("78,50\u00a0€")
    expect(counts["matched"]).to_have_text("2")
    expect(counts["unmatched"]).to_have_text("1")
    expect(counts["reversed"]).to_have_text("0")
    expect(counts["repeated"]).to_have_text("0")
    assert_accessible(page, "bank files: the list")
    assert not table_too_wide(page), table_too_wide(page)
    shot(page, "bank-files-list.png")
    # a narrow window: the page does not scroll sideways (the table scrolls in its own box)
    page.set_viewport_size({"width": 600, "height": 900})
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.set_viewport_size({"width": 1280, "height": 900})

    # the file's own page: its entries with their status now
    row.get_by_role("link", name="viitteet.txt").click()
    expect(page.locator("h1[data-file-name]")).to_have_text("viitteet.txt")
    expect(page.locator("tr[data-entry]")).to_have_count(3)
    assert_accessible(page, "bank files: one file")

    # the same file again: a warning, nothing to confirm
    page.goto(f"{stack.url}/bank-files")
    upload(page, good)
    expect(page.locator("[data-already-imported]")).to_contain_text("Tämä aineisto on jo tuotu.")
    expect(page.get_by_role("button", name="Vahvista tuonti")).to_have_count(0)

    # a malformed file: the sum record says 4 payments; refused with its line, nothing imported
    records = good.read_bytes().split(b"\r\n")
    records[-2] = b"9000004" + records[-2][7:]
    bad = tmp_path / "rikki.txt"
    bad.write_bytes(b"\r\n".join(records))
    page.goto(f"{stack.url}/bank-files")
    upload(page, bad)
    refusal = page.locator("[data-refusal]")
    expect(refusal).to_contain_text("Aineistoa rikki.txt ei tuotu: se on virheellinen. Mitään ei kirjattu.")
    expect(refusal.locator("[data-refusal-where]")).to_have_text("Kohta aineistossa: rivi 5")
    assert_outcome_in_view(page, refusal)
    expect(page.locator("tr[data-file]")).to_have_count(1)
    assert_accessible(page, "bank files: a refused file")
    shot(page, "bank-files-refused.png")

    # camt.054 too: the shipped sample (a payment to a reference nobody has, and a reversal)
    page.goto(f"{stack.url}/bank-files")
    upload(page, CAMT054_SAMPLE)
    expect(page.locator("[data-preview-summary] [data-format]")).to_have_text("camt.054")
    expect(page.locator("[data-preview-summary] [data-file-id]")).to_have_text("CAMT054V08-20261205-7")
    expect(page.locator("tr[data-entry='261205EFGH000002']")).to_contain_text("Peruutus")
    page.get_by_role("button", name="Vahvista tuonti").click()
    expect(page.locator(".notice.ok[role=status]")).to_contain_text("Aineisto camt054_001_08_sample.xml tuotu")
    expect(page.locator("tr[data-file]")).to_have_count(2)

    # in English
    page.click("a[data-lang=en]")
    upload_en = page.get_by_label("Payment file")
    upload_en.set_input_files(str(bad))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("[data-refusal-where]")).to_have_text("Where in the file: line 5")
    expect(page.locator("th").filter(has_text="Unmatched")).to_have_count(1)


def table_too_wide(page: Page) -> list[str]:
    """The imported files' table wider than its card's content box (as tests/browser/widths.py)."""
    found: list[str] = page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-imported-files] table')).flatMap(t => {
               const card = t.closest('.card'), s = getComputedStyle(card);
               const room = card.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
               const width = Math.max(t.getBoundingClientRect().width, t.scrollWidth);
               return width > room + 0.5 ? [`${Math.round(width)} > ${Math.round(room)}`] : [];
             })"""
    )
    return found
