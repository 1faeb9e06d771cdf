"""The sign-in lockout: by (name, client address) and by address alone, never by name
alone (in-process store; across replicas and restarts: tests/integration/
test_console_sessions.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from console.auth import Lockout
from console.store import MemoryStore
from tests.unit.console.support import PASSWORD, Clock, app, csrf_token, sign_in

OFFICE = ("10.0.0.5", 50000)
ELSEWHERE = ("203.0.113.9", 50000)


async def test_failures_lock_the_name_from_that_address_only_and_success_starts_again() -> None:
    clock = Clock()
    lock = Lockout(MemoryStore(), max_failures=2, max_failures_per_address=100, lockout_s=60, clock=clock)
    await lock.failed("anna", "203.0.113.9")
    assert not await lock.locked("anna", "203.0.113.9")
    await lock.failed("anna", "203.0.113.9")
    assert await lock.locked("anna", "203.0.113.9")
    assert not await lock.locked("anna", "10.0.0.5")  # her own desk
    assert not await lock.locked("ben", "203.0.113.9")
    clock.advance(61)
    assert not await lock.locked("anna", "203.0.113.9")  # the lock ends
    await lock.failed("anna", "10.0.0.5")
    await lock.succeeded("anna", "10.0.0.5")
    await lock.failed("anna", "10.0.0.5")
    assert not await lock.locked("anna", "10.0.0.5")  # in a row: a success started the count again


async def test_failures_spread_over_longer_than_the_window_do_not_add_up() -> None:
    clock = Clock()
    lock = Lockout(MemoryStore(), max_failures=3, max_failures_per_address=100, lockout_s=300, clock=clock)
    for _ in range(4):
        await lock.failed("anna", "203.0.113.9")
        clock.advance(200)  # the 1st and 3rd are more than 300 s apart
        assert not await lock.locked("anna", "203.0.113.9")


async def test_an_address_trying_many_names_is_throttled_whatever_the_name() -> None:
    clock = Clock()
    lock = Lockout(MemoryStore(), max_failures=5, max_failures_per_address=4, lockout_s=300, clock=clock)
    for name in ("anna", "ben", "cecilia", "daniel"):
        await lock.failed(name, "203.0.113.9")
    assert await lock.locked("eero", "203.0.113.9")  # a name it never tried
    assert not await lock.locked("eero", "10.0.0.5")


def test_over_http_a_name_locked_from_one_address_still_signs_in_from_another() -> None:
    clock = Clock()
    store = MemoryStore()
    application = app(clock, store, login_max_failures=3, login_lockout_s=600)
    with TestClient(application, client=ELSEWHERE) as attacker, TestClient(application, client=OFFICE) as anna:
        for _ in range(3):
            assert sign_in(attacker, "anna", "arvaus") == 401
        # the right password from the attacker's address is refused now, with the lock message
        assert sign_in(attacker, "anna", PASSWORD) == 429
        # anna at her own desk is not locked out by someone typing her name elsewhere
        assert sign_in(anna, "anna", PASSWORD) == 303
        assert anna.get("/billing", follow_redirects=False).status_code == 200
        clock.advance(601)
        assert sign_in(attacker, "anna", PASSWORD) == 303  # the lock ended


def test_over_http_the_lock_answer_is_the_same_message_for_a_known_and_an_unknown_name() -> None:
    application = app(Clock(), login_max_failures=2)
    with TestClient(application, client=ELSEWHERE) as client:
        for name in ("anna", "nobody"):
            for _ in range(2):
                assert sign_in(client, name, "arvaus") == 401
        for name in ("anna", "nobody"):
            r = client.post(
                "/login",
                data={"username": name, "password": PASSWORD, "csrf_token": csrf_token(client.get("/login").text)},
                follow_redirects=False,
            )
            assert r.status_code == 429
            assert "Liian monta väärää yritystä" in r.text
