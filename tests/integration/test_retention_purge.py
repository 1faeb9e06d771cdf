"""The daily ``retention.purge`` job against real PostgreSQL (the dispatch service, whose
preview jobs own rows that go with them): what is older than the retention goes, in
chunks; what is younger stays, and so does every job not finished."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from services.customers.app import build as build_customers
from services.customers.config import Settings as CustomersSettings
from services.dispatch.config import Settings as DispatchSettings
from services.invoicing.app import build as build_invoicing
from services.invoicing.config import Settings as InvoicingSettings
from services.reminders.app import build as build_reminders
from services.reminders.config import Settings as RemindersSettings
from shared.jobs import JobState
from shared.retention import PURGE
from tests.support.dispatch import build, dispatch_stack
from tests.support.isolation import Sandbox
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration

DAY = "interval '1 day'"


async def _seed(sandbox: Sandbox) -> dict[str, uuid.UUID]:
    # a kind this process does not run (another service version's): its runner is elsewhere
    jobs = {name: uuid.uuid4() for name in ("done_old", "failed_old", "running_old", "queued_old", "done_young")}
    await sandbox.fetch(
        f"""
        INSERT INTO dead_letters (topic, partition, "offset", key, value, headers, error_code, reason,
                                  received_at, replays, replayed_at)
        VALUES ('t', 0, 1, 'C1', 'old', '[]', 'bad-json', 'x', now() - 40 * {DAY}, 0, NULL),
               ('t', 0, 2, 'C1', 'old replayed', '[]', 'bad-json', 'x', now() - 45 * {DAY}, 1, now() - 44 * {DAY}),
               ('t', 0, 3, 'C1', 'old too', '[]', 'bad-json', 'x', now() - 31 * {DAY}, 0, NULL),
               ('t', 0, 4, 'C2', 'young', '[]', 'bad-json', 'x', now() - 29 * {DAY}, 0, NULL),
               ('t', 0, 5, 'C2', 'young replayed', '[]', 'bad-json', 'x', now() - 2 * {DAY}, 1, now() - {DAY})
        """
    )
    for name, state, finished in (
        ("done_old", "done", f"now() - 100 * {DAY}"),
        ("failed_old", "failed", f"now() - 91 * {DAY}"),
        ("running_old", "running", "NULL"),
        ("queued_old", "queued", "NULL"),
        ("done_young", "done", f"now() - 89 * {DAY}"),
    ):
        await sandbox.fetch(
            f"""
            INSERT INTO jobs (id, kind, key, state, params, actor, created_at, started_at, finished_at)
            VALUES ($1, 'test.elsewhere', $2, $3, '{{}}', 'test', now() - 200 * {DAY},
                    CASE WHEN $3 = 'queued' THEN NULL ELSE now() - 200 * {DAY} END, {finished})
            """,
            jobs[name],
            f"test.elsewhere:{name}",
            state,
        )
        for seq in range(3):
            await sandbox.fetch(
                "INSERT INTO preview_items (job_id, document_id, seq, ok) VALUES ($1, $2, $3, true)",
                jobs[name],
                f"doc-{seq}",
                seq,
            )
    await sandbox.fetch(
        f"""
        INSERT INTO inbox (consumer, source, event_id, handled_at)
        SELECT 'c', 's', 'old-' || n, now() - 31 * {DAY} FROM generate_series(1, 5) AS n
        UNION ALL SELECT 'c', 's', 'young-' || n, now() - 29 * {DAY} FROM generate_series(1, 3) AS n
        """
    )
    return jobs


async def test_the_purge_deletes_what_is_older_than_the_retention_in_chunks_and_keeps_the_rest(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # chunks of 2 rows: every table takes several transactions
    async with dispatch_stack(sandbox, tmp_path, jobs_chunk_sizes={PURGE: 2}) as stack:
        jobs = await _seed(sandbox)
        job, created = await stack.service.jobs.start_job(PURGE, actor="test")
        assert created

        async def finished() -> bool:
            found = await stack.service.jobs.get(job.id)
            return found is not None and found.state.finished

        await wait_for(finished, timeout=60)
        done = await stack.service.jobs.get(job.id)

    assert done is not None and done.state is JobState.DONE, done
    # counts only: the defaults 30 / 90 / 30 days
    assert done.result == {"dead_letters": 3, "finished_jobs": 2, "preview_items": 6, "inbox": 5}
    assert done.chunks > 3  # more than one transaction per table
    left = [r["offset"] for r in await sandbox.fetch('SELECT "offset" FROM dead_letters ORDER BY 1')]
    assert left == [4, 5]  # an unreplayed dead letter younger than 30 days stays, and a young replayed one
    states = {r["id"]: r["state"] for r in await sandbox.fetch("SELECT id, state FROM jobs WHERE kind <> $1", PURGE)}
    assert states == {
        jobs["running_old"]: "running",  # never touched, however old
        jobs["queued_old"]: "queued",
        jobs["done_young"]: "done",
    }
    owners = {r["job_id"] for r in await sandbox.fetch("SELECT DISTINCT job_id FROM preview_items")}
    assert owners == {jobs["running_old"], jobs["queued_old"], jobs["done_young"]}
    assert await sandbox.scalar("SELECT count(*) FROM inbox WHERE event_id LIKE 'young-%'") == 3
    assert await sandbox.scalar("SELECT count(*) FROM inbox") == 3


async def test_every_service_schedules_the_purge_daily(sandbox: Sandbox, tmp_path: Path) -> None:
    kwargs = {**sandbox.settings_kwargs(), "retention_purge_enabled": True, "jobs_schedule": {PURGE: "02:15"}}
    runtimes = [
        build_customers(CustomersSettings(**kwargs)),
        build_invoicing(InvoicingSettings(**kwargs)),
        build_reminders(RemindersSettings(**kwargs)),
        build(DispatchSettings(**{**kwargs, "einvoice_folder": str(tmp_path), "print_folder": str(tmp_path)})),
    ]
    for runtime in runtimes:
        schedules = [s for s in runtime.jobs.schedules if s.kind == PURGE]
        assert [s.at.isoformat() for s in schedules] == ["02:15:00"], runtime.spec.name
        params = schedules[0].params(__import__("datetime").date(2026, 12, 1))
        assert params["dead_letter_retention_days"] == 30 and params["finished_job_retention_days"] == 90
        await runtime.engine.dispose()
