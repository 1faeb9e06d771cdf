"""Password hashing, CSRF tokens, the session cookie and the sign-in redirect (sessions
and the lockout in detail: test_sessions.py, test_lockout.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from console import csrf
from console.app import create_app
from console.auth import hash_password, verify_password
from console.config import ConsoleSettings
from console.urls import safe_url

PASSWORD = "oikea hevonen patteri niitti"


def test_a_hash_verifies_its_password_and_nothing_else() -> None:
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert PASSWORD not in hashed
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, PASSWORD + " ")
    assert not verify_password(None, PASSWORD)  # unknown user
    assert not verify_password("not-a-hash", PASSWORD)
    assert hash_password(PASSWORD) != hashed  # salted


def test_csrf_token_is_stable_per_session_and_compared_exactly() -> None:
    session: dict[str, object] = {}
    token = csrf.token(session)
    assert csrf.token(session) == token
    assert len(token) >= 40
    assert csrf.valid(token, token)
    assert not csrf.valid(token, token[:-1])
    assert not csrf.valid(token, None)
    assert not csrf.valid(None, token)
    assert csrf.token({}) != token


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/invoices?x=1", "/invoices?x=1"),
        ("https://evil.example/", "/billing"),
        ("//evil", "/billing"),
        ("", "/billing"),
        ("/\\evil", "/billing"),
    ],
)
def test_after_sign_in_only_a_local_path(target: str, expected: str) -> None:
    assert safe_url(target) == expected


def test_settings_refuse_production_without_a_database_and_a_malformed_user() -> None:
    with pytest.raises(ValueError, match="CONSOLE_DATABASE_URL is required in production"):
        ConsoleSettings(mode="production")
    with pytest.raises(ValueError, match="refused in production"):
        ConsoleSettings(mode="production", database_url="postgresql+asyncpg://u@h/console", migrate_on_start=True)
    production = ConsoleSettings(mode="production", database_url="postgresql+asyncpg://u@h/console")
    assert not production.migrates_on_start
    assert ConsoleSettings().migrates_on_start
    with pytest.raises(ValueError, match="name:argon2-hash"):
        ConsoleSettings(users=["anna"]).user_hashes()


@pytest.fixture
def client() -> Iterator[TestClient]:
    settings = ConsoleSettings(users=[f"anna:{hash_password(PASSWORD)}"], login_delay_s=0)
    with TestClient(create_app(settings)) as c:
        yield c


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_pages_redirect_to_sign_in_and_htmx_gets_hx_redirect(client: TestClient) -> None:
    r = client.get("/billing?kind=notice", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fbilling%3Fkind%3Dnotice"
    r = client.get(
        "/billing",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/invoices"},
        follow_redirects=False,
    )
    assert r.headers["HX-Redirect"] == "/login?next=%2Finvoices"


def test_post_without_or_with_a_wrong_csrf_token_is_403(client: TestClient) -> None:
    token = _token(client.get("/login").text)
    form = {"username": "anna", "password": PASSWORD, "next": "/billing"}
    assert client.post("/login", data=form).status_code == 403
    assert client.post("/login", data={**form, "csrf_token": token + "x"}).status_code == 403
    r = client.post("/login", data={**form, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    # signing in starts a new session with a new token: the old one no longer works
    assert client.post("/logout", headers={"X-CSRF-Token": token}).status_code == 403
    fresh = _token(client.get("/billing").text)
    assert fresh != token
    assert client.post("/logout", headers={"X-CSRF-Token": fresh}, follow_redirects=False).status_code == 303


def test_a_tampered_cookie_is_no_session(client: TestClient) -> None:
    token = _token(client.get("/login").text)
    client.post("/login", data={"username": "anna", "password": PASSWORD, "csrf_token": token})
    assert client.get("/billing", follow_redirects=False).status_code == 200
    cookie = client.cookies["console_session"]
    client.cookies.set("console_session", cookie[:-2] + ("xx" if not cookie.endswith("xx") else "yy"))
    assert client.get("/billing", follow_redirects=False).status_code == 303
    client.cookies.set("console_session", cookie)
    assert client.get("/billing", follow_redirects=False).status_code == 200


def test_the_cookie_is_secure_on_https_and_when_forced() -> None:
    def cookie_flags(base_url: str, **overrides: object) -> str:
        settings = ConsoleSettings(**overrides)  # type: ignore[arg-type]
        with TestClient(create_app(settings), base_url=base_url) as c:
            return c.get("/login").headers["set-cookie"]

    plain = cookie_flags("http://testserver")
    assert "HttpOnly" in plain
    assert "SameSite=Lax" in plain
    assert "Secure" not in plain
    assert "; Secure" in cookie_flags("https://testserver")
    assert "; Secure" in cookie_flags("http://testserver", cookie_secure=True)
