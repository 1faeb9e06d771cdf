"""Server-side sessions over HTTP (the in-process store; the PostgreSQL store and two
replicas are in tests/integration/test_console_sessions.py): sign-out ends the session
for every copy of its cookie, lifetimes are the server's, sign-in issues a new id, and
the cookie holds nothing but an opaque id. Time is the test's clock: nothing sleeps."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from fastapi.testclient import TestClient

from console.session import Sessions, session_key
from console.store import MemoryStore
from tests.unit.console.support import Clock, app, csrf_token, sign_in

COOKIE = "console_session"


def _action(client: TestClient, token: str, cookie: str | None = None) -> Any:
    """An unsafe action of the Billing tab (a run with nothing selected answers with a
    notice and calls no service) with the given CSRF token."""
    if cookie is not None:
        client.cookies.set(COOKIE, cookie)
    return client.post(
        "/billing/runs",
        data={"kind": "notice", "csrf_token": token},
        headers={"HX-Request": "true"},
        follow_redirects=False,
    )


def test_after_sign_out_the_old_cookie_and_its_csrf_token_are_worthless() -> None:
    clock = Clock()
    with TestClient(app(clock)) as client:
        assert sign_in(client) == 303
        cookie = client.cookies[COOKIE]
        page = client.get("/billing", follow_redirects=False)
        assert page.status_code == 200
        token = csrf_token(page.text)
        assert _action(client, token).status_code == 200  # the action works while signed in
        assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
        # an attacker kept a copy of the cookie (and the page's token): both are dead now
        client.cookies.clear()
        client.cookies.set(COOKIE, cookie)
        r = client.get("/billing", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=%2Fbilling"
        refused = _action(client, token, cookie)
        assert refused.status_code == 200 and refused.headers["HX-Redirect"].startswith("/login?next=")
        client.cookies.set(COOKIE, cookie)
        plain = client.post("/billing/runs", data={"kind": "notice", "csrf_token": token}, follow_redirects=False)
        assert plain.status_code == 303
        assert plain.headers["location"].startswith("/login?next=")


def test_the_cookie_is_an_opaque_id_and_the_store_keeps_its_sha256() -> None:
    store = MemoryStore()
    with TestClient(app(Clock(), store)) as client:
        sign_in(client)
        cookie = client.cookies[COOKIE]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie)  # token_urlsafe(32): 256 random bits
    assert b"anna" not in base64.urlsafe_b64decode(cookie + "=")
    assert list(store.sessions) == [hashlib.sha256(cookie.encode()).hexdigest()]
    assert store.sessions[session_key(cookie)].data["user"] == "anna"


def test_sign_in_issues_a_new_id_and_the_id_from_before_is_worthless() -> None:
    store = MemoryStore()
    with TestClient(app(Clock(), store)) as client:
        client.get("/login")
        before = client.cookies[COOKIE]  # what a fixation attacker would have planted
        sign_in(client)
        after = client.cookies[COOKIE]
        assert after != before
        assert session_key(before) not in store.sessions
        client.cookies.set(COOKIE, before)
        assert client.get("/billing", follow_redirects=False).status_code == 303


def test_an_idle_session_ends_on_the_server_after_session_idle_s() -> None:
    clock = Clock()
    with TestClient(app(clock, session_idle_s=600, session_max_age_s=8 * 3600)) as client:
        sign_in(client)
        cookie = client.cookies[COOKIE]
        for _ in range(5):  # busy: each click within the idle time keeps it alive
            clock.advance(590)
            assert client.get("/billing", follow_redirects=False).status_code == 200
        clock.advance(601)
        r = client.get("/invoices", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=%2Finvoices"
        # a browser that kept the cookie gets nowhere with it either (the row is gone)
        client.cookies.set(COOKIE, cookie)
        clock.advance(-601)
        assert client.get("/billing", follow_redirects=False).status_code == 303


def test_a_busy_session_ends_after_session_max_age_s() -> None:
    clock = Clock()
    with TestClient(app(clock, session_idle_s=600, session_max_age_s=3600)) as client:
        sign_in(client)
        for _ in range(7):  # 3500 s of clicking every 500 s
            clock.advance(500)
            assert client.get("/billing", follow_redirects=False).status_code == 200
        clock.advance(100)  # 3600 s after sign-in
        assert client.get("/billing", follow_redirects=False).status_code == 303


def test_the_row_is_written_only_when_the_session_changed_and_last_seen_at_most_once_a_minute() -> None:
    store = _Counting()
    clock = Clock()
    with TestClient(app(clock, store)) as client:
        sign_in(client)
        client.get("/billing")  # the first page after sign-in makes the session's CSRF token
        store.calls.clear()
        for _ in range(3):
            clock.advance(10)
            assert client.get("/billing", follow_redirects=False).status_code == 200
        assert store.calls == ["get"] * 3  # read, never written: nothing changed, seen < a minute ago
        clock.advance(60)
        store.calls.clear()
        client.get("/billing")
        assert store.calls == ["get", "touch"]
        store.calls.clear()
        client.get("/lang/en?next=/billing", follow_redirects=False)  # the language changes: the row is written
        assert store.calls == ["get", "update"]


def test_revoking_a_user_ends_every_session_of_that_user_only() -> None:
    clock = Clock()
    store = MemoryStore()
    application = app(clock, store)
    with TestClient(application) as anna_desk, TestClient(application) as anna_laptop, TestClient(application) as ben:
        for client, user in ((anna_desk, "anna"), (anna_laptop, "anna"), (ben, "ben")):
            assert sign_in(client, user) == 303
        sessions: Sessions = application.state.sessions
        assert anna_desk.portal is not None
        assert anna_desk.portal.call(sessions.revoke_user, "anna") == 2
        assert anna_desk.get("/billing", follow_redirects=False).status_code == 303
        assert anna_laptop.get("/billing", follow_redirects=False).status_code == 303
        assert ben.get("/billing", follow_redirects=False).status_code == 200


def test_purge_deletes_ended_sessions_only() -> None:
    clock = Clock()
    store = MemoryStore()
    application = app(clock, store, session_idle_s=600)
    with TestClient(application) as old, TestClient(application) as fresh:
        sign_in(old)
        clock.advance(601)
        sign_in(fresh)
        assert len(store.sessions) == 2
        assert old.portal is not None
        assert old.portal.call(application.state.sessions.purge) == 1
        assert [r.data["user"] for r in store.sessions.values()] == ["anna"]
        assert fresh.get("/billing", follow_redirects=False).status_code == 200


def test_a_session_nobody_signed_in_to_ends_after_15_idle_minutes() -> None:
    clock = Clock()
    store = MemoryStore()
    application = app(clock, store, session_idle_s=3600)
    with TestClient(application) as visitor, TestClient(application) as clerk:
        visitor.get("/login")  # a row for the sign-in page's CSRF token
        sign_in(clerk)
        assert len(store.sessions) == 2
        clock.advance(901)
        assert clerk.portal is not None
        assert clerk.portal.call(application.state.sessions.purge) == 1
        assert [r.user for r in store.sessions.values()] == ["anna"]
        assert clerk.get("/billing", follow_redirects=False).status_code == 200
        # the sign-in form left open that long is no session any more: a fresh form, nothing done
        r = visitor.post(
            "/login",
            data={"username": "anna", "password": "x", "csrf_token": "from-the-old-form"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert r.headers["location"].startswith("/login?next=")


def test_static_files_and_the_health_check_never_touch_the_store() -> None:
    store = _Counting()
    with TestClient(app(Clock(), store)) as client:
        sign_in(client)
        store.calls.clear()
        assert client.get("/healthz").status_code == 200
        assert client.get("/static/console.css").status_code == 200
        assert store.calls == []
        assert client.get("/billing", follow_redirects=False).status_code == 200
        assert store.calls == ["get", "update"]  # the first page after sign-in: its CSRF token


def test_a_forged_or_unknown_cookie_is_no_session_and_is_cleared() -> None:
    with TestClient(app(Clock())) as client:
        for value in ("x" * 43, "not an id; Path=/", "a.b.c"):
            client.cookies.set(COOKIE, value)
            r = client.get("/billing", follow_redirects=False)
            assert r.status_code == 303
            assert f"{COOKIE}=; Max-Age=0" in r.headers["set-cookie"]


class _Counting(MemoryStore):
    """The in-process store, noting which writes a request made."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def get(self, key: str) -> Any:
        self.calls.append("get")
        return await super().get(key)

    async def update(self, key: str, data: dict[str, Any], last_seen_at: float) -> bool:
        self.calls.append("update")
        return await super().update(key, data, last_seen_at)

    async def touch(self, key: str, last_seen_at: float) -> None:
        self.calls.append("touch")
        await super().touch(key, last_seen_at)
