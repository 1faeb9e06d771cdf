"""OIDC sign-in in a real browser: the console's button, the provider's own sign-in page
(a real local OIDC provider, oidc-provider-mock), and back to the console signed in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import shot
from tests.support.oidc import ANNA, OLLI, Provider, oidc_provider, oidc_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider() as p:
        yield p


def test_a_clerk_signs_in_through_the_provider_and_lands_signed_in(
    provider: Provider, console_only: Callable[..., str], new_page: Callable[[], Page]
) -> None:
    base = console_only(**oidc_settings(provider.issuer))
    page = new_page()
    page.goto(f"{base}/invoices")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Finvoices$"))
    button = page.locator("[data-oidc-sign-in]")
    expect(button).to_have_text("Kirjaudu palvelulla Testi-IdP")
    shot(page, "login-oidc.png")
    button.click()
    # the provider's page, on the provider's host
    expect(page).to_have_url(re.compile(rf"^{re.escape(provider.issuer)}/oauth2/authorize\?"))
    page.locator(f"button[name=sub][value={ANNA.sub}]").click()
    expect(page).to_have_url(f"{base}/invoices")
    expect(page.locator("[data-user]")).to_have_text("anna")
    expect(page.locator("a.tab.active")).to_have_text("Laskut")
    cookie = next(c for c in page.context.cookies() if c["name"] == "console_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"


def test_someone_outside_the_allow_rule_sees_a_refusal_and_is_not_signed_in(
    provider: Provider, console_only: Callable[..., str], new_page: Callable[[], Page]
) -> None:
    base = console_only(**oidc_settings(provider.issuer))
    page = new_page()
    page.goto(f"{base}/login")
    page.click("[data-oidc-sign-in]")
    page.locator(f"button[name=sub][value={OLLI.sub}]").click()
    expect(page.locator("h1")).to_have_text("Kirjautuminen ei onnistunut")
    expect(page.locator("[role=alert]")).to_contain_text("sinulla ei ole oikeutta käyttää")
    page.goto(f"{base}/billing")
    expect(page).to_have_url(re.compile(r"/login\?next="))
