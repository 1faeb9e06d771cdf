"""The reminders service in the test's process (real Kafka and PostgreSQL of the
sandbox) with its clock set, and an API client for it. A test module wraps these in
its own fixtures (``async with running(sandbox) as runtime: yield runtime``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx

from services.reminders.app import build, http_app
from services.reminders.config import Settings
from services.reminders.runtime import RemindersRuntime
from tests.support.isolation import API_TOKEN, Sandbox

TODAY = date(2026, 12, 1)


@contextlib.asynccontextmanager
async def running(sandbox: Sandbox, **overrides: Any) -> AsyncIterator[RemindersRuntime]:
    # the fixed clock is a test hook (refused unless test hooks are on)
    settings = {"today": TODAY, "test_hooks": True, "jobs_poll_interval_s": 0.1, **overrides}
    if "database_url" not in overrides:
        await sandbox.migrated("reminders")  # the schema copied while the database is new
    runtime = build(Settings(**sandbox.settings_kwargs(**settings)))
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@contextlib.asynccontextmanager
async def api_client(runtime: RemindersRuntime) -> AsyncIterator[httpx.AsyncClient]:
    app = http_app(runtime, title="reminders (test)")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://reminders", headers={"Authorization": f"Bearer {API_TOKEN}"}
    ) as client:
        yield client


async def finished_job(api: httpx.AsyncClient, response: httpx.Response, timeout: float = 60.0) -> dict[str, Any]:
    """Follow a job a POST started (202 + Location) to its end; its summary."""
    assert response.status_code == 202, response.text
    url = response.headers["location"]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        job = (await api.get(url)).json()
        if job["state"] in ("done", "failed"):
            break
        assert asyncio.get_running_loop().time() < deadline, job
        await asyncio.sleep(0.1)
    assert job["state"] == "done", job
    summary: dict[str, Any] = (await api.get(f"/reminders{url}/summary")).json()
    return summary
