"""The *Laskutus / Billing* tab, seed steps 7-16, clicked through in Chromium against the
real customers and invoicing services (OS processes) on the real Kafka and PostgreSQL.

The data, sent on the inbound topics as the CRM and the order system send it:

- four customers: C-1 (e-mail, valid), C-2 (print, valid), C-3 (e-mail channel, no
  e-mail address), C-4 (e-mail channel, ``matti@``: invalid);
- one subscription request each, 1 x 30.00 at VAT 10 %: net 30.00, VAT 3.00, gross 33.00.

So the list shows 2 erroneous rows (C-3, C-4) and the notice counts 2 errors; after the
two cards are fixed, the notice is gone and a run makes 4 invoices: net 4 x 30.00 =
120.00, VAT 4 x 3.00 = 12.00, gross 132.00; 3 by e-mail (C-1, C-3, C-4), 1 print (C-2).

In every state (the list, the customer card, the progress, the summary) axe-core finds
nothing serious or critical; the summary of each run is focused at the top of the screen
and its PDF link is a few Tab presses away.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from shared.events.topics import CUSTOMER_UPSERTS
from tests.browser.a11y import assert_accessible, assert_outcome_in_view, tab_presses_to
from tests.browser.conftest import DEMO_USER, Stack, shot
from tests.support import pdf
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.kafka import Publisher, ce_headers
from tests.support.sales import request as billing_request

pytestmark = pytest.mark.integration


@pytest.fixture
def stack_services() -> tuple[str, ...]:
    return ("customers", "invoicing")


CUSTOMERS = {
    "C-1": upsert("C-1", name="Asiakas Yksi Oy"),
    "C-2": upsert("C-2", name="Asiakas Kaksi Oy", delivery_channel="print"),
    "C-3": upsert("C-3", name="Asiakas Kolme Oy", email=None),
    "C-4": upsert("C-4", name="Asiakas Neljä Oy", email="matti@"),
}

LABELS = {
    "fi": {
        "fetch": "Hae laskutuspyynnöt",
        "error_label": "virhe",
        "notice_errors": "Virheellisiä laskutuspyyntöjä: 2",
        "reason_missing": "1 × Sähköpostiosoite puuttuu.",
        "reason_invalid": "1 × Sähköpostiosoite on virheellinen.",
        "save": "Tallenna",
        "saved": "Asiakaskortti tallennettu. Laskutustiedot ovat kunnossa.",
        "saved_with_errors": "Asiakaskortti tallennettu, mutta laskutustiedoissa on yhä virheitä.",
        "card_email_invalid": "Sähköpostiosoite on virheellinen.",
        "too_long": "Teksti on liian pitkä.",
        "back": "Takaisin laskutuspyyntöihin",
        "select_all": "Valitse kaikki",
        "preview": "Esikatselu",
        "run": "Suorita laskutusajo",
        "pdf": "Lataa PDF",
        "net": "120,00 €",
        "vat": "12,00 €",
        "gross": "132,00 €",
        "pdf_amounts": ("120,00", "12,00", "132,00", "33,00"),
        "pdf_title": "Laskutusajon kooste",
        "unit_price": "30,00\u00a0€",
        "tab": "Laskutus",
    },
    "en": {
        "fetch": "Fetch billing requests",
        "error_label": "error",
        "notice_errors": "Erroneous billing requests: 2",
        "reason_missing": "1 × E-mail address is missing.",
        "reason_invalid": "1 × E-mail address is invalid.",
        "save": "Save",
        "saved": "Customer card saved. The billing data is in order.",
        "saved_with_errors": "Customer card saved, but the billing data still has errors.",
        "card_email_invalid": "E-mail address is invalid.",
        "too_long": "String should have at most 16 characters",
        "back": "Back to the billing requests",
        "select_all": "Select all",
        "preview": "Preview",
        "run": "Run billing",
        "pdf": "Download PDF",
        "net": "€120.00",
        "vat": "€12.00",
        "gross": "€132.00",
        "pdf_amounts": ("120.00", "12.00", "132.00", "33.00"),
        "pdf_title": "Billing run summary",
        "unit_price": "€30.00",
        "tab": "Billing",
    },
}


def seed(stack: Stack) -> None:
    async def go() -> None:
        async with Publisher(stack.sandbox.bootstrap) as pub:
            for number, body in CUSTOMERS.items():
                await pub.send(
                    stack.sandbox.topic(CUSTOMER_UPSERTS.name), body, key=number, headers=ce_headers(UPSERT_TYPE)
                )

    stack.run(go())
    stack.publish(lambda inbound: inbound.requests(*(billing_request(f"R-{n[2:]}", n) for n in CUSTOMERS)))


def fetched(page: Page, labels: dict[str, str], timeout: float = 60.0) -> None:
    """Click *Hae laskutuspyynnöt* until all four requests and all four customers'
    profiles have arrived (both come through Kafka; until a profile arrives its request
    is in error for that reason): 2 ready rows and 2 in error for the e-mail reasons."""
    want = sorted([labels["reason_missing"], labels["reason_invalid"]])
    deadline = time.monotonic() + timeout
    while True:
        page.get_by_role("button", name=labels["fetch"]).click()
        page.wait_for_selector("[data-counts], [data-empty], [data-service-error]")
        # (all three: the service reads the list and the notice's counts in separate
        # statements, so one fetch can show a request in the counts but not yet in the list)
        if (
            page.locator("tr[data-request]").count() == 4
            and page.locator("tr[data-state=ready]").count() == 2
            and sorted(page.locator("[data-notice] .reason").all_inner_texts()) == want
        ):
            return
        if time.monotonic() > deadline:
            raise AssertionError(page.locator("#requests").inner_text())
        time.sleep(0.5)


def fix_email(page: Page, labels: dict[str, str], customer: str, email: str) -> None:
    page.click(f"a[data-customer='{customer}']")
    expect(page.locator("[data-card-errors]")).to_be_visible()
    page.fill("input[name=email]", email)
    page.get_by_role("button", name=labels["save"]).click()
    expect(page.locator(".notice.ok[role=status]")).to_have_text(labels["saved"])
    expect(page.locator("[data-card-valid]")).to_be_visible()
    assert_accessible(page, "the customer card")
    # the customers service's audit trail names the clerk (the console sent X-Actor)
    expect(page.locator("table.history tbody tr").first.locator("[data-actor]")).to_have_text(DEMO_USER)
    page.get_by_role("link", name=labels["back"]).click()


def wait_until(page: Page, refresh: Any, condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(page.locator("main").inner_text())
        time.sleep(0.5)
        refresh()


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_billing_tab_walk(page: Page, stack: Stack, lang: str) -> None:
    labels = LABELS[lang]
    seed(stack)
    if lang == "en":
        page.click("a[data-lang=en]")
    # step 7: the Billing tab
    page.get_by_role("link", name=labels["tab"], exact=True).click()
    expect(page).to_have_url(re.compile(r"/billing"))
    # step 8: fetch the billing requests (all four rows: two ready, two erroneous)
    fetched(page, labels)
    expect(page.locator("tr[data-request]")).to_have_count(4)
    # step 9: the red notice with its counts, the erroneous rows say "virhe" and why
    notice = page.locator("[data-notice]")
    expect(notice).to_be_visible()
    expect(notice.locator("[data-count=errors]")).to_have_text(labels["notice_errors"])
    reasons = sorted(notice.locator(".reason").all_inner_texts())
    assert reasons == sorted([labels["reason_missing"], labels["reason_invalid"]])
    assert page.locator("[data-notice]").evaluate("e => getComputedStyle(e).color") == "rgb(176, 0, 32)"  # red
    for customer in ("C-3", "C-4"):
        row = page.locator(f"tr[data-request='R-{customer[2:]}']")
        expect(row.locator("[data-label]")).to_have_text(labels["error_label"])
    assert_accessible(page, f"billing ({lang}): the list with errors")
    if lang == "fi":
        shot(page, "billing-errors.png")

    # step 10: open C-3's card from the customer number, add the e-mail, save
    fix_email(page, labels, "C-3", "kolme@example.fi")
    # C-4: first a still invalid address: saved, but the card still says why it is in error
    page.click("a[data-customer='C-4']")
    page.fill("input[name=email]", "ei-osoite")
    page.get_by_role("button", name=labels["save"]).click()
    expect(page.locator(".notice.ok[role=status]")).to_have_text(labels["saved_with_errors"])
    expect(page.locator("[data-card-error=email]")).to_have_text(labels["card_email_invalid"])
    # a postal code the service refuses (422): the message beside the field, nothing saved
    page.fill("input[name=postal_code]", "0" * 17)  # longer than the 16 a postal code may have
    page.get_by_role("button", name=labels["save"]).click()
    expect(page.locator("[data-field-error=postal_code]")).to_have_text(labels["too_long"])
    expect(page.locator("input[name=postal_code]")).to_have_attribute("aria-invalid", "true")
    if lang == "fi":
        shot(page, "customer-card-error.png")
    page.fill("input[name=postal_code]", "00100")
    page.fill("input[name=email]", "nelja@example.fi")
    page.get_by_role("button", name=labels["save"]).click()
    expect(page.locator("[data-card-valid]")).to_be_visible()
    if lang == "fi":
        shot(page, "customer-card.png")
    page.get_by_role("link", name=labels["back"]).click()

    # step 12: the corrected profiles reach invoicing through Kafka; then the rows are
    # ready and the notice is gone
    wait_until(
        page,
        lambda: page.get_by_role("button", name=labels["fetch"]).click(),
        lambda: page.locator("tr[data-state=ready]").count() == 4,
    )
    expect(page.locator("[data-notice]")).to_have_count(0)
    expect(page.locator("tr[data-state=error]")).to_have_count(0)

    # steps 13-14: select all (a button, as on every tab), preview on (it starts on, as in
    # Sending), run: nothing created, the would-be invoices shown
    page.get_by_role("button", name=labels["select_all"]).click()
    expect(page.locator("input[name=request_ids]:checked")).to_have_count(4)
    expect(page.locator("[data-selected-count]")).to_have_text("4")
    expect(page.get_by_role("checkbox", name=labels["preview"])).to_be_checked()
    assert_accessible(page, f"billing ({lang}): the list, all selected")
    if lang == "fi":
        shot(page, "billing-ready.png")
    page.get_by_role("button", name=labels["run"]).click()
    summary = page.locator("[data-summary]")
    expect(summary).to_have_attribute("data-mode", "preview", timeout=60_000)
    assert_outcome_in_view(page, summary)
    expect(summary.locator("[data-summary-invoices]")).to_have_text("4")
    expect(summary.locator("[data-summary-gross]")).to_have_text(labels["gross"])
    expect(summary.locator("tr[data-invoice]")).to_have_count(4)
    # a would-be invoice opens to its lines: 1 x 30.00 at 10 %
    summary.locator("details[data-lines='C-2'] summary").click()
    expect(summary.locator("details[data-lines='C-2'] table.lines tr")).to_have_text(
        [re.compile(r"HS-1KK\s*Helsingin Sanomat 1 kk\s*1 × " + re.escape(labels["unit_price"]))]
    )

    # preview off, run for real (step 15): the progress bar, then the summary (step 16)
    page.get_by_role("checkbox", name=labels["preview"]).uncheck()
    page.get_by_role("button", name=labels["run"]).click()
    expect(page.locator(".job .progress")).to_be_visible()
    assert_accessible(page, f"billing ({lang}): the run's progress")
    expect(summary).to_have_attribute("data-mode", "confirm", timeout=60_000)
    # the summary (step 16) at the top of the screen, focused, not below the list; the
    # PDF is the next thing a keyboard reaches (it took 994 Tab presses below 500 rows)
    assert_outcome_in_view(page, summary)
    assert tab_presses_to(page, summary.get_by_role("link", name=labels["pdf"]), most=3) == 1
    assert_accessible(page, f"billing ({lang}): the run's summary")
    expect(summary.locator("[data-summary-invoices]")).to_have_text("4")
    expect(summary.locator("[data-summary-requests]")).to_have_text("4")
    expect(summary.locator("[data-summary-net]")).to_have_text(labels["net"])
    expect(summary.locator("[data-summary-vat]")).to_have_text(labels["vat"])
    expect(summary.locator("[data-summary-gross]")).to_have_text(labels["gross"])
    expect(summary.locator("tr[data-channel=email] td.num")).to_have_text("3")
    expect(summary.locator("tr[data-channel=print] td.num")).to_have_text("1")
    expect(page.locator("[data-job-done]")).to_have_text("4")
    if lang == "fi":
        shot(page, "billing-summary.png")

    # the PDF: downloaded through the console, parseable, the same numbers
    with page.expect_download() as download_info:
        page.get_by_role("link", name=labels["pdf"]).click()
    body = download_info.value.path().read_bytes()
    assert body.startswith(b"%PDF")
    text = pdf.text(body)
    # net 120.00, VAT 12.00, gross 132.00 in all; 33.00 per invoice; in the clerk's language
    for amount in labels["pdf_amounts"]:
        assert amount in text, amount
    assert text.startswith(labels["pdf_title"])
    for customer in CUSTOMERS:
        assert customer in text

    # the list is empty now: everything was invoiced
    page.get_by_role("button", name=labels["fetch"]).click()
    expect(page.locator("[data-empty]")).to_be_visible()
