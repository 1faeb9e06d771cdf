"""The console's Content-Security-Policy breaks nothing, and the customer card's back link
never leaves the console: a walk over the main pages against the real services (OS
processes on the real Kafka and PostgreSQL), failing on anything the policy refused (the
``page`` fixture's watch: every ``securitypolicyviolation`` and every "Refused to…").

The card's ``back`` is the hole of issue 19: ``/customers/C-1?back=/%09/evil.example``
made "Takaisin laskutuspyyntöihin" point to ``evil.example`` (the browser drops the TAB).
"""

from __future__ import annotations

import time
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Page, expect

from shared.events.topics import CUSTOMER_UPSERTS
from tests.browser.conftest import Stack
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.kafka import Publisher, ce_headers

pytestmark = pytest.mark.integration

CUSTOMER = "C-7001"
OFF_SITE = [
    "/%09/evil.example",
    "/%0A/evil.example",
    "/%0D%0A/evil.example",
    "//evil.example",
    "https://evil.example",
    "/%5Cevil.example",  # the query's /\evil.example
]


def _seed_customer(stack: Stack) -> None:
    async def go() -> None:
        async with Publisher(stack.sandbox.bootstrap) as pub:
            topic = stack.sandbox.topic(CUSTOMER_UPSERTS.name)
            await pub.send(topic, upsert(CUSTOMER), key=CUSTOMER, headers=ce_headers(UPSERT_TYPE))

    stack.run(go())


def _open_card(page: Page, url: str, timeout: float = 60.0) -> None:
    """Open the card (reloading until the customers service has consumed the upsert)."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        if page.locator("[data-card-form]").count():
            return
        if time.monotonic() > deadline:
            raise AssertionError(page.locator("main").inner_text())
        time.sleep(0.5)


def _foreign_links(page: Page, origin: str) -> list[str]:
    """Every link and form target of the page as the browser resolved it, off ``origin``."""
    urls: list[str] = page.evaluate(
        """() => [...document.querySelectorAll("a[href]")].map(a => a.href)
                 .concat([...document.querySelectorAll("form[action]")].map(f => f.action))"""
    )
    assert urls
    return [u for u in urls if f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" != origin]


def test_the_cards_back_link_never_points_off_site(page: Page, stack: Stack) -> None:
    _seed_customer(stack)
    origin = stack.url.rstrip("/")
    back = "/billing?kind=subscription&fetch=1"
    _open_card(page, f"{stack.url}/customers/{CUSTOMER}?back={quote(back, safe='')}")
    link = page.locator("a[data-back]")
    expect(link).to_have_text("Takaisin laskutuspyyntöihin")
    assert link.evaluate("a => a.href") == origin + back  # a local way back is kept
    for target in OFF_SITE:
        page.goto(f"{stack.url}/customers/{CUSTOMER}?back={target}")
        expect(page.locator("[data-card-form]")).to_be_visible()
        expect(page.locator("a[data-back]")).to_have_count(0)
        assert _foreign_links(page, origin) == [], target
        # saving the card keeps the clerk on the console too (the form's ?back= is empty)
        action = page.locator("form[data-card-form]").evaluate("f => f.action")
        assert action == f"{origin}/customers/{CUSTOMER}", target


def test_the_main_pages_work_under_the_content_security_policy(page: Page, stack: Stack) -> None:
    origin = stack.url.rstrip("/")
    # (the sign-in page was loaded by the fixture, under the same watch)
    page.goto(f"{stack.url}/billing")
    expect(page.locator("a.tab.active")).to_have_text("Laskutus")
    page.locator("[hx-get^='/billing/requests']").first.click()  # htmx: a fragment
    expect(page.locator("#requests [data-empty], #requests [data-counts]").first).to_be_visible()
    assert page.evaluate("() => document.querySelectorAll('head style').length") == 0  # htmx added none
    page.goto(f"{stack.url}/billing/drafts")
    expect(page.locator("h1")).to_be_visible()
    page.goto(f"{stack.url}/invoices")
    expect(page.locator("a.tab.active")).to_have_text("Laskut")
    page.goto(f"{stack.url}/sending")
    expect(page.locator("a.tab.active")).to_have_text("Laskujen lähetys")
    page.goto(f"{stack.url}/sending/email")
    expect(page.locator("#waiting")).to_be_visible()
    page.goto(f"{stack.url}/dead-letters")
    expect(page.locator("a.tab.active")).to_have_text("Virheelliset viestit")
    # the language switch comes back to the page, in English
    page.locator("a[data-lang=en]").click()
    expect(page).to_have_url(f"{origin}/dead-letters")
    expect(page.locator("a.tab.active")).to_have_text("Dead letters")
    # CSS from console.css, not from an inline <style>: the Sending tab's cards still laid out
    page.goto(f"{stack.url}/sending")
    assert page.locator(".channels").evaluate("e => getComputedStyle(e).display") == "flex"
