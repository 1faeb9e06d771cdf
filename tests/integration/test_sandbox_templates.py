"""The suite's own isolation: a service's database copied from the session's migrated
template is at the head of that service's migrations (what Alembic itself reads), an
``empty`` one has no table, and :meth:`Sandbox.migrated` never replaces a database that
already holds something."""

from __future__ import annotations

import asyncpg
import pytest

from tests.support.isolation import Sandbox
from tests.support.migrations import revisions

pytestmark = pytest.mark.integration


async def _scalar(url: str, sql: str) -> object:
    conn = await asyncpg.connect(url.replace("+asyncpg", "", 1))
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_a_copied_database_is_at_the_services_head_and_an_empty_one_has_no_table(sandbox: Sandbox) -> None:
    head, _ = revisions()
    copied = await sandbox.own_database("customers")
    assert await _scalar(copied, "SELECT version_num FROM alembic_version") == head
    assert await _scalar(copied, "SELECT to_regclass('customers') IS NOT NULL") is True
    empty = await sandbox.own_database("reminders", empty=True)
    assert await _scalar(empty, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0


async def test_migrated_replaces_only_a_database_that_holds_nothing(sandbox: Sandbox) -> None:
    head, _ = revisions()
    await sandbox.migrated("customers")
    assert await sandbox.scalar("SELECT version_num FROM alembic_version") == head
    conn = await asyncpg.connect(sandbox.plain_db_url)
    try:
        await conn.execute("CREATE TABLE probe (n int)")
        await conn.execute("INSERT INTO probe VALUES (7)")
    finally:
        await conn.close()
    await sandbox.migrated("customers")  # holds something now: left as it is
    assert await sandbox.scalar("SELECT n FROM probe") == 7
    with pytest.raises(ValueError, match="no migrations"):
        await sandbox.migrated("nothing-like-it")
