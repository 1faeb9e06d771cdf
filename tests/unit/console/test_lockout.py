"""The sign-in lockout: by (name, client address) and by address alone, never by name
alone (in-process store; across replicas and restarts: tests/integration/
test_console_sessions.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from console.auth import Lockout
from console.store import MemoryStore
from tests.unit.console.support import PASSWORD, Clock, app, csrf_token, sign_in

OFFICE = ("10.0.0.5", 50000)
ELSEWHERE = ("203.0.113.9", 50000)


async def guess(lock: Lockout, name: str, address: str) -> bool:
    """One wrong password, as the sign-in route handles it; False: refused unchecked."""
    attempt = await lock.attempt(name, address)
    if attempt is None:
        return False
    await lock.failed(attempt)
    return True


async def locked(lock: Lockout, name: str, address: str) -> bool:
    """Whether an attempt would be refused now (the probe's own count taken back)."""
    attempt = await lock.attempt(name, address)
    if attempt is None:
        return True
    await lock.succeeded(attempt)  # clears the pair: only for probes after which the pair starts again anyway
    return False


async def test_failures_lock_the_name_from_that_address_only_and_success_starts_again() -> None:
    clock = Clock()
    lock = Lockout(MemoryStore(), max_failures=2, max_failures_per_address=100, lockout_s=60, clock=clock)
    assert await guess(lock, "anna", "203.0.113.9")
    assert await guess(lock, "anna", "203.0.113.9")
    assert not await guess(lock, "anna", "203.0.113.9")  # the third is refused unchecked
    assert not await locked(lock, "anna", "10.0.0.5")  # her own desk
    assert not await locked(lock, "ben", "203.0.113.9")
    clock.advance(59)
    assert await lock.attempt("anna", "203.0.113.9") is None  # refused attempts do not end the lock
    clock.advance(2)
    assert await guess(lock, "anna", "203.0.113.9")  # the lock ended; the count starts again
    assert await guess(lock, "anna", "203.0.113.9")
    assert not await guess(lock, "anna", "203.0.113.9")
    assert await guess(lock, "anna", "10.0.0.5")
    success = await lock.attempt("anna", "10.0.0.5")
    assert success is not None
    await lock.succeeded(success)
    assert await guess(lock, "anna", "10.0.0.5")
    assert await guess(lock, "anna", "10.0.0.5")  # in a row: a success started the count again


async def test_failures_spread_over_longer_than_the_window_do_not_add_up() -> None:
    clock = Clock()
    lock = Lockout(MemoryStore(), max_failures=3, max_failures_per_address=100, lockout_s=300, clock=clock)
    for _ in range(6):
        assert await guess(lock, "anna", "203.0.113.9")
        clock.advance(200)  # the 1st and 3rd are more than 300 s apart


async def test_an_address_trying_many_names_is_throttled_whatever_the_name() -> None:
    clock = Clock()
    lock = Lockout(MemoryStore(), max_failures=5, max_failures_per_address=4, lockout_s=300, clock=clock)
    for name in ("anna", "ben", "cecilia", "daniel"):
        assert await guess(lock, name, "203.0.113.9")
    assert await lock.attempt("eero", "203.0.113.9") is None  # a name it never tried
    assert await lock.attempt("eero", "10.0.0.5") is not None


async def test_a_success_does_not_reset_the_address_count_of_a_script_trying_names() -> None:
    lock = Lockout(MemoryStore(), max_failures=5, max_failures_per_address=4, lockout_s=300, clock=Clock())
    for name in ("ben", "cecilia", "daniel"):
        assert await guess(lock, name, "203.0.113.9")
    good = await lock.attempt("anna", "203.0.113.9")
    assert good is not None
    await lock.succeeded(good)
    assert await guess(lock, "eero", "203.0.113.9")  # the fourth failure: the address's limit
    assert await lock.attempt("fanni", "203.0.113.9") is None


@pytest.mark.parametrize(
    ("address", "same", "other"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:3::1"),
        ("203.0.113.9", "::ffff:203.0.113.9", "203.0.113.10"),
        ("fe80::1%eth0", "fe80::2", "fe80:0:0:1::1"),
    ],
)
def test_ipv6_counts_by_its_64_and_ipv4_by_the_address(address: str, same: str, other: str) -> None:
    assert Lockout.keys("anna", address) == Lockout.keys("anna", same)
    assert Lockout.keys("anna", address)[1] != Lockout.keys("anna", other)[1]


def test_over_http_guesses_rotated_through_one_ipv6_64_lock_that_64() -> None:
    application = app(Clock(), login_max_failures=3, login_max_failures_per_address=100, login_lockout_s=600)
    for n in range(1, 4):
        with TestClient(application, client=(f"2001:db8:1:2::{n:x}", 50000)) as client:
            assert sign_in(client, "anna", "arvaus") == 401
    with TestClient(application, client=("2001:db8:1:2:dead:beef:0:1", 50000)) as client:
        assert sign_in(client, "anna", PASSWORD) == 429  # a fresh address of the same /64
    with TestClient(application, client=("2001:db8:1:3::1", 50000)) as client:
        assert sign_in(client, "anna", PASSWORD) == 303  # the next /64 is another network


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
