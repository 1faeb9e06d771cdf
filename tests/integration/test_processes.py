"""Every service as its own OS process on the real servers; the CLI against one of them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from billing_cli.main import app as cli
from billing_cli.services import SERVICES
from shared.events.topics import CUSTOMER_UPSERTS
from tests.support.credentials import SYSTEM, credentials
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.isolation import API_TOKEN, Sandbox, ServiceProcess
from tests.support.kafka import Publisher, ce_headers, wait_for

pytestmark = pytest.mark.integration


async def test_each_service_runs_as_its_own_process_and_reports_ready(sandbox: Sandbox, log_dir: Path) -> None:
    processes = [
        # empty databases: each process migrates its own at start (development mode)
        ServiceProcess(sandbox, name, log_dir, database_url=await sandbox.own_database(name, empty=True)).start()
        for name in SERVICES
    ]
    try:
        await asyncio.gather(*(p.wait_ready() for p in processes))
        async with httpx.AsyncClient() as client:
            for p in processes:
                ready = (await client.get(f"{p.url}/readyz/all")).json()
                checks = {"database", "kafka", "outbox_relay", "consumers"}
                if p.service == "invoicing":
                    checks.add("numbering")  # the invoice numbers against the log (issue 18, restore)
                assert ready["status"] == "ready", (p.service, ready)
                assert checks <= ready["checks"].keys(), (p.service, ready)
                assert set(ready["checks"].values()) == {"ok"}, (p.service, ready)
                serving = (await client.get(f"{p.url}/readyz")).json()
                assert serving["status"] == "ready" and "database" in serving["serving"], p.service
                assert (await client.get(f"{p.url}/healthz")).status_code == 200
                assert (await client.get(f"{p.url}/dead-letters")).status_code == 401  # a credential required
                assert (await client.get(f"{p.url}/metrics")).status_code == 401
                scraper = {"Authorization": f"Bearer {credentials().only('metrics')}"}
                metrics = (await client.get(f"{p.url}/metrics", headers=scraper)).text
                assert f'billing_outbox_pending{{service="{p.service}"}} 0.0' in metrics
    finally:
        for p in processes:
            p.stop()


async def test_clerk_fixes_a_card_from_the_command_line(
    sandbox: Sandbox, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = ServiceProcess(sandbox, "customers", log_dir).start(extra_env={"BILLING_LOG_LEVEL": "DEBUG"})
    try:
        await service.wait_ready()
        async with Publisher(sandbox.bootstrap) as pub:
            body = upsert("C-77", delivery_channel="email", email="matti@")
            await pub.send(sandbox.topic(CUSTOMER_UPSERTS.name), body, key="C-77", headers=ce_headers(UPSERT_TYPE))
        await wait_for(lambda: sandbox.scalar("SELECT count(*) FROM customers"))
        monkeypatch.setenv("BILLING_CUSTOMERS_URL", service.url)
        monkeypatch.setenv("BILLING_TOKEN", API_TOKEN)
        runner = CliRunner()

        listed = await asyncio.to_thread(runner.invoke, cli, ["customers", "invalid"])
        assert listed.exit_code == 0, listed.output
        assert "1 virheellisiä asiakkaita" in listed.output
        assert "Sähköpostiosoite on virheellinen." in listed.output

        fixed = await asyncio.to_thread(
            runner.invoke, cli, ["customers", "update", "C-77", "--set", "email=matti@example.fi"]
        )
        assert fixed.exit_code == 0, fixed.output
        assert " ok " in fixed.output

        after = await asyncio.to_thread(runner.invoke, cli, ["customers", "invalid", "--lang", "en"])
        assert "0 customers with errors" in after.output
        missing = await asyncio.to_thread(runner.invoke, cli, ["customers", "get", "C-404", "--lang", "en"])
        assert missing.exit_code == 1
        assert "Customer C-404 not found." in missing.output
    finally:
        service.stop()
    log = service.log_path.read_text()
    assert "DEBUG" in log  # the most talkative level ...
    assert "matti@" not in log  # ... and still no personal data in the service's log
    assert "Kustannus Oy Esimerkki" not in log


async def test_ops_list_show_and_replay_dead_letters_from_the_command_line(
    sandbox: Sandbox, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sandbox.migrated("customers")  # the schema copied while the database is new
    service = ServiceProcess(sandbox, "customers", log_dir).start()
    try:
        await service.wait_ready()
        topic = sandbox.topic(CUSTOMER_UPSERTS.name)
        async with Publisher(sandbox.bootstrap) as pub:
            await pub.send(topic, b'{"customer_number": "C-88"', key="C-88", headers=ce_headers(UPSERT_TYPE))
        await wait_for(lambda: sandbox.scalar("SELECT count(*) FROM dead_letters"))
        monkeypatch.setenv("BILLING_CUSTOMERS_URL", service.url)
        monkeypatch.setenv("BILLING_TOKEN", API_TOKEN)
        runner = CliRunner()

        listed = await asyncio.to_thread(runner.invoke, cli, ["dlq", "list", "customers", "--lang", "en"])
        assert listed.exit_code == 0, listed.output
        assert "1 dead letter(s)" in listed.output
        assert f"{topic}[" in listed.output
        assert "bad-json: value is not JSON" in listed.output
        dead_id = int(listed.output.splitlines()[1].split()[0])

        shown = await asyncio.to_thread(runner.invoke, cli, ["dlq", "show", "customers", str(dead_id)])
        assert json.loads(shown.output)["value"] == '{"customer_number": "C-88"'  # the record as received

        # who replays is the credential's name: --actor naming someone else is refused, nothing replayed
        posing = await asyncio.to_thread(
            runner.invoke, cli, ["dlq", "replay", "customers", str(dead_id), "--actor", "ops-1", "--lang", "en"]
        )
        assert posing.exit_code == 1 and "--actor refused (customers, HTTP 403)" in posing.output
        replayed = await asyncio.to_thread(
            runner.invoke, cli, ["dlq", "replay", "customers", str(dead_id), "--lang", "en"]
        )
        assert replayed.exit_code == 0, replayed.output
        assert "1 record(s) replayed, 0 skipped" in replayed.output
        # still not JSON: the replayed copy comes back as a new dead letter, nothing is lost
        await wait_for(lambda: sandbox.has("SELECT count(*) FROM dead_letters", 2), timeout=60)
        again = await asyncio.to_thread(runner.invoke, cli, ["dlq", "list", "customers", "--replayed", "--json"])
        assert f'"replayed_by": "{SYSTEM}"' in again.output
        none = await asyncio.to_thread(runner.invoke, cli, ["dlq", "replay", "customers"])
        assert none.exit_code != 0  # nothing chosen: refused, nothing replayed
    finally:
        service.stop()
