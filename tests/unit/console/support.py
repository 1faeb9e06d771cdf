"""Shared bits of the console's session and lockout tests: a clock the test moves, a
console app, signing in over HTTP and reading the CSRF token of a page."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from console.app import create_app
from console.auth import hash_password
from console.config import ConsoleSettings
from console.store import Store

PASSWORD = "oikea hevonen patteri niitti"
HASH = hash_password(PASSWORD)
START = 1_800_000_000.0


class Clock:
    """Seconds since the epoch, moved by the test (never a sleep)."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def settings(**overrides: Any) -> ConsoleSettings:
    values: dict[str, Any] = {"users": [f"anna:{HASH}", f"ben:{HASH}"], "login_delay_s": 0}
    if overrides.get("mode") == "production":  # production starts only with its own token and key
        from tests.support.credentials import CONSOLE, credentials

        values |= {
            "service_token": credentials().token(CONSOLE),
            "actor_assertion_key_file": credentials().private_key_file,
        }
    values.update(overrides)
    return ConsoleSettings(**values)


def app(clock: Clock, store: Store | None = None, **overrides: Any) -> FastAPI:
    return create_app(settings(**overrides), clock=clock, store=store)


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def sign_in(client: TestClient, user: str = "anna", password: str = PASSWORD) -> int:
    """Post the sign-in form as a browser would; the status of the answer (303: in)."""
    token = csrf_token(client.get("/login").text)
    form = {"username": user, "password": password, "csrf_token": token, "next": "/billing"}
    return client.post("/login", data=form, follow_redirects=False).status_code
