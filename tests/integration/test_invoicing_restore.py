"""Backup and restore of the invoicing database (issue 18, item 6), on real Kafka and
PostgreSQL with the real ``pg_dump -Fc`` / ``pg_restore``:

invoices 1-3 issued, a draft made -> dump -> invoices 4-5 issued, the draft confirmed
as 6, invoice 2 credited whole by credit note 3 000 000 001 (all on the log) -> the
service stopped, the dump restored -> the service starts, sees its series (3 and 0)
behind the log (6 and 1): issuing answers 409 ``numbering-behind-log`` (a run, a
draft's confirmation) and the daily run's job fails without issuing, ``/readyz`` stays
200 while ``/readyz/all`` shows ``numbering`` down -> ``billing invoicing reconcile``
(the CLI, as an operator runs it) rebuilds 4-6 and the credit note (invoice 2 credited
again) and moves both series; run again, it changes nothing -> the running service
issues 7 without a restart, and no number is on the log twice or differs between the
log and the database.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from billing_cli.main import app as cli
from services.invoicing.app import SPEC, build, http_app
from services.invoicing.config import Settings
from services.invoicing.handlers.runs import DAILY
from shared.db.migrations import upgrade
from shared.events import topics
from shared.runtime import Runtime
from tests.integration.test_invoicing_flow import run
from tests.support.credentials import as_clerk
from tests.support.isolation import API_TOKEN, Sandbox
from tests.support.kafka import read_topic, wait_for
from tests.support.sales import seed_ready

pytestmark = pytest.mark.integration

PG_BIN = Path(os.environ.get("BILLING_PG_BIN", "/usr/lib/postgresql/15/bin"))
FIRST = 1_000_000_001
CREDIT = 3_000_000_001  # the corrective series' first number
REQUEST = "S-Rsubscription-{}"  # seed_ready's request ids


def _tool(name: str) -> str:
    found = PG_BIN / name if (PG_BIN / name).exists() else shutil.which(name)
    assert found, f"{name} not found in {PG_BIN} nor on PATH (PostgreSQL client binaries)"
    return str(found)


async def pg_tool(tool: str, *args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        _tool(tool), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, f"{tool} exited {proc.returncode}: {out.decode(errors='replace')}"


@asynccontextmanager
async def service(sandbox: Sandbox) -> AsyncIterator[tuple[Runtime[Any], httpx.AsyncClient]]:
    runtime = build(Settings(**sandbox.settings_kwargs(daily_run_enabled=False, jobs_poll_interval_s=0.1)))
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=http_app(runtime, title="invoicing (restore test)"))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://invoicing", headers={"Authorization": f"Bearer {API_TOKEN}"}
        ) as api:
            yield runtime, api
    finally:
        await runtime.stop()


def confirm_of(*customers: int) -> dict[str, Any]:
    return {"kind": "subscription", "mode": "confirm", "request_ids": [REQUEST.format(i) for i in customers]}


async def published_numbers(sandbox: Sandbox, expect: int) -> list[int]:
    records = await read_topic(
        sandbox.bootstrap,
        sandbox.topic(topics.INVOICES.name),
        expect=expect,
        settle=0.5,
        where=lambda r: dict(r.headers).get("ce_type", b"").endswith(b"invoice-issued.v1"),
    )
    return sorted(int(json.loads(r.value or b"{}")["invoice"]["invoice_number"]) for r in records)


async def db_numbers(sandbox: Sandbox) -> list[int]:
    return [r[0] for r in await sandbox.fetch("SELECT number FROM invoices WHERE number IS NOT NULL ORDER BY number")]


async def state(sandbox: Sandbox) -> list[Any]:
    """Everything reconcile may touch, to see that a second run changes nothing."""
    return [
        [tuple(r) for r in await sandbox.fetch(q)]
        for q in (
            "SELECT id, status, number, reference, gross, paid, payment_status, confirmed_by FROM invoices ORDER BY id",
            "SELECT invoice_id, line_no, request_id, request_line, quantity, net FROM invoice_lines ORDER BY 1, 2",
            "SELECT request_id, status, invoice_id FROM billing_requests ORDER BY 1",
            "SELECT series, last_value FROM invoice_series ORDER BY 1",
        )
    ]


async def reconcile(sandbox: Sandbox) -> str:
    env = {
        "INVOICING_DATABASE_URL": sandbox.db_url,
        "INVOICING_KAFKA_BOOTSTRAP_SERVERS": sandbox.bootstrap,
        "INVOICING_KAFKA_TOPIC_PREFIX": sandbox.prefix,
        "INVOICING_KAFKA_GROUP_PREFIX": sandbox.prefix,
    }
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["invoicing", "reconcile", "--timeout", "60"], env=env)
    assert result.exit_code == 0, result.output
    return result.output


async def restore(sandbox: Sandbox, dump: Path) -> None:
    """Drop and recreate the database, then ``pg_restore`` the dump into it (over TCP)."""
    admin = await asyncpg.connect(sandbox.servers.admin_url)
    try:
        await admin.execute(f'DROP DATABASE "{sandbox.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{sandbox.database}"')
    finally:
        await admin.close()
    await pg_tool("pg_restore", "--no-owner", "--exit-on-error", "-d", sandbox.plain_db_url, str(dump))


async def test_restored_database_refuses_numbers_until_reconcile(sandbox: Sandbox, tmp_path: Path) -> None:
    await upgrade(SPEC.migrations_dir, sandbox.db_url)
    await seed_ready(sandbox, 7, invoice_date=date(2026, 11, 2))
    dump = tmp_path / "invoicing.dump"

    async with service(sandbox) as (_, api):
        await run(api, **confirm_of(1, 2, 3))
        draft_run = await run(api, kind="subscription", mode="draft", request_ids=[REQUEST.format(6)])
        drafted = (await api.get(f"/billing-runs/{draft_run['job']['id']}/invoices")).json()["items"]
        [draft_id] = [i["id"] for i in drafted]
        assert await published_numbers(sandbox, 3) == [FIRST, FIRST + 1, FIRST + 2]  # the outbox is drained
        await pg_tool("pg_dump", "-Fc", "-f", str(dump), "-d", sandbox.plain_db_url)

        await run(api, **confirm_of(4, 5))
        confirmed = await api.post(f"/invoices/{draft_id}/confirm", headers=as_clerk("clerk-1"))
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["number"] == FIRST + 5
        second = (await api.get("/invoices", params={"number": FIRST + 1})).json()["items"][0]["id"]
        made = await api.post(f"/invoices/{second}/corrective", json={"return_mode": "non-chargeable"})
        credit = await api.post(f"/invoices/{made.json()['id']}/confirm")  # untouched: reverses it whole
        assert (credit.json()["document_type"], credit.json()["number"]) == ("credit-note", CREDIT)
        on_log = await published_numbers(sandbox, 7)
    assert on_log == [*range(FIRST, FIRST + 6), CREDIT]

    await restore(sandbox, dump)
    assert await db_numbers(sandbox) == [FIRST, FIRST + 1, FIRST + 2]  # the backup's world

    async with service(sandbox) as (runtime, api):
        refused = await api.post("/billing-runs", json=confirm_of(4, 5, 7), headers=as_clerk("clerk-1"))
        assert refused.status_code == 409, refused.text
        detail = refused.json()["detail"]
        assert detail["code"] == "numbering-behind-log"
        assert "Billing run (confirm)" in detail["message_en"] and "billing invoicing reconcile" in detail["message_en"]
        assert "Laskutusajo" in detail["message_fi"] and "billing invoicing reconcile" in detail["message_fi"]
        assert (await api.post(f"/invoices/{draft_id}/confirm", headers=as_clerk("c"))).json()["detail"][
            "code"
        ] == "numbering-behind-log"
        ready, everything = await api.get("/readyz"), await api.get("/readyz/all")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert everything.status_code == 503 and everything.json()["checks"]["numbering"] == "down"
        assert behind_gauge((await api.get("/metrics")).text) == {"subscription": 3, "notice": 0, "corrective": 1}
        # the daily run (a job) refuses too, and issues nothing: S-4, S-5, S-7 are ready here
        job, _ = await runtime.jobs.start_job(
            DAILY, {"date": "2026-11-30", "kinds": ["subscription"], "mode": "confirm"}, key="daily-test"
        )
        failed = await _job_end(api, f"/jobs/{job.id}")
        assert failed["state"] == "failed" and failed["error"].startswith("numbering-behind-log"), failed
        assert await db_numbers(sandbox) == [FIRST, FIRST + 1, FIRST + 2]
        assert await sandbox.scalar("SELECT count(*) FROM billing_runs WHERE mode = 'confirm'") == 1

        first = await reconcile(sandbox)
        print(first)  # what an operator reads (pytest -rP shows it)
        assert "3 already present, 4 rebuilt (1 of them replacing the draft confirmed after the backup)" in first
        assert f"rebuilt numbers subscription: {FIRST + 3}..{FIRST + 5}" in first
        assert f"rebuilt numbers corrective: {CREDIT}..{CREDIT}" in first
        assert "series subscription: counter 3 -> 6 (highest on the log 6)" in first
        assert "series corrective: counter 0 -> 1 (highest on the log 1)" in first
        assert "3 request(s) marked invoiced" in first
        assert "balances refreshed on 1 invoice(s)" in first  # the credit note's original
        credited = await sandbox.fetch("SELECT credited, payment_status FROM invoices WHERE number = $1", FIRST + 1)
        assert [tuple(r) for r in credited] == [(Decimal("-33.00"), "credited")]
        reversal = await sandbox.fetch(
            "SELECT l.request_id, l.request_line, l.quantity, l.reversal FROM invoice_lines l "
            "JOIN invoices i ON i.id = l.invoice_id WHERE i.number = $1",
            CREDIT,
        )
        assert [tuple(r) for r in reversal] == [(REQUEST.format(2), 0, Decimal(-1), True)]
        after_first = await state(sandbox)
        second = await reconcile(sandbox)
        assert "0 rebuilt" in second and "nothing to do" in second
        assert await state(sandbox) == after_first

        # the same process notices: no restart
        assert (await api.get("/readyz/all")).status_code == 200
        assert behind_gauge((await api.get("/metrics")).text)["subscription"] == 0
        assert (
            await sandbox.scalar(
                "SELECT count(*) FROM billing_requests WHERE request_id = ANY($1) AND status = 'invoiced'",
                [REQUEST.format(i) for i in (4, 5, 6)],
            )
            == 3
        )
        again = await run(api, **confirm_of(4, 5, 7))  # 4 and 5 are invoiced now: only 7 is billed
        assert again["summary"]["invoices"] == 1
        assert await db_numbers(sandbox) == [*range(FIRST, FIRST + 7), CREDIT]
        on_log = await published_numbers(sandbox, 8)
    assert on_log == [*range(FIRST, FIRST + 7), CREDIT]  # each number once on the log, the same as the database
    lines = await sandbox.fetch(
        "SELECT l.request_id, i.number FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id "
        "WHERE NOT l.corrective ORDER BY 1"
    )
    assert [(r[0], r[1]) for r in lines] == [(REQUEST.format(i), FIRST + i - 1) for i in range(1, 8)]


def behind_gauge(exposition: str) -> dict[str, float]:
    return {
        sample.labels["series"]: sample.value
        for family in text_string_to_metric_families(exposition)
        if family.name == "billing_invoice_numbering_behind"
        for sample in family.samples
    }


async def _job_end(api: httpx.AsyncClient, url: str) -> dict[str, Any]:
    async def ended() -> dict[str, Any] | None:
        job: dict[str, Any] = (await api.get(url)).json()
        return job if job["state"] in ("done", "failed") else None

    result: dict[str, Any] = await wait_for(ended, timeout=30)
    return result
