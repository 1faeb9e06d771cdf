"""The job test: a real customers process is killed (SIGKILL) in the middle of the
republish job, restarted, and the job finishes with the same result; its progress was
visible through the API while it ran. The CLI follows the resumed job to its end."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from billing_cli.main import app as cli
from services.customers.domain.rules import validate
from shared.events.customers import BillingProfileChanged, CustomerData
from shared.events.topics import BILLING_PROFILES
from tests.support.credentials import SYSTEM
from tests.support.customers import valid_company
from tests.support.isolation import API_TOKEN, Sandbox, ServiceProcess
from tests.support.kafka import read_topic, wait_for

pytestmark = pytest.mark.integration

CARDS = 2000
CHUNK = 20
KILL_AFTER_CHUNK = 50  # of 100: the process dies with half the cards published
KIND = "customers.republish-profiles"


async def load_cards(sandbox: Sandbox, n: int) -> None:
    """``n`` valid cards, written straight into the table (no profiles published yet)."""
    data = CustomerData.model_validate(valid_company())
    assert validate(data) == []
    await sandbox.fetch(
        """
        INSERT INTO customers (customer_number, name, data, version, valid, errors)
        SELECT 'J-' || lpad(i::text, 5, '0'), $1, CAST($2 AS jsonb), 1, true, '[]'::jsonb
        FROM generate_series(1, $3) AS i
        """,
        data.name,
        data.model_dump_json(),
        n,
    )


async def test_killed_mid_republish_the_job_resumes_and_publishes_every_profile_at_its_version(
    sandbox: Sandbox, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sandbox.migrated("customers")  # the schema copied while the database is new
    service = ServiceProcess(sandbox, "customers", log_dir, jobs_poll_interval_s=0.2)
    env = {"CUSTOMERS_JOBS_CHUNK_SIZES": json.dumps({KIND: CHUNK})}
    service.start(
        extra_env={**env, "BILLING_TEST_HOOKS": "on", "BILLING_FAILPOINTS": f"jobs.after_chunk.{KILL_AFTER_CHUNK}"}
    )
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    seen: list[tuple[str, int, int | None]] = []
    try:
        await service.wait_ready()
        await load_cards(sandbox, CARDS)
        monkeypatch.setenv("BILLING_CUSTOMERS_URL", service.url)
        monkeypatch.setenv("BILLING_TOKEN", API_TOKEN)  # the ops user's own credential
        started = await asyncio.to_thread(CliRunner().invoke, cli, ["customers", "republish", "--no-wait"])
        assert started.exit_code == 0, started.output
        (url,) = re.findall(r"/jobs/[0-9a-f-]{36}$", started.output.strip())
        async with httpx.AsyncClient(base_url=service.url, headers=headers) as api:

            async def progress_seen() -> bool:
                try:
                    job = (await api.get(url)).json()
                except httpx.HTTPError:  # killed already
                    return True
                seen.append((job["state"], job["done"], job["total"]))
                return 0 < job["done"] < CARDS

            await wait_for(progress_seen, timeout=60, interval=0.02)
        assert service.proc is not None
        assert await service.wait_exit(timeout=60) == -signal.SIGKILL

        # progress was visible while it ran: running, part of the cards done, of all of them
        assert any(state == "running" and 0 < done < CARDS and total == CARDS for state, done, total in seen), seen
        # the kill landed mid-job: half committed, the rest not begun
        (crashed,) = await sandbox.fetch("SELECT id, state, done, chunks, started_at FROM jobs")
        assert (crashed["state"], crashed["done"], crashed["chunks"]) == (
            "running",
            KILL_AFTER_CHUNK * CHUNK,
            KILL_AFTER_CHUNK,
        )

        service.start(extra_env=env)  # same process settings, no failpoint
        await service.wait_ready()
        followed = await asyncio.to_thread(
            CliRunner().invoke, cli, ["jobs", "show", str(crashed["id"]), "--wait", "--lang", "en"]
        )
        assert followed.exit_code == 0, followed.output
        assert re.search(rf"\bdone\s+{CARDS}/{CARDS}\b", followed.output), followed.output
        async with httpx.AsyncClient(base_url=service.url, headers=headers) as api:
            job: dict[str, Any] = (await api.get(url)).json()
        records = await read_topic(
            sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=CARDS, timeout=90, settle=2.0
        )
    finally:
        service.stop()

    assert (job["state"], job["done"], job["total"], job["failures"]) == ("done", CARDS, CARDS, 0)
    assert job["result"] == {"published": CARDS, "revalidated": 0}  # the same as a run without the crash
    assert job["actor"] == SYSTEM  # who acted: the credential the CLI called with
    assert job["started_at"] is not None
    assert (await sandbox.scalar("SELECT started_at FROM jobs")) == crashed["started_at"]  # resumed, not restarted
    # every card's profile is on the topic at least once (the relay is at least once on
    # the wire), at the card's version: no card got a new version
    profiles = {
        (p.customer_number, p.version) for p in (BillingProfileChanged.model_validate_json(r.value) for r in records)
    }
    assert profiles == {(f"J-{i:05d}", 1) for i in range(1, CARDS + 1)}
    assert await sandbox.scalar("SELECT max(version) FROM customers") == 1
    assert await sandbox.scalar("SELECT count(*) FROM customer_changes") == 0
    # the resumed run did not go over the first half again: one chunk per 20 cards, and the empty last one
    assert await sandbox.scalar("SELECT chunks FROM jobs") == CARDS // CHUNK + 1
