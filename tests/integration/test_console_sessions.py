"""The console's sessions and sign-in lockout in PostgreSQL (the console's own database):
two console instances on one database behave as one (a session made on one works on the
other, sign-out on one ends it on both, failures count across both and outlive a
restart), the lifetimes hold on the server, and production refuses an unmigrated schema.
Time is the test's clock: nothing sleeps."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Coroutine, Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from typing import Any, TypeVar

import asyncpg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from billing_cli.main import app as cli
from console.app import create_app
from console.store import SessionEnds
from console.store_pg import MIGRATIONS
from shared.db.migrations import upgrade
from shared.db.schema_check import SchemaBehind
from tests.support.isolation import create_sandbox, drop_sandbox
from tests.support.servers import Servers
from tests.unit.console.support import PASSWORD, START, Clock, csrf_token, settings, sign_in
from tests.unit.console.test_lockout_burst import counting_checks, guesses

pytestmark = pytest.mark.integration

COOKIE = "console_session"
OFFICE = ("10.0.0.5", 50000)
ELSEWHERE = ("203.0.113.9", 50000)
T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def console_db(servers: Servers) -> Iterator[str]:
    """The console's own database (the tests are sync: TestClient runs each app's loop)."""
    sandbox = _run(create_sandbox(servers))
    try:
        yield _run(sandbox.own_database("console", empty=True))  # tests here migrate it themselves
    finally:
        _run(drop_sandbox(sandbox))


async def _rows(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url.replace("+asyncpg", "", 1))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


@contextmanager
def consoles(url: str, clock: Clock, *clients: tuple[str, int], **overrides: Any) -> Iterator[list[TestClient]]:
    """One console instance (its own app, engine and pool) per client address given,
    all on the database at ``url``: replicas behind a load balancer."""
    with ExitStack() as stack:
        started = []
        for address in clients:
            app = create_app(settings(database_url=url, **overrides), clock=clock)
            started.append(stack.enter_context(TestClient(app, client=address)))
        yield started


def test_a_session_made_on_one_replica_works_on_the_other_and_sign_out_ends_it_on_both(console_db: str) -> None:
    clock = Clock()
    with consoles(console_db, clock, OFFICE, OFFICE) as (one, two):
        assert sign_in(one) == 303
        cookie = one.cookies[COOKIE]
        two.cookies.set(COOKIE, cookie)
        page = two.get("/billing", follow_redirects=False)
        assert page.status_code == 200
        token = csrf_token(page.text)
        assert "anna" in page.text
        # the cookie is only an id: the row is keyed by its SHA-256 and holds no copy of it
        rows = _run(_rows(console_db, "SELECT key, user_name, data::text AS data FROM console_sessions"))
        assert [(r["key"], r["user_name"]) for r in rows] == [(hashlib.sha256(cookie.encode()).hexdigest(), "anna")]
        assert cookie not in rows[0]["data"]
        # sign out on the second replica; the first (and the second) refuse the old cookie and token
        assert two.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
        for replica in (one, two):
            replica.cookies.clear()
            replica.cookies.set(COOKIE, cookie)
            assert replica.get("/billing", follow_redirects=False).status_code == 303
            replica.cookies.set(COOKIE, cookie)
            refused = replica.post(
                "/billing/runs", data={"kind": "notice", "csrf_token": token}, follow_redirects=False
            )
            assert refused.status_code == 303
            assert refused.headers["location"].startswith("/login?next=")
        assert not _run(_rows(console_db, "SELECT 1 FROM console_sessions WHERE user_name = 'anna'"))


def test_failures_count_across_replicas_and_outlive_a_restart_by_name_and_address(console_db: str) -> None:
    clock = Clock()
    limits = {"login_max_failures": 3, "login_lockout_s": 600}
    with consoles(console_db, clock, ELSEWHERE, ELSEWHERE, **limits) as (one, two):
        assert sign_in(one, "anna", "arvaus") == 401
        assert sign_in(two, "anna", "arvaus") == 401
        assert sign_in(one, "anna", "arvaus") == 401  # the third, across both replicas
        assert sign_in(two, "anna", PASSWORD) == 429
    # both stopped, a new one started on the same database: still locked from that address
    with consoles(console_db, clock, ELSEWHERE, OFFICE, **limits) as (restarted, office):
        assert sign_in(restarted, "anna", PASSWORD) == 429
        assert sign_in(office, "anna", PASSWORD) == 303  # never by name alone
        assert office.get("/billing", follow_redirects=False).status_code == 200
        # no name or address is stored: only hashes
        keys = [r["key"] for r in _run(_rows(console_db, "SELECT key FROM console_login_failures"))]
        assert keys and all(len(k) == 64 and "anna" not in k and "203.0.113.9" not in k for k in keys)
        clock.advance(601)
        assert sign_in(restarted, "anna", PASSWORD) == 303
    # the lock over and a success: nothing is left of that address's attempts
    assert not _run(_rows(console_db, "SELECT key FROM console_login_failures"))


def test_a_burst_of_parallel_wrong_passwords_on_two_replicas_gets_at_most_max_failures_checks(
    console_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each attempt is counted in PostgreSQL (one UPSERT … RETURNING) before its password
    is checked: 40 guesses sent at once, half to each replica, are checked at most 3 times."""
    checked = counting_checks(monkeypatch)
    clock = Clock()
    limits = {"login_max_failures": 3, "login_lockout_s": 600}
    replicas = [create_app(settings(database_url=console_db, **limits), clock=clock) for _ in range(2)]

    async def both() -> list[int]:
        async with AsyncExitStack() as stack:
            for replica in replicas:  # started one after the other (each migrates at start)
                await stack.enter_async_context(replica.router.lifespan_context(replica))
            halves = await asyncio.gather(
                *(guesses(replica, ELSEWHERE, [f"arvaus {i}" for i in range(20)]) for replica in replicas)
            )
        return halves[0] + halves[1]

    statuses = _run(both())
    assert 1 <= len(checked) <= 3
    assert statuses.count(401) == len(checked)
    assert statuses.count(429) == 40 - len(checked)
    with consoles(console_db, clock, ELSEWHERE, OFFICE, **limits) as (attacker, office):
        assert sign_in(attacker, "anna", PASSWORD) == 429  # locked from that address
        assert sign_in(office, "anna", PASSWORD) == 303


def test_lifetimes_hold_on_the_server_and_purge_deletes_ended_rows(console_db: str) -> None:
    clock = Clock()
    lifetimes = {"session_idle_s": 600, "session_max_age_s": 3600}
    with consoles(console_db, clock, OFFICE, OFFICE, OFFICE, **lifetimes) as (idle, busy, visitor):
        sign_in(idle)
        sign_in(busy)
        visitor.get("/login")  # a session nobody signs in to
        for _ in range(7):  # busy clicks every 500 s for 3500 s; idle does nothing
            clock.advance(500)
            assert busy.get("/billing", follow_redirects=False).status_code == 200
        assert idle.get("/billing", follow_redirects=False).status_code == 303
        clock.advance(100)  # 3600 s after sign-in: the absolute limit ends the busy one too
        assert busy.portal is not None
        # the busy one (absolute limit) and the visitor's (idle 15 min before anyone signed in)
        assert busy.portal.call(busy.app.state.sessions.purge) == 2  # type: ignore[attr-defined]
        assert busy.get("/billing", follow_redirects=False).status_code == 303
        assert not _run(_rows(console_db, "SELECT 1 FROM console_sessions"))


def test_production_refuses_an_unmigrated_database_and_starts_on_a_migrated_one(console_db: str) -> None:
    production = settings(mode="production", database_url=console_db)
    with pytest.raises(SchemaBehind, match="billing migrate console"), TestClient(create_app(production)):
        pass
    assert not _run(_rows(console_db, "SELECT 1 FROM pg_tables WHERE tablename = 'console_sessions'"))
    _run(upgrade(MIGRATIONS, console_db))  # what `billing migrate console` runs
    with TestClient(create_app(production), client=OFFICE) as client:
        assert sign_in(client) == 303
        assert client.get("/billing", follow_redirects=False).status_code == 200


def test_billing_migrate_console_then_revoke_every_session_of_a_clerk(console_db: str) -> None:
    runner = CliRunner()
    env = {"CONSOLE_DATABASE_URL": console_db}
    migrated = runner.invoke(cli, ["migrate", "console"], env=env)
    assert migrated.exit_code == 0, migrated.output
    assert migrated.stdout == "console: migrated an empty database to head 0002\n"
    again = runner.invoke(cli, ["migrate", "console"], env=env)
    assert again.stdout == "console: at head 0002, nothing to migrate\n"
    clock = Clock()
    # production: the console starts only on the migrated schema, which `billing migrate` made
    with consoles(console_db, clock, OFFICE, OFFICE, ELSEWHERE, mode="production") as (desk, laptop, ben):
        for client, user in ((desk, "anna"), (laptop, "anna"), (ben, "ben")):
            assert sign_in(client, user) == 303
        revoked = runner.invoke(cli, ["console", "sessions", "revoke", "--user", "anna"], env=env)
        assert (revoked.exit_code, revoked.stdout) == (0, "anna: 2 sessions ended\n")
        assert desk.get("/billing", follow_redirects=False).status_code == 303
        assert laptop.get("/billing", follow_redirects=False).status_code == 303
        assert ben.get("/billing", follow_redirects=False).status_code == 200


def test_an_uploaded_bank_file_waits_in_the_database_for_its_clerk_until_it_expires(console_db: str) -> None:
    """A bank file between its preview and its confirmation (any replica may take the
    confirmation): kept for the clerk who uploaded it, gone once expired or taken."""
    from console.store import Upload
    from console.store_pg import PostgresStore

    data = bytes(range(256)) * 4  # every byte value survives the round trip

    async def go() -> None:
        store = PostgresStore(console_db, migrate=True)
        await store.open()
        try:
            await store.put_upload("a" * 64, Upload("anna", "camt.xml", data, "f" * 64, expires_at=START + 600))
            await store.put_upload("b" * 64, Upload("anna", "old.txt", b"x", "e" * 64, expires_at=START + 10))
            kept = await store.get_upload("a" * 64, "anna", START)
            assert kept == Upload("anna", "camt.xml", data, "f" * 64, START + 600)
            assert await store.get_upload("a" * 64, "ben", START) is None
            assert await store.get_upload("b" * 64, "anna", START + 10) is None
            ends = SessionEnds(0.0, 0.0, 0.0)
            assert await store.purge(START + 10, ends, 0.0) == 1  # the expired one
            assert await store.get_upload("a" * 64, "anna", START + 10) is not None
            await store.delete_upload("a" * 64)
            assert await store.get_upload("a" * 64, "anna", START) is None
        finally:
            await store.close()

    _run(go())
