"""A real reminders process killed (SIGKILL) while it creates reminder #1 for 2,000
invoices, twice: once right after a chunk committed, once inside a chunk's transaction.
Restarted, the job finishes, and each invoice has exactly one reminder #1 and one
ReminderIssued (by reminder id) on the topic: the same result as without the crashes.
The clerk's CLI starts the job, follows it to its end and prints the answer."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from billing_cli.main import app as cli
from shared.events.reminders import ReminderIssued
from shared.events.topics import REMINDERS
from tests.support.credentials import SYSTEM
from tests.support.isolation import API_TOKEN, Sandbox, ServiceProcess
from tests.support.kafka import read_topic, wait_for
from tests.support.reminders_load import copy_open_items, open_item_rows

pytestmark = pytest.mark.integration

INVOICES = 2000
CHUNK = 20
KILL_AFTER_CHUNK = 50  # of 100 parts: half the reminders committed when it dies
KIND = "reminders.create"
DONE_PARTS = "SELECT count(*), sum(done) FROM job_parts WHERE state = 'done'"
TODAY = date(2026, 3, 31)  # due 16.3. + 15: reminder #1 for every consumer invoice


async def test_killed_mid_creation_each_invoice_gets_one_reminder(
    sandbox: Sandbox, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sandbox.migrated("reminders")  # the schema copied while the database is new
    service = ServiceProcess(
        sandbox, "reminders", log_dir, jobs_poll_interval_s=0.2, today=TODAY.isoformat(), test_hooks=True
    )
    env = {"REMINDERS_JOBS_CHUNK_SIZES": json.dumps({KIND: CHUNK})}
    service.start(
        extra_env={**env, "BILLING_TEST_HOOKS": "on", "BILLING_FAILPOINTS": f"jobs.after_chunk.{KILL_AFTER_CHUNK}"}
    )
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    seen: list[tuple[str, int, int | None]] = []
    try:
        await service.wait_ready()
        await copy_open_items(sandbox.plain_db_url, open_item_rows(INVOICES, due=date(2026, 3, 16)))
        monkeypatch.setenv("BILLING_REMINDERS_URL", service.url)
        monkeypatch.setenv("BILLING_TOKEN", API_TOKEN)  # the ops user's own credential
        listed = await asyncio.to_thread(
            CliRunner().invoke, cli, ["reminders", "candidates", "--level", "1", "--limit", "2", "--lang", "en"]
        )
        assert listed.exit_code == 0, listed.output
        # 63.37 + 5.00 + 15 days at 9.5 % (0.25) = 68.62 each; 2,000 x 68.62 = 137,240.00
        assert "Candidates for reminder #1: 2000, 137240.00 € in all. Left out: 0." in listed.output
        started = await asyncio.to_thread(
            CliRunner().invoke, cli, ["reminders", "create", "--level", "1", "--all", "--no-wait"]
        )
        assert started.exit_code == 0, started.output
        (url,) = re.findall(r"/jobs/[0-9a-f-]{36}$", started.output.strip())
        async with httpx.AsyncClient(base_url=service.url, headers=headers) as api:

            async def progress_seen() -> bool:
                try:
                    job = (await api.get(url)).json()
                except httpx.HTTPError:  # killed already
                    return True
                seen.append((job["state"], job["done"], job["total"]))
                return 0 < job["done"] < INVOICES

            await wait_for(progress_seen, timeout=60, interval=0.02)
        assert await service.wait_exit(timeout=60) == -signal.SIGKILL
        assert any(s == "running" and 0 < d < INVOICES and t == INVOICES for s, d, t in seen), seen
        (crashed,) = await sandbox.fetch("SELECT id, state, started_at FROM jobs")
        assert crashed["state"] == "running"
        # the job is partitioned: what committed is its done parts (the job row's progress is
        # recomputed from them after each part, so it may lag the last part by one)
        assert await sandbox.fetch(DONE_PARTS) == [(KILL_AFTER_CHUNK, KILL_AFTER_CHUNK * CHUNK)]
        assert await sandbox.scalar("SELECT count(*) FROM reminders") == KILL_AFTER_CHUNK * CHUNK

        # second crash: inside the next chunk's transaction, after its reminders and outbox rows were written
        service.start(
            extra_env={**env, "BILLING_TEST_HOOKS": "on", "BILLING_FAILPOINTS": "reminders.create.before_commit"}
        )
        assert await service.wait_exit(timeout=60) == -signal.SIGKILL
        # that part never committed
        assert await sandbox.fetch(DONE_PARTS) == [(KILL_AFTER_CHUNK, KILL_AFTER_CHUNK * CHUNK)]
        assert await sandbox.scalar("SELECT count(*) FROM reminders") == KILL_AFTER_CHUNK * CHUNK

        service.start(extra_env=env)
        await service.wait_ready()
        followed = await asyncio.to_thread(
            CliRunner().invoke, cli, ["jobs", "show", str(crashed["id"]), "--service", "reminders", "--wait"]
        )
        assert followed.exit_code == 0, followed.output
        answer = await asyncio.to_thread(
            CliRunner().invoke, cli, ["reminders", "summary", str(crashed["id"]), "--lang", "fi"]
        )
        assert answer.exit_code == 0, answer.output
        async with httpx.AsyncClient(base_url=service.url, headers=headers) as api:
            job: dict[str, Any] = (await api.get(url)).json()
        records = await read_topic(
            sandbox.bootstrap, sandbox.topic(REMINDERS.name), expect=INVOICES, timeout=90, settle=2.0
        )
    finally:
        service.stop()

    assert "Maksumuistutuksia #1 luotiin 2000 kpl." in answer.output
    assert (job["state"], job["done"], job["total"], job["failures"]) == ("done", INVOICES, INVOICES, 0)
    assert job["result"] == {"created:1": INVOICES}  # the same as a run without the crashes
    assert job["actor"] == SYSTEM  # who acted: the credential the CLI called with
    assert (await sandbox.scalar("SELECT started_at FROM jobs")) == crashed["started_at"]  # resumed, not restarted
    counts = await sandbox.fetch("SELECT count(*) AS n, count(DISTINCT invoice_id) AS invoices FROM reminders")
    assert (counts[0]["n"], counts[0]["invoices"]) == (INVOICES, INVOICES)
    assert await sandbox.scalar("SELECT count(*) FROM open_items WHERE last_level = 1") == INVOICES
    # every reminder on the topic at least once (the relay is at least once on the wire), one per invoice
    docs = [ReminderIssued.model_validate_json(r.value).reminder for r in records]
    assert {(d.invoice_id, d.level) for d in docs} == {(f"inv-{2_000_000_001 + i}", 1) for i in range(INVOICES)}
    assert len({d.reminder_id for d in docs}) == INVOICES
    assert {d.total_due for d in docs} == {Decimal("68.62")}
