"""The create job as a partitioned job on real Kafka and PostgreSQL.

Two runners (two reminders runtimes on one database, as two replicas) take the parts of
one job: each invoice gets exactly one reminder #1 (none twice, none missed), one
``ReminderIssued`` each on the topic, and the job's result counts every one. And one
item whose stored customer snapshot is broken is skipped (``bad_data``, a failure)
while the other items of its part are reminded."""

from __future__ import annotations

import json
from datetime import date

import pytest

from services.reminders import handlers
from services.reminders.app import SPEC
from shared.db.migrations import upgrade
from shared.events.reminders import ReminderIssued
from shared.events.topics import REMINDERS
from shared.limits import MAX_AMOUNT
from tests.support.isolation import Sandbox
from tests.support.kafka import read_topic, wait_for
from tests.support.reminders_load import copy_open_items, open_item_rows
from tests.support.reminders_runtime import running

pytestmark = pytest.mark.integration

DAY = date(2026, 3, 31)  # due 16.3. + 15: reminder #1 for every consumer invoice
INVOICES = 600
CHUNK = 10  # 60 parts: both runners are polling long before the last is taken
FIRST = 2_000_000_001


async def test_two_runners_share_one_create_job_each_invoice_reminded_once(sandbox: Sandbox) -> None:
    await upgrade(SPEC.migrations_dir, sandbox.db_url)
    await copy_open_items(sandbox.plain_db_url, open_item_rows(INVOICES, due=date(2026, 3, 16)))
    settings = {
        "today": DAY,
        "jobs_poll_interval_s": 0.05,
        "jobs_chunk_sizes": {handlers.JOB_CREATE: CHUNK},
        "run_migrations_on_start": False,
    }
    async with running(sandbox, **settings) as first, running(sandbox, **settings):
        job, _ = await first.jobs.start_job(
            handlers.JOB_CREATE, handlers.create_params([1], DAY, None), actor="clerk-1"
        )
        await wait_for(lambda: sandbox.has(f"SELECT state FROM jobs WHERE id = '{job.id}'", "done"), timeout=120)
        records = await read_topic(sandbox.bootstrap, sandbox.topic(REMINDERS.name), expect=INVOICES, settle=1.0)

    (row,) = await sandbox.fetch("SELECT done, failures, result FROM jobs")
    assert (row["done"], row["failures"], json.loads(row["result"])) == (INVOICES, 0, {"created:1": INVOICES})
    parts = await sandbox.fetch("SELECT runner, count(*) AS n FROM job_parts WHERE state = 'done' GROUP BY runner")
    assert sum(p["n"] for p in parts) == INVOICES // CHUNK + 1  # the ranges, and the open end after the last cut
    counts = await sandbox.fetch("SELECT count(*) AS n, count(DISTINCT (invoice_id, level)) AS d FROM reminders")
    assert (counts[0]["n"], counts[0]["d"]) == (INVOICES, INVOICES)  # none twice
    reminded = {r[0] for r in await sandbox.fetch("SELECT invoice_id FROM reminders WHERE level = 1")}
    assert reminded == {f"inv-{FIRST + i}" for i in range(INVOICES)}  # none missed
    assert await sandbox.scalar("SELECT count(*) FROM open_items WHERE last_level = 1") == INVOICES
    docs = [ReminderIssued.model_validate_json(r.value).reminder for r in records]
    assert sorted(d.invoice_id for d in docs) == sorted(reminded)  # one event each, no copy
    sql = "SELECT document::text AS doc FROM reminders WHERE invoice_id = $1"
    stored = await sandbox.fetch(sql, docs[0].invoice_id)
    assert json.loads(stored[0]["doc"]) == json.loads(docs[0].model_dump_json())  # the document as sent


async def test_one_broken_item_is_skipped_and_its_part_goes_on(sandbox: Sandbox) -> None:
    await upgrade(SPEC.migrations_dir, sandbox.db_url)
    await copy_open_items(sandbox.plain_db_url, open_item_rows(20, due=date(2026, 3, 16)))
    broken = f"inv-{FIRST + 7}"
    no_data = '{"customer_number": "K", "consumer": true}'  # valid JSON, but no customer the contract accepts
    await sandbox.fetch("UPDATE open_items SET customer = CAST($2 AS jsonb) WHERE invoice_id = $1", broken, no_data)
    async with running(sandbox, today=DAY, jobs_poll_interval_s=0.05, run_migrations_on_start=False) as runtime:
        job, _ = await runtime.jobs.start_job(handlers.JOB_CREATE, handlers.create_params([1], DAY, None))
        await wait_for(lambda: sandbox.has(f"SELECT state FROM jobs WHERE id = '{job.id}'", "done"), timeout=60)
    (row,) = await sandbox.fetch("SELECT failures, result FROM jobs")
    assert (row["failures"], json.loads(row["result"])) == (1, {"created:1": 19, "skipped:1:bad_data": 1})
    reminded = {r[0] for r in await sandbox.fetch("SELECT invoice_id FROM reminders")}
    assert reminded == {f"inv-{FIRST + i}" for i in range(20)} - {broken}
    summary = handlers.summary(json.loads(row["result"]))
    assert summary["levels"][0]["skipped"][0]["reason"] == "bad_data"


async def test_items_whose_reminder_breaks_the_contract_are_skipped_and_their_part_goes_on(sandbox: Sandbox) -> None:
    """The reminder is built without validation when a cheap check passes; an item whose
    document would break the event contract (an amount over the Money limit, a reference
    not of the contract's pattern) is skipped as ``bad_data``, as when every reminder
    was validated, instead of a committed reminder whose event dispatch dead-letters."""
    await upgrade(SPEC.migrations_dir, sandbox.db_url)
    await copy_open_items(sandbox.plain_db_url, open_item_rows(20, due=date(2026, 3, 16)))
    too_big, bad_reference = f"inv-{FIRST + 3}", f"inv-{FIRST + 11}"
    over_limit = MAX_AMOUNT * 2  # a Money amount is at most MAX_AMOUNT; the column holds more
    sql = "UPDATE open_items SET gross = $2, open_amount = $2 WHERE invoice_id = $1"
    await sandbox.fetch(sql, too_big, over_limit)
    await sandbox.fetch("UPDATE open_items SET reference = 'A' || reference WHERE invoice_id = $1", bad_reference)
    async with running(sandbox, today=DAY, jobs_poll_interval_s=0.05, run_migrations_on_start=False) as runtime:
        job, _ = await runtime.jobs.start_job(handlers.JOB_CREATE, handlers.create_params([1], DAY, None))
        await wait_for(lambda: sandbox.has(f"SELECT state FROM jobs WHERE id = '{job.id}'", "done"), timeout=60)
        records = await read_topic(sandbox.bootstrap, sandbox.topic(REMINDERS.name), expect=18, settle=1.0)
    (row,) = await sandbox.fetch("SELECT failures, result FROM jobs")
    assert (row["failures"], json.loads(row["result"])) == (2, {"created:1": 18, "skipped:1:bad_data": 2})
    reminded = {r[0] for r in await sandbox.fetch("SELECT invoice_id FROM reminders")}
    assert reminded == {f"inv-{FIRST + i}" for i in range(20)} - {too_big, bad_reference}
    sent = sorted(ReminderIssued.model_validate_json(r.value).reminder.invoice_id for r in records)
    assert sent == sorted(reminded)  # every event sent reads back under the contract
