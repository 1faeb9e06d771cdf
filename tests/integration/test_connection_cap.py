"""A process never holds more PostgreSQL connections than its settings allow: pool size
plus overflow (``<PREFIX>DATABASE_POOL_SIZE`` + ``<PREFIX>DATABASE_MAX_OVERFLOW``), as the
connection budget in the README counts them. Real PostgreSQL, the service's own runtime."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from services.customers.app import build
from services.customers.config import Settings
from tests.support.isolation import Sandbox

pytestmark = pytest.mark.integration

COUNT = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'customers'"
)


async def test_the_pool_stops_at_pool_size_plus_overflow(sandbox: Sandbox) -> None:
    runtime = build(Settings(**sandbox.settings_kwargs(database_pool_size=2, database_max_overflow=1)))
    engine = runtime.engine
    held = []
    try:
        for _ in range(3):
            held.append(await engine.connect())
        assert await held[0].scalar(COUNT) == 3  # all three open on the server
        with pytest.raises(TimeoutError):  # a fourth waits for one of the three
            await asyncio.wait_for(engine.connect(), timeout=2.0)
        await held.pop().close()
        held.append(await asyncio.wait_for(engine.connect(), timeout=10.0))  # a returned one is handed on
        assert await held[0].scalar(COUNT) == 3
    finally:
        for conn in held:
            await conn.close()
        await engine.dispose()
