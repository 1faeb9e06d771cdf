"""The session cookie's name: ``__Host-console_session`` whenever the cookie is Secure
(https, or ``cookie_secure``), so a sibling subdomain cannot plant a session (a browser
accepts a ``__Host-`` cookie only when it is Secure, from this very host, ``Path=/``, with
no ``Domain``); the plain ``console_session`` over http in development."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from console.store import MemoryStore
from tests.unit.console.support import Clock, app, sign_in

OFFICE = ("10.0.0.5", 50000)


def first_cookie(base_url: str, **overrides: Any) -> str:
    with TestClient(app(Clock(), **overrides), base_url=base_url, client=OFFICE) as client:
        return client.get("/login").headers["set-cookie"]


def test_over_https_the_cookie_is_host_prefixed_secure_path_root_and_without_domain() -> None:
    header = first_cookie("https://console.example")
    assert header.startswith("__Host-console_session=")
    flags = [part.strip() for part in header.split(";")]
    assert "Secure" in flags and "Path=/" in flags
    assert not any(flag.lower().startswith("domain=") for flag in flags)


def test_forced_secure_over_http_is_host_prefixed_too() -> None:
    assert first_cookie("http://console.example", cookie_secure=True).startswith("__Host-console_session=")


def test_over_http_in_development_the_plain_name() -> None:
    header = first_cookie("http://localhost")
    assert header.startswith("console_session=")
    assert "Secure" not in header


def test_over_https_a_session_signs_in_and_a_planted_plain_named_cookie_is_ignored() -> None:
    store = MemoryStore()
    application = app(Clock(), store)
    with TestClient(application, base_url="http://localhost", client=OFFICE) as plain:
        assert sign_in(plain) == 303
        planted = plain.cookies["console_session"]  # a live session id, under the plain name
    with TestClient(application, base_url="https://console.example", client=OFFICE) as browser:
        assert sign_in(browser) == 303
        assert browser.get("/billing", follow_redirects=False).status_code == 200
        assert "__Host-console_session" in browser.cookies
        browser.cookies.clear()
        # what a sibling subdomain could set (Domain=.example): not the console's cookie over https
        browser.cookies.set("console_session", planted)
        assert browser.get("/billing", follow_redirects=False).status_code == 303
