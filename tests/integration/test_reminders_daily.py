"""Scheduled mode: two replicas with the daily run switched on create the day's
reminders once (one job per date, however many replicas), and a restart the same day
starts nothing new."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest

from services.reminders.app import SPEC
from shared.db.migrations import upgrade
from tests.support.isolation import Sandbox
from tests.support.kafka import wait_for
from tests.support.reminders_load import copy_open_items, open_item_rows
from tests.support.reminders_runtime import running

pytestmark = pytest.mark.integration

DAY = date(2026, 3, 31)


async def test_two_replicas_run_the_daily_reminders_once_per_date(sandbox: Sandbox) -> None:
    await upgrade(SPEC.migrations_dir, sandbox.db_url)
    await copy_open_items(sandbox.plain_db_url, open_item_rows(30, due=date(2026, 3, 16)))
    settings = {
        "today": DAY,
        "test_hooks": True,
        "daily_reminders": True,
    }  # a fixed day: its run starts with the service
    async with running(sandbox, **settings), running(sandbox, **settings):
        await wait_for(lambda: sandbox.has("SELECT count(*) FROM jobs WHERE state = 'done'", 1), timeout=60)
        await asyncio.sleep(1.0)  # both replicas have ticked by now
    async with running(sandbox, **settings):  # a restart the same day
        await asyncio.sleep(1.0)
    jobs = await sandbox.fetch("SELECT kind, key, params, result, actor FROM jobs")
    assert [(j["kind"], j["key"], j["actor"]) for j in jobs] == [
        ("reminders.daily", "reminders.daily:2026-03-31", "schedule")
    ]
    (job,) = jobs
    assert json.loads(job["params"]) == {"levels": [1, 2], "date": "2026-03-31"}
    # #1 first; the same run then finds them at the step before #2, 14 days too early
    assert json.loads(job["result"]) == {"created:1": 30, "created:2": 0, "skipped:2:too_early": 30}
    assert await sandbox.scalar("SELECT count(*) FROM reminders") == 30
