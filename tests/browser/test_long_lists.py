"""The result of a run is where the clerk looks, however long the list above which it
used to appear: 300 ready billing requests (the issue's clerk had 500 rows between the
button and the summary, and needed 994 Tab presses to reach the PDF).

Real invoicing service (an OS process) on the real Kafka and PostgreSQL; the requests
and the customers' billing profiles come in on the inbound topics."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.browser.a11y import assert_accessible, assert_outcome_in_view, tab_presses_to
from tests.browser.conftest import Stack
from tests.support import sales

pytestmark = pytest.mark.integration

COUNT = 300


@pytest.fixture
def stack_services() -> tuple[str, ...]:
    return ("invoicing",)


def test_the_run_summary_is_above_300_rows_focused_and_its_pdf_one_tab_away(page: Page, stack: Stack) -> None:
    customers = [f"C-{n:03d}" for n in range(1, COUNT + 1)]
    stack.publish(lambda inbound: inbound.profiles(*(sales.profile(c, channel="email") for c in customers)))
    stack.publish(lambda inbound: inbound.requests(*(sales.request(f"R-{c}", c) for c in customers)))

    page.get_by_role("link", name="Laskutus", exact=True).click()
    deadline = time.monotonic() + 90
    while True:
        page.get_by_role("button", name="Hae laskutuspyynnöt").click()
        page.wait_for_selector("[data-counts], [data-empty]")
        if page.locator("tr[data-state=ready]").count() == COUNT:
            break
        assert time.monotonic() < deadline, page.locator("[data-counts], [data-empty]").first.inner_text()
        time.sleep(1)

    page.get_by_role("button", name="Valitse kaikki").click()
    page.get_by_role("checkbox", name="Esikatselu").uncheck()
    page.get_by_role("button", name="Suorita laskutusajo").click()
    summary = page.locator("[data-summary]")
    expect(summary).to_have_attribute("data-mode", "confirm", timeout=120_000)
    expect(summary.locator("[data-summary-invoices]")).to_have_text(str(COUNT))
    # on the screen and focused, above the 300 rows (not 14,000 px below them)
    assert_outcome_in_view(page, summary)
    first_row = page.locator("tr[data-request]").first.bounding_box()
    box = summary.bounding_box()
    assert first_row is not None and box is not None and box["y"] < first_row["y"]
    # the keyboard goes on from the summary: its PDF is the next stop
    assert tab_presses_to(page, summary.get_by_role("link", name="Lataa PDF"), most=5) == 1
    assert_accessible(page, "billing: the summary above a long list")
