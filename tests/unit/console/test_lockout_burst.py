"""Parallel sign-in attempts cannot get past the lockout: each attempt is counted in the
store *before* the password is checked (one atomic step), so a burst of wrong passwords
sent at once gets at most ``login_max_failures`` password checks; the rest are refused
429 unchecked. The store here answers slowly (10 ms a call), as a database does."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import console.auth
from console.store import MemoryStore
from tests.unit.console.support import PASSWORD, Clock, app, csrf_token

ELSEWHERE = ("203.0.113.9", 50000)


class SlowStore(MemoryStore):
    """The in-process store with a pause before every call (a database round trip)."""

    def __getattribute__(self, name: str) -> Any:
        found = super().__getattribute__(name)
        if name.startswith("_") or not inspect.iscoroutinefunction(found):
            return found

        async def slowly(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(0.01)
            return await found(*args, **kwargs)

        return slowly


def counting_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password the console checks, in order."""
    checked: list[str] = []
    real: Callable[[str | None, str], bool] = console.auth.verify_password

    def verify(hashed: str | None, password: str) -> bool:
        checked.append(password)
        return real(hashed, password)

    monkeypatch.setattr(console.auth, "verify_password", verify)
    return checked


async def burst(application: Any, client: tuple[str, int], passwords: list[str], user: str = "anna") -> list[int]:
    """``passwords`` posted at once from ``client`` in one browser session; the statuses."""
    async with application.router.lifespan_context(application):
        return await guesses(application, client, passwords, user)


async def guesses(application: Any, client: tuple[str, int], passwords: list[str], user: str = "anna") -> list[int]:
    """:func:`burst` to an app already started."""
    transport = httpx.ASGITransport(app=application, client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        token = csrf_token((await http.get("/login")).text)

        async def attempt(password: str) -> int:
            form = {"username": user, "password": password, "csrf_token": token, "next": "/billing"}
            return (await http.post("/login", data=form, follow_redirects=False)).status_code

        return list(await asyncio.gather(*(attempt(p) for p in passwords)))


async def test_forty_wrong_passwords_at_once_get_at_most_max_failures_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    checked = counting_checks(monkeypatch)
    application = app(Clock(), SlowStore(), login_max_failures=3, login_lockout_s=600)
    statuses = await burst(application, ELSEWHERE, [f"arvaus {i}" for i in range(40)])
    assert len(checked) <= 3
    assert statuses.count(401) == len(checked)
    assert statuses.count(429) == 40 - len(checked)


async def test_the_right_password_inside_a_burst_over_the_limit_is_refused_unchecked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked = counting_checks(monkeypatch)
    application = app(Clock(), SlowStore(), login_max_failures=3, login_lockout_s=600)
    statuses = await burst(application, ELSEWHERE, [f"arvaus {i}" for i in range(10)] + [PASSWORD])
    assert PASSWORD not in checked  # the 11th attempt was over the limit: never checked
    assert statuses[-1] == 429


async def test_an_address_bursting_many_names_gets_at_most_its_limit_of_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked = counting_checks(monkeypatch)
    application = app(Clock(), SlowStore(), login_max_failures=3, login_max_failures_per_address=5, login_lockout_s=600)
    transport = httpx.ASGITransport(app=application, client=ELSEWHERE)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        token = csrf_token((await http.get("/login")).text)
        forms = [{"username": f"nimi{i}", "password": "arvaus", "csrf_token": token} for i in range(30)]
        answers = await asyncio.gather(*(http.post("/login", data=f, follow_redirects=False) for f in forms))
    assert len(checked) <= 5
    assert [a.status_code for a in answers].count(429) >= 25
