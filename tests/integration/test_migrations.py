"""Each service's Alembic migrations build exactly the tables its code declares."""

from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db.migrations import upgrade
from tests.support.isolation import Sandbox

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("service", ["customers", "invoicing", "reminders", "dispatch"])
async def test_migrations_match_the_declared_tables_and_run_twice(sandbox: Sandbox, service: str) -> None:
    spec = importlib.import_module(f"services.{service}.app").SPEC
    await upgrade(spec.migrations_dir, sandbox.db_url)
    await upgrade(spec.migrations_dir, sandbox.db_url)  # a restart: nothing left to do

    engine = create_async_engine(sandbox.db_url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), spec.metadata))
    await engine.dispose()
    assert diff == []
    tables = {r[0] for r in await sandbox.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"outbox", "inbox", "dead_letters", "alembic_version"} <= tables
