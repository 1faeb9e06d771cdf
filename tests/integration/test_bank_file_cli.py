"""``billing payments import FILE [--dry-run]`` and ``billing payments files`` against a
real invoicing process on the stack's Kafka and PostgreSQL: the preview table, the
import, the same file again, a malformed file refused with its line (exit 1), the list."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from billing_cli.main import app as cli
from tests.integration.test_bank_file_import import entry, viitesiirto
from tests.integration.test_invoicing_flow import run
from tests.integration.test_invoicing_lifecycle import PAPER
from tests.support.isolation import API_TOKEN, Sandbox, ServiceProcess
from tests.support.kafka import Publisher, wait_for
from tests.support.sales import Inbound, profile, request

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(sandbox: Sandbox, log_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    """A real invoicing process; the CLI finds it through ``BILLING_INVOICING_URL``."""
    await sandbox.migrated("invoicing")
    proc = ServiceProcess(sandbox, "invoicing", log_dir, daily_run_enabled=False, jobs_poll_interval_s=0.1).start()
    try:
        await proc.wait_ready()
        monkeypatch.setenv("BILLING_INVOICING_URL", proc.url)
        monkeypatch.setenv("BILLING_TOKEN", API_TOKEN)
        async with httpx.AsyncClient(base_url=proc.url, headers={"Authorization": f"Bearer {API_TOKEN}"}) as c:
            yield c
    finally:
        proc.stop()


async def billing(*args: str, code: int = 0) -> str:
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["payments", *args])
    assert result.exit_code == code, f"exit {result.exit_code}:\n{result.output}"
    return result.output


async def test_import_previews_imports_once_refuses_the_malformed_and_lists(
    sandbox: Sandbox, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.profiles(profile("K-1"))
        await inbound.requests(request("KR1", "K-1", lines=(PAPER,)))

        async def ready() -> bool:
            return (await api.get("/billing-requests", params={"kind": "subscription"})).json()["ready"] == 1

        await wait_for(ready, timeout=30)
    await run(api, kind="subscription", mode="confirm")
    (invoice,) = (await api.get("/invoices")).json()["items"]
    number = str(invoice["number"])
    good = tmp_path / "viitteet.txt"
    good.write_bytes(
        viitesiirto(
            "202612040615-47-123456789",
            entry("261203ABCD000011", invoice["reference"], "33.00", on=date(2026, 12, 3)),
            entry("261203ABCD000012", "12345672", "7.00", on=date(2026, 12, 3)),
        )
    )

    dry = await billing("import", str(good), "--dry-run", "--lang", "en")
    lines = dry.splitlines()
    assert lines[0] == "viitteet.txt (viitesiirto, 202612040615-47-123456789): 2 payment(s) 40.00, 0 reversal(s) 0.00"
    assert lines[1].split() == [
        "Where",
        "Archive",
        "id",
        "Date",
        "Amount",
        "Reference",
        "Outcome",
        "Invoice",
        "Payer",
        "Reason",
    ]
    ref = invoice["reference"]
    assert lines[2].split()[:8] == ["line", "2", "261203ABCD000011", "2026-12-03", "33.00", ref, "matched", number]
    assert lines[3].split()[:7] == ["line", "3", "261203ABCD000012", "2026-12-03", "7.00", "12345672", "unmatched"]
    assert "No invoice has this reference." in lines[3]
    assert lines[-1] == "Dry run (--dry-run): nothing recorded."
    assert await sandbox.scalar("SELECT count(*) FROM bank_files") == 0

    done = await billing("import", str(good), "--lang", "en")
    assert done.splitlines()[-1].startswith("Import 1: 2 recorded, 0 repeated")
    again = await billing("import", str(good))
    assert again.splitlines()[-1] == "Tiedosto on jo tuotu (tuonti 1): mitään ei kirjattu uudelleen."

    bad = tmp_path / "rikki.txt"
    records = good.read_bytes().split(b"\r\n")
    records[2] = records[2][:77] + b"x" + records[2][78:]  # a letter in the amount (positions 78-87)
    bad.write_bytes(b"\r\n".join(records))
    refused = await billing("import", str(bad), "--lang", "en", code=1)
    assert refused.startswith("HTTP 422: line 3: "), refused
    finnish = await billing("import", str(bad), code=1)
    assert finnish.startswith("HTTP 422: rivi 3: ") and "line 3" not in finnish, finnish
    body = json.loads(await billing("import", str(bad), "--dry-run", "--json", code=1))
    assert body["detail"]["code"] == "bank-file-invalid" and body["detail"]["where"] == "line 3", body
    assert body["detail"]["message_fi"] and body["detail"]["message_en"]
    assert await sandbox.scalar("SELECT count(*) FROM bank_files") == 1

    async def taken() -> bool:
        return await sandbox.scalar("SELECT count(*) FROM payments") == 2

    await wait_for(taken, timeout=30)
    listing = (await billing("files", "--lang", "en")).splitlines()
    assert listing[0] == "1 imported file(s)"
    row = listing[2].split()
    assert row[0] == "1" and row[-9:] == ["2", "40.00", "0", "1", "1", "0", "0", "0", "tests"], listing
    detail = (await billing("file", "1", "--lang", "en")).splitlines()
    assert detail[0].startswith("Import 1: viitteet.txt (viitesiirto, "), detail
    entries = [line for line in detail[3:] if line.strip()]
    assert len(entries) == 2 and entries[0].split()[:3] == ["1", "line", "2"], detail
    assert sorted(line.split()[7] for line in entries) == ["matched", "unmatched"], detail
    missing = json.loads(await billing("file", "999", "--json", code=1))
    assert missing["detail"]["code"] == "bank-file-not-found", missing

    # review H3: a correction on another reference (the payment is not found: it waits),
    # then the clerk applies it with `billing invoicing apply-reversal`
    wrong = tmp_path / "oikaisu.txt"
    wrong.write_bytes(
        viitesiirto(
            "202612050615-47-123456789",
            entry("261205ABCD000019", "55505", "7.00", on=date(2026, 12, 5), reversal=True),
        )
    )
    await billing("import", str(wrong), "--lang", "en")

    async def waiting() -> bool:
        return await sandbox.scalar("SELECT reason FROM payments WHERE kind = 'reversal'") == "reversal-unknown"

    await wait_for(waiting, timeout=30)
    args = ["invoicing", "apply-reversal", "R:261205ABCD000019", "--payment", "261203ABCD000012", "--lang", "en"]
    applied = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert applied.exit_code == 0, applied.output
    assert applied.output.strip() == "Reversal R:261205ABCD000019 (7.00) applied to payment 261203ABCD000012."
    rows = await sandbox.fetch("SELECT payment_id, status, reverses_payment_id FROM payments ORDER BY payment_id")
    assert [tuple(r) for r in rows] == [
        ("261203ABCD000011", "matched", None),
        ("261203ABCD000012", "reversed", None),
        ("R:261205ABCD000019", "reversal", "261203ABCD000012"),
    ]
    again = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert again.exit_code == 1 and "409" in again.output, again.output
