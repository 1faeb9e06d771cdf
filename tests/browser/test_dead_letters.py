"""The *Virheelliset viestit / Dead letters* page: a record the customers service could
not use is listed with its reason, opened, and replayed, the replay recorded under the
signed-in clerk's name; and a service that is down is a message, not a stack trace."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from shared.events.topics import CUSTOMER_UPSERTS
from tests.browser.a11y import assert_accessible, assert_outcome_in_view
from tests.browser.conftest import DEMO_USER, Stack, sign_in
from tests.support.customers import UPSERT_TYPE
from tests.support.kafka import Publisher, ce_headers

pytestmark = pytest.mark.integration


@pytest.fixture
def stack_services() -> tuple[str, ...]:
    return ("customers",)


def test_a_dead_letter_is_listed_with_its_reason_and_replayed_by_the_clerk(page: Page, stack: Stack) -> None:
    async def poison() -> None:
        async with Publisher(stack.sandbox.bootstrap) as pub:
            await pub.send(
                stack.sandbox.topic(CUSTOMER_UPSERTS.name), b"{not json", key="C-9", headers=ce_headers(UPSERT_TYPE)
            )

    stack.run(poison())
    stack.wait_for(lambda: stack.scalar("customers", "SELECT count(*) FROM dead_letters"), timeout=60)
    page.get_by_role("link", name="Virheelliset viestit").click()
    expect(page.locator("p[data-total]")).to_have_text("1 viestiä")
    row = page.locator("tr[data-dead-letter]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(CUSTOMER_UPSERTS.name)
    assert_accessible(page, "dead letters: the list")
    # Valitse kaikki: the same button as on every tab
    page.get_by_role("button", name="Valitse kaikki").click()
    expect(row.locator("input[data-row]")).to_be_checked()
    row.get_by_role("link").click()
    expect(page.locator("[data-reason]")).not_to_be_empty()
    expect(page.locator("pre.value")).to_have_text("{not json")
    assert_accessible(page, "dead letters: one record")
    page.get_by_role("button", name="Lähetä valitut uudelleen").click()
    replayed = page.locator(".notice.ok[role=status]")
    expect(replayed).to_have_text("1 viestiä lähetetty uudelleen, 0 ohitettu.")
    assert_outcome_in_view(page, replayed)
    assert_accessible(page, "dead letters: replayed")
    # the replay is on record under the clerk's name (the console signed an assertion for her)
    page.get_by_role("link", name="Näytä uudelleen lähetetyt").click()
    expect(page.locator("tr[data-dead-letter]").first).to_contain_text(re.compile(rf"1 \({DEMO_USER}\)"))


def test_a_service_that_is_down_is_a_message_in_the_page(
    console_only: Callable[..., str], new_page: Callable[[], Page]
) -> None:
    base = console_only()
    page = new_page()
    sign_in(page, base)
    page.goto(f"{base}/dead-letters?service=invoicing")
    expect(page.locator("[data-service-error]")).to_have_text(
        "Palvelu ei ole käytettävissä: laskutus. Yritä hetken kuluttua uudelleen."
    )
    # the Billing tab's fetch too (an htmx partial)
    page.goto(f"{base}/billing")
    page.get_by_role("button", name="Hae laskutuspyynnöt").click()
    expect(page.locator("#requests [data-service-error]")).to_have_text(
        "Palvelu ei ole käytettävissä: laskutus. Yritä hetken kuluttua uudelleen."
    )
    page.click("a[data-lang=en]")
    page.get_by_role("button", name="Fetch billing requests").click()
    expect(page.locator("#requests [data-service-error]")).to_have_text(
        "Service unavailable: invoicing. Try again in a while."
    )
