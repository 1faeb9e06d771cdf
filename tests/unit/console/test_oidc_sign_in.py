"""OIDC sign-in over real HTTP: the console served by uvicorn, a real local OIDC provider
(oidc-provider-mock), and httpx as the browser following the redirects between them."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import werkzeug.serving
from pydantic import ValidationError

from console.config import ConsoleSettings
from console.oidc import local_next
from tests.support.console_server import ConsoleServer
from tests.support.isolation import free_port
from tests.support.oidc import (
    ANNA,
    BERTTA,
    COLON,
    MALLORY,
    OLLI,
    UNVERIFIED,
    VEERA,
    Provider,
    oidc_provider,
    oidc_settings,
)


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider() as p:
        yield p


@pytest.fixture
def console() -> Iterator[Callable[..., str]]:
    started: list[ConsoleServer] = []

    def start(**overrides: Any) -> str:
        nowhere = f"http://127.0.0.1:{free_port()}"
        values: dict[str, Any] = {f"{s}_url": nowhere for s in ("customers", "invoicing", "reminders", "dispatch")}
        values.update(login_delay_s=0.0, **overrides)
        server = ConsoleServer(ConsoleSettings(**values)).start()
        started.append(server)
        return server.url

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20) as client:
        yield client


def to_provider(browser: httpx.Client, base: str, next_url: str = "/billing") -> str:
    """Press "Sign in with ...": follow the console's redirect to the provider's authorize form."""
    page = browser.get(f"{base}/login/oidc", params={"next": next_url}, follow_redirects=True)
    assert page.status_code == 200, page.text
    assert "Authorize Client" in page.text  # the provider's form, not the console
    return str(page.url)


def authorize(browser: httpx.Client, authorize_url: str, sub: str) -> str:
    """Sign in at the provider as ``sub``; the callback URL it sends the browser back to."""
    answer = browser.post(authorize_url, data={"sub": sub})
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def signed_in_as(browser: httpx.Client, base: str) -> str | None:
    """The clerk the console shows as signed in, or None when it asks to sign in."""
    page = browser.get(f"{base}/login")
    found = re.search(r"<span class=\"user\" data-user>([^<]*)</span>", page.text)
    if found is None:
        assert browser.get(f"{base}/billing").headers["location"].startswith("/login?next=")
        return None
    return found.group(1)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    params = {**query(url), **changes}
    return urlunsplit(parts._replace(query=urlencode(params)))


def test_a_clerk_in_the_group_signs_in_and_lands_where_she_was_going(
    provider: Provider, console: Callable[..., str], browser: httpx.Client
) -> None:
    base = console(**oidc_settings(provider.issuer))
    login = browser.get(f"{base}/login", params={"next": "/invoices?page=2"})
    assert 'href="/login/oidc?next=/invoices%3Fpage%3D2"' in login.text
    assert "Kirjaudu palvelulla Testi-IdP" in login.text
    assert 'name="password"' in login.text  # password sign-in stays on unless turned off

    authorize_url = to_provider(browser, base, "/invoices?page=2")
    sent = query(authorize_url)
    assert sent["client_id"] == "billing-console"
    assert sent["redirect_uri"] == f"{base}/login/oidc/callback"
    assert set(sent["scope"].split()) == {"openid", "profile", "email"}
    assert sent["code_challenge_method"] == "S256"
    assert sent["state"] and sent["nonce"] and sent["code_challenge"]

    callback = authorize(browser, authorize_url, ANNA.sub)
    assert callback.startswith(f"{base}/login/oidc/callback?")
    landed = browser.get(callback)
    assert landed.status_code == 303
    assert landed.headers["location"] == "/invoices?page=2"
    assert signed_in_as(browser, base) == "anna"

    # PKCE: the verifier sent to the token endpoint is the one the challenge was made from
    verifier = provider.token_requests[-1]["code_verifier"][0]
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert digest == sent["code_challenge"]


def test_a_user_on_the_allowed_list_signs_in_without_the_group(
    provider: Provider, console: Callable[..., str], browser: httpx.Client
) -> None:
    base = console(**oidc_settings(provider.issuer))
    landed = browser.get(authorize(browser, to_provider(browser, base), BERTTA.sub))
    assert landed.status_code == 303
    assert landed.headers["location"] == "/billing"
    assert signed_in_as(browser, base) == "bertta"


def test_someone_the_provider_knows_but_the_console_does_not_allow_is_refused(
    provider: Provider, console: Callable[..., str], browser: httpx.Client
) -> None:
    base = console(**oidc_settings(provider.issuer))
    refused = browser.get(authorize(browser, to_provider(browser, base), OLLI.sub))
    assert refused.status_code == 403
    assert "ei ole oikeutta käyttää tätä laskutusjärjestelmää" in refused.text
    assert signed_in_as(browser, base) is None


def test_a_refused_person_does_not_keep_the_session_someone_had_in_that_browser(
    provider: Provider, console: Callable[..., str], browser: httpx.Client
) -> None:
    base = console(**oidc_settings(provider.issuer))
    browser.get(authorize(browser, to_provider(browser, base), ANNA.sub))
    assert signed_in_as(browser, base) == "anna"
    assert browser.get(authorize(browser, to_provider(browser, base), OLLI.sub)).status_code == 403
    assert signed_in_as(browser, base) is None


def test_a_person_without_the_name_claim_is_refused(
    provider: Provider, console: Callable[..., str], browser: httpx.Client
) -> None:
    # a subject typed on the provider's form gets only an e-mail claim: no preferred_username
    base = console(**oidc_settings(provider.issuer, oidc_allowed_users=["bertta", "stranger@example.org"]))
    refused = browser.get(authorize(browser, to_provider(browser, base), "stranger@example.org"))
    assert refused.status_code == 403
    assert "ei kertonut käyttäjätunnustasi" in refused.text
    assert signed_in_as(browser, base) is None


def test_the_username_claim_can_be_another_claim(
    provider: Provider, console: Callable[..., str], browser: httpx.Client
) -> None:
    base = console(**oidc_settings(provider.issuer, oidc_username_claim="email", oidc_allowed_subjects=[VEERA.sub]))
    browser.get(authorize(browser, to_provider(browser, base), VEERA.sub))
    assert signed_in_as(browser, base) == "veera@example.org"


def test_an_email_as_the_name_must_be_verified_by_the_provider(
    provider: Provider, console: Callable[..., str], browser: httpx.Client
) -> None:
    allowed = ["veera.v@example.org", "x@example.org"]
    base = console(**oidc_settings(provider.issuer, oidc_username_claim="email", oidc_allowed_users=allowed))
    for sub in (UNVERIFIED.sub, "x@example.org"):  # email_verified false; no email_verified at all
        refused = browser.get(authorize(browser, to_provider(browser, base), sub))
        assert refused.status_code == 403
        assert "ei ole vahvistanut" in refused.text
        assert signed_in_as(browser, base) is None


def test_allowed_subjects_let_in_by_sub_not_by_a_look_alike_username(
    provider: Provider, console: Callable[..., str], browser: httpx.Client
) -> None:
    # only Bertta's subject (stable per issuer) is allowed: Mallory, who set her username
    # to "bertta" at the provider, is refused; Bertta herself gets in
    base = console(
        **oidc_settings(
            provider.issuer, oidc_allowed_users=[], oidc_required_group="", oidc_allowed_subjects=[BERTTA.sub]
        )
    )
    refused = browser.get(authorize(browser, to_provider(browser, base), MALLORY.sub))
    assert refused.status_code == 403
    assert signed_in_as(browser, base) is None
    browser.get(authorize(browser, to_provider(browser, base), BERTTA.sub))
    assert signed_in_as(browser, base) == "bertta"


def test_a_name_that_is_not_a_plain_clerk_name_is_refused(
    provider: Provider, console: Callable[..., str], browser: httpx.Client
) -> None:
    # in the group, so allowed, but "oidc:order-system" could pass for a system in an audit trail
    base = console(**oidc_settings(provider.issuer))
    refused = browser.get(authorize(browser, to_provider(browser, base), COLON.sub))
    assert refused.status_code == 403
    assert signed_in_as(browser, base) is None


def test_a_callback_with_a_state_this_browser_did_not_start_is_refused(
    provider: Provider, console: Callable[..., str], browser: httpx.Client
) -> None:
    base = console(**oidc_settings(provider.issuer))
    callback = authorize(browser, to_provider(browser, base), ANNA.sub)
    forged = browser.get(with_query(callback, state="not-the-state-we-sent"))
    assert forged.status_code == 400
    assert "Kirjautumisen tarkiste puuttui tai oli vanhentunut" in forged.text
    assert signed_in_as(browser, base) is None

    # the right code and state, but in another browser (login CSRF): refused too
    with httpx.Client(timeout=20) as other:
        assert other.get(callback).status_code == 400
        assert signed_in_as(other, base) is None


def test_an_id_token_with_another_nonce_is_refused(
    provider: Provider, console: Callable[..., str], browser: httpx.Client
) -> None:
    base = console(**oidc_settings(provider.issuer))
    authorize_url = to_provider(browser, base)
    # the provider signs whatever nonce the authorize request carried: the console must compare
    callback = authorize(browser, with_query(authorize_url, nonce="a-replayed-nonce"), ANNA.sub)
    refused = browser.get(callback)
    assert refused.status_code == 400
    assert "vastausta ei voitu vahvistaa" in refused.text
    assert signed_in_as(browser, base) is None


def test_a_denial_at_the_provider_gives_a_translated_page(
    provider: Provider, console: Callable[..., str], browser: httpx.Client
) -> None:
    base = console(**oidc_settings(provider.issuer))
    browser.get(f"{base}/lang/en")
    authorize_url = to_provider(browser, base)
    denied = browser.post(authorize_url, data={"action": "deny"})
    assert denied.status_code == 302
    assert query(denied.headers["location"])["error"] == "access_denied"
    page = browser.get(denied.headers["location"])
    assert page.status_code == 403
    assert "Sign-in was cancelled or refused by the identity provider." in page.text
    assert "Traceback" not in page.text
    assert signed_in_as(browser, base) is None


def test_an_unreachable_provider_gives_a_page_not_a_trace(console: Callable[..., str], browser: httpx.Client) -> None:
    base = console(**oidc_settings(f"http://127.0.0.1:{free_port()}"))
    page = browser.get(f"{base}/login/oidc")
    assert page.status_code == 502
    assert "Tunnistuspalveluun ei saatu yhteyttä" in page.text


def test_a_discovery_document_naming_another_issuer_is_not_trusted(
    console: Callable[..., str], browser: httpx.Client
) -> None:
    def impostor(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = json.dumps(
            {"issuer": "https://idp.evil.example", "authorization_endpoint": "https://idp.evil.example/a"}
        )
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body.encode()]

    server = werkzeug.serving.make_server("127.0.0.1", 0, impostor, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        base = console(**oidc_settings(f"http://localhost:{server.server_port}"))
        page = browser.get(f"{base}/login/oidc")
        assert page.status_code == 502
        assert "idp.evil.example" not in page.headers.get("location", "")
        assert "Tunnistuspalveluun ei saatu yhteyttä" in page.text
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def test_the_way_back_stays_on_this_console(
    provider: Provider, console: Callable[..., str], browser: httpx.Client
) -> None:
    base = console(**oidc_settings(provider.issuer))
    landed = browser.get(authorize(browser, to_provider(browser, base, "/\t/evil.example"), ANNA.sub))
    assert landed.headers["location"] == "/billing"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/invoices?x=1", "/invoices?x=1"),
        ("https://evil.example/", "/billing"),
        ("//evil.example", "/billing"),
        ("/\\evil.example", "/billing"),
        ("/\t/evil.example", "/billing"),
        ("/\r\n/evil.example", "/billing"),
        ("/a\\b", "/billing"),
        ("", "/billing"),
        (None, "/billing"),
    ],
)
def test_local_next(target: str | None, expected: str) -> None:
    assert local_next(target) == expected


def test_with_password_sign_in_off_only_the_provider_lets_anyone_in(
    provider: Provider, console: Callable[..., str], browser: httpx.Client
) -> None:
    from console.auth import hash_password

    base = console(**oidc_settings(provider.issuer), password_login=False, users=[f"anna:{hash_password('pw-1234')}"])
    page = browser.get(f"{base}/login")
    assert "data-oidc-sign-in" in page.text
    assert 'name="password"' not in page.text
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    assert token is not None
    form = {"csrf_token": token.group(1), "username": "anna", "password": "pw-1234"}
    refused = browser.post(f"{base}/login", data=form)
    assert refused.status_code == 403
    assert signed_in_as(browser, base) is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"oidc_issuer": "http://idp.example"}, "https URL"),
        ({"oidc_issuer": "https://idp.example?x=1"}, "without query"),
        ({"oidc_client_id": ""}, "CONSOLE_OIDC_CLIENT_ID"),
        ({"oidc_allowed_users": [], "oidc_required_group": ""}, "ALLOWED_USERS"),
        ({"oidc_scopes": "profile email"}, "openid"),
        ({"oidc_redirect_url": "http://console.example/login/oidc/callback"}, "https URL"),
    ],
)
def test_an_incomplete_or_unsafe_oidc_setting_stops_the_start(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ConsoleSettings(**oidc_settings("https://idp.example", **overrides))


def test_password_sign_in_cannot_be_off_without_oidc() -> None:
    with pytest.raises(ValidationError, match="CONSOLE_PASSWORD_LOGIN"):
        ConsoleSettings(password_login=False)
    assert ConsoleSettings(**oidc_settings("http://localhost:9")).oidc_enabled
