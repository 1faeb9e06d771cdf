"""Sign-in, session expiry and CSRF in a real browser (no services needed)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DEMO_PASSWORD, DEMO_USER, shot, sign_in

pytestmark = pytest.mark.integration


def test_a_page_needs_sign_in_then_the_clerk_lands_where_she_was_going(
    console_only: Callable[..., str], new_page: Callable[[], Page]
) -> None:
    base = console_only()
    page = new_page()
    page.goto(f"{base}/billing")
    # not signed in: sent to the sign-in page, which remembers the way back
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fbilling$"))
    expect(page.locator("h1")).to_have_text("Kirjaudu sisään")
    shot(page, "login.png")
    page.fill("input[name=username]", DEMO_USER)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button.primary")
    expect(page).to_have_url(f"{base}/billing")
    expect(page.locator("[data-user]")).to_have_text(DEMO_USER)
    expect(page.locator("a.tab.active")).to_have_text("Laskutus")
    # the cookie is HttpOnly and SameSite=Lax (no Secure: this is plain http)
    cookie = next(c for c in page.context.cookies() if c["name"] == "console_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False
    # signing out ends it: the tab sends us back to sign in
    page.click("text=Kirjaudu ulos")
    page.goto(f"{base}/billing")
    expect(page).to_have_url(re.compile(r"/login"))


def test_after_sign_out_a_kept_cookie_and_its_csrf_token_get_nothing(
    console_only: Callable[..., str], new_page: Callable[[], Page]
) -> None:
    base = console_only()
    page = new_page()
    sign_in(page, base)
    expect(page.locator("[data-user]")).to_have_text(DEMO_USER)
    kept = [c for c in page.context.cookies() if c["name"] == "console_session"]
    token = page.locator("form[action='/logout'] input[name=csrf_token]").get_attribute("value")
    assert kept and token
    page.click("text=Kirjaudu ulos")
    expect(page.locator("h1")).to_have_text("Kirjaudu sisään")
    # an attacker who copied the cookie before sign-out puts it back
    page.context.clear_cookies()
    page.context.add_cookies(kept)  # type: ignore[arg-type]
    page.goto(f"{base}/billing")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fbilling$"))
    page.context.clear_cookies()
    page.context.add_cookies(kept)  # type: ignore[arg-type]
    action = page.request.post(f"{base}/billing/runs", form={"kind": "notice", "csrf_token": token}, max_redirects=0)
    assert action.status == 303
    assert action.headers["location"].startswith("/login?next=")


def test_a_wrong_password_is_refused_with_a_message(
    console_only: Callable[..., str], new_page: Callable[[], Page]
) -> None:
    base = console_only()
    page = new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", DEMO_USER)
    page.fill("input[name=password]", "arvaus")
    page.click("button.primary")
    expect(page.locator("[data-login-error]")).to_have_text("Väärä käyttäjätunnus tai salasana.")
    shot(page, "login-wrong-password.png")
    page.goto(f"{base}/billing")
    expect(page).to_have_url(re.compile(r"/login"))
    # an unknown user gets exactly the same answer (no hint which part was wrong)
    page.fill("input[name=username]", "nobody")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button.primary")
    expect(page.locator("[data-login-error]")).to_have_text("Väärä käyttäjätunnus tai salasana.")


def test_repeated_wrong_passwords_lock_the_name_for_a_while(
    console_only: Callable[..., str], new_page: Callable[[], Page]
) -> None:
    base = console_only(login_max_failures=3, login_lockout_s=600)
    page = new_page()
    page.goto(f"{base}/login")
    for _ in range(3):
        page.fill("input[name=username]", DEMO_USER)
        page.fill("input[name=password]", "arvaus")
        page.click("button.primary")
        expect(page.locator("[data-login-error]")).to_be_visible()
    # the right password now is refused too, until the lockout ends
    page.fill("input[name=username]", DEMO_USER)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button.primary")
    expect(page.locator("[data-login-error]")).to_have_text(
        "Liian monta väärää yritystä. Yritä hetken kuluttua uudelleen."
    )


def test_an_idle_session_expires_and_sends_the_clerk_to_sign_in(
    console_only: Callable[..., str], new_page: Callable[[], Page]
) -> None:
    base = console_only(session_idle_s=2)
    page = new_page()
    sign_in(page, base)
    expect(page).to_have_url(f"{base}/billing")
    # idle longer than the 2 s limit (the browser keeps the cookie: we delete nothing)
    time.sleep(3.5)
    page.goto(f"{base}/invoices")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Finvoices$"))


def test_a_form_posted_without_its_csrf_token_is_refused(
    console_only: Callable[..., str], new_page: Callable[[], Page]
) -> None:
    base = console_only()
    page = new_page()
    sign_in(page, base)
    # the sign-out form without its hidden token, posted as the browser would
    page.evaluate("document.querySelector('form[action=\"/logout\"] input[name=csrf_token]').remove()")
    page.click("text=Kirjaudu ulos")
    expect(page.locator("h1")).to_have_text("Pyyntö hylättiin")
    response = page.request.post(f"{base}/logout", form={"csrf_token": "forged"})
    assert response.status == 403
    # still signed in: the refused request changed nothing
    page.goto(f"{base}/billing")
    expect(page.locator("[data-user]")).to_have_text(DEMO_USER)


def test_the_language_switch_turns_every_label_english(
    console_only: Callable[..., str], new_page: Callable[[], Page]
) -> None:
    base = console_only()
    page = new_page()
    sign_in(page, base)
    page.click("a[data-lang=en]")
    expect(page.locator("a.tab")).to_have_text(["Invoices", "Billing", "Sending", "Bank files", "Dead letters"])
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.click("text=Sign out")
    expect(page.locator("h1")).to_have_text("Sign in")


def test_an_expired_session_during_an_htmx_click_goes_to_sign_in_and_back(
    console_only: Callable[..., str], new_page: Callable[[], Page]
) -> None:
    base = console_only(session_idle_s=2)
    page = new_page()
    sign_in(page, base)
    page.goto(f"{base}/billing?kind=notice")
    time.sleep(3.5)  # idle past the 2 s limit
    # the fetch button asks for a partial; the answer is HX-Redirect to sign-in, which
    # remembers the page the clerk was on (not the partial's URL)
    page.get_by_role("button", name="Hae laskutuspyynnöt").click()
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fbilling%3Fkind%3Dnotice$"))
    page.fill("input[name=username]", DEMO_USER)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button.primary")
    expect(page).to_have_url(f"{base}/billing?kind=notice")
