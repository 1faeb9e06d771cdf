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

import json
import re
import time
from typing import Any

import asyncpg
import pytest
from playwright.sync_api import Page, expect

from shared.events.topics import CUSTOMER_UPSERTS
from tests.browser.a11y import assert_accessible, assert_outcome_in_view, tab_presses_to
from tests.browser.conftest import DEMO_USER, Stack, shot
from tests.support import pdf
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.documents import PERSON
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
        htmx_settled(page)
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
    # the customers service's audit trail names the clerk (the console signed an assertion for her)
    expect(page.locator("table.history tbody tr").first.locator("[data-actor]")).to_have_text(DEMO_USER)
    page.get_by_role("link", name=labels["back"]).click()


def htmx_settled(page: Page) -> None:
    """No htmx request in flight (htmx marks the element that sent one ``.htmx-request``
    until its answer is swapped in): a late answer would replace the list after the test
    went on (it once unticked "select all" between two assertions)."""
    page.wait_for_function("() => document.querySelector('.htmx-request') === null")


def wait_until(page: Page, refresh: Any, condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(page.locator("main").inner_text())
        time.sleep(0.5)
        refresh()
        htmx_settled(page)


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
    # (a web-first assertion: an element swapped out by a late htmx answer reads as no colour)
    expect(notice).to_have_css("color", "rgb(176, 0, 32)")  # red
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


# --- a list longer than a page (issue 16) ---------------------------------------------

MANY = 2456
BAD = {f"C-{i:05d}": ("address-missing" if n % 3 else "email-missing") for n, i in enumerate(range(7, 7 + 75 * 32, 32))}
"""75 customers with bad billing data, spread over the whole list (the last is C-02375)."""
REFUSED_LINE = ("HS-1KK", "Helsingin Sanomat 1 kk", "1", "30.00", "24", ("2026-11-01", "2026-11-30"))
"""24 % ended on 31.8.2024: refused at intake (vat-rate-invalid)."""


def seed_many(stack: Stack) -> None:
    """2,456 subscription requests and their customers' billing data, written straight
    into the invoicing database (intake is tested elsewhere; this is about the list)."""
    url = stack.processes["invoicing"].env["INVOICING_DATABASE_URL"].replace("+asyncpg", "", 1)
    customers = [f"C-{i:05d}" for i in range(MANY)]
    line = json.dumps(billing_request("x", "x")["lines"])
    # a whole billing snapshot: a run builds each invoice as its event before numbering it,
    # and a customer whose data cannot make one is left out (an empty snapshot would be)
    person = json.dumps(PERSON.model_dump(mode="json"))

    def errors(c: str) -> str:
        code = BAD.get(c)
        return json.dumps([{"code": code, "field": "x", "message_fi": f"Vika {code}.", "message_en": f"Bad {code}."}])

    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.executemany(
                "INSERT INTO billing_profiles (customer_number, version, valid, errors, snapshot, consumer)"
                " VALUES ($1, 1, $2, $3::jsonb, $4::jsonb, true)",
                [(c, c not in BAD, errors(c) if c in BAD else "[]", person) for c in customers],
            )
            await conn.executemany(
                "INSERT INTO billing_requests (request_id, kind, customer_number, order_id, invoice_date,"
                " payment_terms_days, lines, line_count, net, content_hash, status, source) VALUES"
                " ($1, 'subscription', $2, $1, DATE '2026-11-23', 14, $3::jsonb, 1, 30, $1, 'open', 'test')",
                [(f"R-{c}", c, line) for c in customers],
            )
        finally:
            await conn.close()

    stack.run(go())
    stack.publish(lambda inbound: inbound.requests(billing_request("R-REFUSED", "C-00001", lines=(REFUSED_LINE,))))


def refetch(page: Page) -> None:
    """*Hae laskutuspyynnöt*, and wait until the new list is in place."""
    with page.expect_response(lambda r: "/billing/requests" in r.url):
        page.get_by_role("button", name="Hae laskutuspyynnöt").click()
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def test_a_long_list_problems_first_reasons_lead_to_their_rows_and_paging(page: Page, stack: Stack) -> None:
    seed_many(stack)
    page.get_by_role("link", name="Laskutus", exact=True).click()

    # step 8: fetch until the refused request has come through Kafka
    deadline = time.monotonic() + 60
    while True:
        refetch(page)
        if page.locator("tr[data-state=refused]").count() == 1:
            break
        assert time.monotonic() < deadline, page.locator("#requests").inner_text()
        time.sleep(0.5)
    rows = page.locator("tr[data-request]")
    expect(rows).to_have_count(500)
    expect(page.locator("[data-pager=top] [data-page-info]")).to_have_text("Rivit 1–500 / 2457 (sivu 1 / 5)")
    # step 9: every row to fix is on the first page, first, and found by searching 'virhe'
    states = page.locator("tr[data-request]").evaluate_all("rs => rs.map(r => r.dataset.state)")
    assert states[:76] == ["refused"] + ["error"] * 75 and set(states[76:]) == {"ready"}
    virhe = page.locator("tr[data-request] [data-label]").filter(has_text="virhe")
    expect(virhe).to_have_count(76)
    errors = page.locator("tr[data-state=error] a[data-customer]").all_inner_texts()
    assert errors == sorted(BAD)  # every erroneous customer can be opened from its row
    refused = page.locator("tr[data-state=refused]")
    expect(refused.locator("[data-label]")).to_have_text("virhe: hylätty vastaanotossa")
    expect(refused).to_contain_text("ALV-kanta ei ole voimassa palvelupäivänä")
    expect(refused.locator("[data-action]")).to_contain_text("lähetä hylätty viesti uudelleen")
    notice = page.locator("[data-notice]")
    expect(notice.locator("[data-count=refused]")).to_have_text("Vastaanotossa hylättyjä laskutuspyyntöjä: 1")
    expect(notice.locator("[data-count=errors]")).to_have_text("Virheellisiä laskutuspyyntöjä: 75")

    # each reason in the notice shows exactly its rows
    for code in ("address-missing", "email-missing"):
        notice.locator(f"li[data-reason='{code}'] a").click()
        expect(page).to_have_url(re.compile(rf"\?kind=subscription&reason={code}&fetch=1$"))
        want = sorted(c for c, v in BAD.items() if v == code)
        expect(page.locator("tr[data-request]")).to_have_count(len(want))
        assert page.locator("a[data-customer]").all_inner_texts() == want
        expect(page.locator("[data-filter]")).to_contain_text(f"syy {code} ({len(want)} riviä)")
        page.locator("[data-show-all]").click()
        expect(page.locator("[data-filter]")).to_have_count(0)
    notice = page.locator("[data-notice]")
    notice.locator("li[data-reason='vat-rate-invalid'] a").click()
    expect(page.locator("tr[data-request]")).to_have_count(1)
    expect(page.locator("tr[data-request]")).to_have_attribute("data-request", "R-REFUSED")
    page.locator("[data-show-all]").click()
    expect(page.locator("tr[data-request]")).to_have_count(500)

    # paging: the rest, 500 at a time, to the last row
    seen = set(page.locator("tr[data-request]").evaluate_all("rs => rs.map(r => r.dataset.request)"))
    for n in range(2, 6):
        page.locator("[data-pager=top] [data-page-link=next]").click()
        first, last = (n - 1) * 500 + 1, min(n * 500, MANY + 1)
        expect(page.locator("[data-pager=top] [data-page-info]")).to_have_text(
            f"Rivit {first}–{last} / 2457 (sivu {n} / 5)"
        )
        ids = page.locator("tr[data-request]").evaluate_all("rs => rs.map(r => r.dataset.request)")
        assert len(ids) == last - first + 1 and not seen & set(ids)
        seen.update(ids)
    assert len(seen) == MANY + 1
    expect(page.locator("[data-pager=top] [data-page-link=next]")).to_have_count(0)
    page.locator("[data-pager=bottom] [data-page-link=first]").click()
    expect(page.locator("tr[data-request]").first).to_have_attribute("data-state", "refused")

    # the refused row offers its replay: the VAT table is still without the rate, so the
    # request is refused again, as a new dead letter, and is listed once
    before = page.locator("tr[data-state=refused]").get_attribute("data-dead-letter")
    page.locator("tr[data-state=refused] [data-replay]").click()
    expect(page.locator(".notice.ok[role=status]")).to_contain_text(f"Viesti {before} lähetettiin uudelleen")
    deadline = time.monotonic() + 60
    while page.locator("tr[data-state=refused]").get_attribute("data-dead-letter") == before:
        assert time.monotonic() < deadline, "the replayed request did not come back"
        time.sleep(0.5)
        refetch(page)
    expect(page.locator("tr[data-state=refused]")).to_have_count(1)

    # 'Valitse kaikki' still means every ready request of the kind, on every page
    page.get_by_role("button", name="Valitse kaikki").click()
    page.get_by_role("checkbox", name="Esikatselu").check()
    with page.expect_request(lambda r: r.url.endswith("/billing/runs") and r.method == "POST") as sent:
        page.get_by_role("button", name="Suorita laskutusajo").click()
    assert "select_all=1" in (sent.value.post_data or "")
    summary = page.locator("[data-summary]")
    expect(summary).to_have_attribute("data-mode", "preview", timeout=180_000)
    expect(summary.locator("[data-summary-requests]")).to_have_text(str(MANY - len(BAD)))
