"""``billing migrate`` against a real PostgreSQL, with a lock held by another session:
the migration connection's lock_timeout bounds the wait (the advisory lock included),
the command retries, fails with a clear message saying what blocked it, changes
nothing, and succeeds once the lock is released."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from services.customers.app import SPEC
from shared.db.migrations import lock_key, upgrade
from tests.support.isolation import Sandbox
from tests.support.migrations import next_release_migrations, revisions
from tests.support.servers import REPO

pytestmark = pytest.mark.integration

BLOCKER = "test-blocker"  # the application_name of the session that holds the lock


@dataclass
class Run:
    code: int
    out: str
    err: str


async def billing_migrate(sandbox: Sandbox, *args: str, **settings: object) -> Run:
    """``billing migrate ARGS`` as its own process, on the sandbox's database."""
    env = sandbox.env("customers", **settings)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "billing_cli.main",
        "migrate",
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)  # a guard, not a measurement
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


FAST = {"migration_lock_timeout_ms": 300, "migration_lock_attempts": 2, "migration_lock_backoff_s": 0.1}


async def blocker(sandbox: Sandbox) -> asyncpg.Connection:
    return await asyncpg.connect(sandbox.plain_db_url, server_settings={"application_name": BLOCKER})


async def test_lock_timeout_applies_to_the_advisory_lock(sandbox: Sandbox) -> None:
    holder = await blocker(sandbox)
    waiter = await asyncpg.connect(sandbox.plain_db_url, server_settings={"lock_timeout": "200"})
    try:
        await holder.execute("SELECT pg_advisory_lock(42)")
        with pytest.raises(asyncpg.LockNotAvailableError, match="lock timeout"):
            async with waiter.transaction():
                await waiter.execute("SELECT pg_advisory_xact_lock(42)")
        # the same wait without a lock_timeout is still waiting when cancelled: the bound
        # above came from the setting
        await waiter.execute("SET lock_timeout = 0")
        waiting = asyncio.ensure_future(waiter.execute("SELECT pg_advisory_xact_lock(42)"))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiting), 1.0)
        await holder.execute("SELECT pg_advisory_unlock(42)")
        await waiting  # granted once released
    finally:
        await holder.close()
        await waiter.close()


async def test_a_table_lock_fails_billing_migrate_fast_then_it_succeeds_once_released(sandbox: Sandbox) -> None:
    head, previous = revisions()
    await upgrade(SPEC.migrations_dir, sandbox.db_url, previous)
    holder = await blocker(sandbox)
    try:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("LOCK TABLE customers IN ACCESS SHARE MODE")  # a long read: ALTER TABLE must wait

        failed = await billing_migrate(sandbox, "customers", **FAST)

        assert failed.code == 1
        assert "a transaction holds a lock on a table a migration of customers changes" in failed.err
        assert f"({BLOCKER}, idle in transaction" in failed.err  # who, without any query text
        assert "lock_timeout (300 ms)" in failed.err and "2 tries" in failed.err
        assert "billing migrate customers" in failed.err
        assert "Traceback" not in failed.err
        assert holder.is_in_transaction()  # it gave up while the lock was still held
        assert await sandbox.scalar("SELECT version_num FROM alembic_version") == previous  # nothing changed
        await tx.rollback()
    finally:
        await holder.close()

    done = await billing_migrate(sandbox, "customers", **FAST)

    assert done.code == 0, done.err
    assert f"customers: migrated from {previous} to head {head}" in done.out
    assert await sandbox.scalar("SELECT version_num FROM alembic_version") == head


async def test_a_held_migration_lock_fails_billing_migrate_fast_then_it_succeeds_once_released(
    sandbox: Sandbox,
) -> None:
    head, _ = revisions()
    holder = await blocker(sandbox)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", lock_key("customers"))  # another migrate, say

        failed = await billing_migrate(sandbox, "customers", **FAST)

        assert failed.code == 1
        assert "another migration of customers holds its migration lock" in failed.err
        assert f"({BLOCKER}, idle" in failed.err
        assert "2 tries" in failed.err
        assert await sandbox.scalar("SELECT to_regclass('alembic_version') IS NULL")  # nothing changed
    finally:
        await holder.close()  # ends the session: the lock is released

    done = await billing_migrate(sandbox, "customers", **FAST)

    assert done.code == 0, done.err
    assert f"customers: migrated an empty database to head {head}" in done.out
    assert await sandbox.scalar("SELECT version_num FROM alembic_version") == head
    again = await billing_migrate(sandbox, "customers")
    assert (again.code, again.out) == (0, f"customers: at head {head}, nothing to migrate\n")


async def test_a_database_ahead_of_the_code_is_left_as_it_is(sandbox: Sandbox, tmp_path: Path) -> None:
    """The previous release's migrate Job (a rollback) on the next release's expand step."""
    head, _ = revisions()
    await upgrade(next_release_migrations(tmp_path), sandbox.db_url)

    run = await billing_migrate(sandbox, "customers")

    assert run.code == 0, run.err
    assert f"the database is at 9001_expand, newer than this code's head {head}: nothing to migrate" in run.out
    assert await sandbox.scalar("SELECT version_num FROM alembic_version") == "9001_expand"


async def test_a_slow_statement_is_cancelled_by_the_statement_timeout_and_named(sandbox: Sandbox) -> None:
    _, previous = revisions()
    await upgrade(SPEC.migrations_dir, sandbox.db_url, previous)
    holder = await blocker(sandbox)
    try:
        tx = holder.transaction()
        await tx.start()
        await holder.execute("LOCK TABLE customers IN ACCESS SHARE MODE")
        # a lock wait longer than the statement timeout: the statement timeout ends it
        failed = await billing_migrate(
            sandbox, "customers", migration_lock_timeout_ms=0, migration_statement_timeout_ms=300
        )
        await tx.rollback()
    finally:
        await holder.close()

    assert failed.code == 1
    assert "ran longer than statement_timeout (300 ms) and was cancelled" in failed.err
    assert await sandbox.scalar("SELECT version_num FROM alembic_version") == previous


async def test_a_failing_migration_statement_prints_one_line_and_exits_1(sandbox: Sandbox) -> None:
    """Not a lock: a migration's own statement fails (a table already there, made by
    hand). One line naming the service and PostgreSQL's error, no traceback, no SQL."""
    await sandbox.fetch("CREATE TABLE customers (id int)")

    failed = await billing_migrate(sandbox, "customers")

    assert failed.code == 1
    lines = failed.err.strip().splitlines()
    assert len(lines) == 1, failed.err
    assert lines[0].startswith("billing migrate: customers: cannot migrate the database at postgresql+asyncpg://")
    assert 'relation "customers" already exists' in lines[0]
    assert "Traceback" not in failed.err and "CREATE TABLE" not in failed.err
    assert await sandbox.scalar("SELECT to_regclass('alembic_version') IS NULL")  # nothing half-applied recorded


async def test_a_database_that_does_not_exist_prints_one_line_and_exits_1(sandbox: Sandbox) -> None:
    missing = sandbox.db_url.rsplit("/", 1)[0] + "/no_such_database_here"

    failed = await billing_migrate(sandbox, "customers", database_url=missing)

    assert failed.code == 1
    assert failed.err.strip().splitlines() == [failed.err.strip()]
    assert 'database "no_such_database_here" does not exist' in failed.err
    assert "Traceback" not in failed.err
