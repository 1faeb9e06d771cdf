"""Seed step 17 (notice invoices) with a cancelled order, and drafts: a run in draft
mode, a line edited, a draft deleted, one confirmed, and a corrective invoice of it,
all clicked in Chromium against the real customers and invoicing services.

Data: customers C-1 (e-mail) and C-2 (print), both valid; notice requests N-1 (C-1),
N-2 (C-2) and N-3 (C-1, order O-N-3, then cancelled). N-1 and N-3: 2 x 12.10 at VAT
25.5 %: net 24.20, VAT 24.20 x 0.255 = 6.171 -> 6.17, gross 30.37. N-2 has a second
line 1 x 6.05: net 30.25, VAT 30.25 x 0.255 = 7.71375 -> 7.71, gross 37.96.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Dialog, Page, expect

from shared.events.topics import CUSTOMER_UPSERTS
from tests.browser.a11y import assert_accessible, assert_outcome_in_view
from tests.browser.conftest import Stack, shot
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.kafka import Publisher, ce_headers
from tests.support.sales import NOTICE_LINE
from tests.support.sales import request as billing_request

pytestmark = pytest.mark.integration


SMALL_LINE = ("ILM-2", "Ilmoitus 1x50 mm", "1", "6.05", "25.5", None)


@pytest.fixture
def stack_services() -> tuple[str, ...]:
    return ("customers", "invoicing")


def seed(stack: Stack) -> None:
    async def customers() -> None:
        async with Publisher(stack.sandbox.bootstrap) as pub:
            for number, channel in (("C-1", "email"), ("C-2", "print")):
                body = upsert(number, name=f"Ilmoittaja {number}", delivery_channel=channel)
                await pub.send(
                    stack.sandbox.topic(CUSTOMER_UPSERTS.name), body, key=number, headers=ce_headers(UPSERT_TYPE)
                )

    async def requests(inbound: object) -> None:
        from tests.support.sales import Inbound

        assert isinstance(inbound, Inbound)
        await inbound.requests(
            billing_request("N-1", "C-1", kind="notice", lines=[NOTICE_LINE]),
            billing_request("N-2", "C-2", kind="notice", lines=[NOTICE_LINE, SMALL_LINE]),
            billing_request("N-3", "C-1", kind="notice", lines=[NOTICE_LINE], order_id="O-N-3"),
        )
        await inbound.cancel("O-N-3", "C-1")

    stack.run(customers())
    stack.publish(requests)


def test_notice_invoices_cancelled_order_drafts_and_corrective(page: Page, stack: Stack) -> None:
    seed(stack)
    page.get_by_role("link", name="Laskutus", exact=True).click()
    page.get_by_role("link", name="Ilmoituslaskut").click()
    # fetch until both ready rows and the cancellation have arrived through Kafka
    deadline = time.monotonic() + 60
    while True:
        page.get_by_role("button", name="Hae laskutuspyynnöt").click()
        # this fetch's answer, not the last one's list still on the page (htmx marks the
        # sender .htmx-request until the answer is swapped in); an empty answer is no list
        page.wait_for_function("() => document.querySelector('.htmx-request') === null")
        page.wait_for_selector("[data-counts], [data-empty], [data-service-error]")
        if page.locator("tr[data-state=ready]").count() == 2 and page.locator("[data-count=cancelled_orders]").count():
            break
        assert time.monotonic() < deadline, page.locator("#requests").inner_text()
        time.sleep(0.5)
    notice = page.locator("[data-notice]")
    expect(notice.locator("[data-count=cancelled_orders]")).to_have_text("Peruttuja tilauksia: 1")
    expect(notice.locator("[data-count=cancelled_requests]")).to_have_text("Peruttujen tilausten laskutuspyyntöjä: 1")
    # a cancelled order's request is listed first, marked, and cannot be selected for a run
    cancelled = page.locator("tr[data-request='N-3']")
    expect(cancelled).to_have_attribute("data-state", "cancelled")
    expect(cancelled.locator("[data-label]")).to_have_text("peruttu")
    expect(cancelled.locator("input[name=request_ids]")).to_have_count(0)
    expect(page.locator("tr[data-request]").first).to_have_attribute("data-request", "N-3")

    # select some (both rows by hand), as drafts
    page.locator("input[name=request_ids][value='N-1']").check()
    page.locator("input[name=request_ids][value='N-2']").check()
    page.get_by_role("checkbox", name="Esikatselu").uncheck()  # on until the clerk takes it off
    page.get_by_label("Luonnoksiksi").check()
    page.get_by_role("button", name="Suorita laskutusajo").click()
    summary = page.locator("[data-summary]")
    expect(summary).to_have_attribute("data-mode", "draft", timeout=60_000)
    expect(summary.locator("[data-summary-invoices]")).to_have_text("2")
    # 30.37 + 37.96 = 68.33
    expect(summary.locator("[data-summary-gross]")).to_have_text("68,33\u00a0€")

    # the drafts: open C-2's, change the quantity 2 -> 1
    summary.get_by_role("link", name="Luonnokset").click()
    expect(page.locator("tr[data-draft]")).to_have_count(2)
    page.locator("tr[data-draft]", has_text="C-2").get_by_role("link").click()
    draft_url = page.url
    expect(page.locator("[data-gross]")).to_have_text("37,96\u00a0€")
    assert_accessible(page, "billing: one draft")
    page.locator("tr[data-line='1'] input[name=quantity]").fill("1")
    page.locator("tr[data-line='1'] [data-save-line]").click()
    expect(page.locator(".notice.ok[role=status]")).to_have_text("Rivi 1 tallennettu.")
    # 1 x 12.10 + 6.05 = 18.15; VAT 18.15 x 0.255 = 4.62825 -> 4.63; gross 22.78
    expect(page.locator("[data-net]")).to_have_text("18,15\u00a0€")
    expect(page.locator("[data-vat]")).to_have_text("4,63\u00a0€")
    expect(page.locator("[data-gross]")).to_have_text("22,78\u00a0€")
    shot(page, "billing-draft.png")
    page.get_by_role("button", name="Vahvista lasku").click()
    confirmed = page.locator(".notice.ok[role=status]")
    expect(confirmed).to_have_text(re.compile(r"^Lasku vahvistettu, numero \d+\.$"))
    assert_outcome_in_view(page, confirmed)  # the confirmation is where the keyboard is
    assert_accessible(page, "billing: the drafts after a confirmation")
    number = re.findall(r"\d+", confirmed.inner_text())[0]

    # delete the other draft (C-1's): its request is ready again. The button asks first
    # (console.js, [data-ask]: no inline handler under the CSP); "no" sends nothing
    asked: list[str] = []

    def answer(dialog: Dialog, yes: bool) -> None:
        asked.append(dialog.message)
        if yes:
            dialog.accept()
        else:
            dialog.dismiss()

    page.locator("tr[data-draft]", has_text="C-1").get_by_role("link").click()
    draft_of_c1 = page.url
    page.once("dialog", lambda d: answer(d, yes=False))
    page.get_by_role("button", name="Poista luonnos").click()
    assert asked == ["Poistetaanko luonnos?"]
    expect(page).to_have_url(draft_of_c1)
    page.on("dialog", lambda d: answer(d, yes=True))
    page.get_by_role("button", name="Poista luonnos").click()
    assert asked == ["Poistetaanko luonnos?"] * 2
    expect(page.locator(".notice.ok[role=status]")).to_have_text(
        re.compile(r"^Luonnos #\d+ poistettu; 1 laskutuspyyntöä palasi laskutettaviksi\.$")
    )
    page.goto(f"{stack.url}/billing/drafts?kind=notice")
    expect(page.locator("[data-empty]")).to_be_visible()
    # a confirmed invoice cannot be edited: its page shows no forms
    page.goto(draft_url)
    expect(page.locator("[data-save-line]")).to_have_count(0)

    # a corrective invoice of the confirmed one (seed 004): found by number; every line at
    # quantity 0 beside its original quantity, so as it is the draft credits everything
    page.goto(f"{stack.url}/billing/drafts?kind=notice")
    page.get_by_label("Laskun numero").fill(number)
    page.get_by_role("button", name="Hae").click()
    page.get_by_role("button", name="Tee korjauslaskun luonnos").click()
    expect(page.locator(".notice.ok[role=status]")).to_have_text(
        re.compile(r"^Korjauslaskun luonnos tehty laskusta #\d+: kaikki määrät ovat 0\.")
    )
    expect(page.locator("h1")).to_have_text(re.compile(r"^Korjauslasku #\d+ – luonnos$"))
    expect(page.locator("[data-corrective] th")).to_contain_text(["Alkuperäinen määrä", "Uusi määrä"])
    expect(page.locator("[data-original-quantity]")).to_have_text(["1", "1"])
    for line in ("1", "2"):
        expect(page.locator(f"tr[data-line='{line}'] input[name=quantity]")).to_have_value("0")
    # the whole invoice reversed: -18.15, VAT -4.63, gross -22.78
    expect(page.locator("[data-gross]")).to_have_text("-22,78\u00a0€")

    # the small ad needs no correction: removed; -12.10, VAT -3.0855 -> -3.09, gross -15.19
    page.locator("tr[data-line='2'] [data-remove-line]").click()
    expect(page.locator(".notice.ok[role=status]")).to_have_text("Rivi 2 poistettu luonnoksesta.")
    expect(page.locator("tr[data-line]")).to_have_count(1)
    expect(page.locator("[data-gross]")).to_have_text("-15,19\u00a0€")

    # more than the original (1 -> 3) bills the difference: -12.10 + 3 x 12.10 = 24.20,
    # VAT 24.20 x 0.255 = 6.171 -> 6.17, gross 30.37
    page.locator("tr[data-line='1'] input[name=quantity]").fill("3")
    page.locator("tr[data-line='1'] [data-save-line]").click()
    expect(page.locator(".notice.ok[role=status]")).to_have_text("Rivi 1 tallennettu.")
    expect(page.locator("[data-original-quantity]")).to_have_text(["1"])
    expect(page.locator("[data-net]")).to_have_text("24,20\u00a0€")
    expect(page.locator("[data-vat]")).to_have_text("6,17\u00a0€")
    expect(page.locator("[data-gross]")).to_have_text("30,37\u00a0€")
    shot(page, "billing-corrective.png")
    page.get_by_role("button", name="Vahvista lasku").click()
    expect(page.locator(".notice.ok[role=status]")).to_have_text(re.compile(r"^Lasku vahvistettu, numero 3\d+\.$"))
