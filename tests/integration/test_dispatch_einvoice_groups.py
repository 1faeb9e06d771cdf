"""The Finvoice worker writes its drop-folder files in groups and records each group
once its files are on disk. A real worker process killed (SIGKILL) after a group was
written and before it was recorded, then restarted: every document ends delivered
once, its file there once, and the files the dead worker wrote are not written a
second time (the same inode: the restarted worker found them and kept them)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from lxml import etree

from services.dispatch.finvoice.frame import split
from tests.support import documents as d
from tests.support.dispatch import WorkerProcess, dispatch_stack, publish
from tests.support.isolation import Sandbox

pytestmark = pytest.mark.integration

XSD = Path(__file__).resolve().parents[2] / "services/dispatch/finvoice/schema/Finvoice3.0.xsd"


def einvoices(n: int) -> list[d.InvoiceDocument]:
    return [d.invoice(1000000500 + k, who=d.customer(f"E-{k}", d.COMPANY)) for k in range(n)]


async def test_a_worker_killed_between_writing_a_group_and_recording_it_loses_and_repeats_nothing(
    sandbox: Sandbox, tmp_path: Path, log_dir: Path
) -> None:
    n = 60
    async with dispatch_stack(sandbox, tmp_path) as stack:
        folder = Path(stack.settings["einvoice_folder"])
        env = {
            "einvoice_folder": str(folder),
            "consumer_max_records": 30,
            "jobs_poll_interval_s": 0.2,
            "worker_concurrency": json.dumps({"einvoice": 8}),  # groups of at most 4
        }
        worker = WorkerProcess(sandbox, "einvoice", log_dir, **env)
        # killed once the 10th file is on disk, before its group is recorded
        worker.start(extra_env={"BILLING_TEST_HOOKS": "on", "BILLING_FAILPOINTS": "dispatch.after_send.10"})
        try:
            await worker.wait_ready()
            await publish(sandbox, einvoices(n))
            await stack.wait_arrived(n)
            answer = (await stack.api.post("/sending/einvoice/send", json={"all": True})).json()
            assert await worker.wait_exit(timeout=60) == -signal.SIGKILL
            before = {p.name: p.stat().st_ino for p in folder.iterdir() if not p.name.startswith(".")}
            recorded = await sandbox.scalar("SELECT count(*) FROM documents WHERE state = 'delivered'")
            in_flight = await sandbox.scalar("SELECT count(*) FROM documents WHERE state = 'sending'")
            assert len(before) >= 10  # the group with the 10th file is on disk ...
            assert recorded < len(before)  # ... and not recorded
            assert in_flight > 0
            worker.start()  # the same worker again, without the failpoint
            await worker.wait_ready()
            job = await stack.job(answer["job"]["url"], timeout=120)
        finally:
            worker.stop()
    assert (job["state"], job["done"], job["failures"]) == ("done", n, 0)
    assert job["result"]["delivered"] == n

    ids = [r["id"] for r in await sandbox.fetch("SELECT id FROM documents WHERE state = 'delivered'")]
    files = {p.name: p.stat().st_ino for p in folder.iterdir()}
    assert sorted(files) == sorted(f"finvoice-{i}.xml" for i in ids) and len(ids) == n  # each once, no temp file
    assert {name: files[name] for name in before} == before  # none written a second time
    resumed = await sandbox.scalar("SELECT count(*) FROM delivery_attempts WHERE resumed")
    abandoned = await sandbox.scalar("SELECT count(*) FROM delivery_attempts WHERE outcome = 'abandoned'")
    assert resumed == abandoned == in_flight  # each claimed one taken over once
    assert await sandbox.scalar("SELECT count(*) FROM delivery_attempts WHERE outcome = 'delivered'") == n
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    for name in files:
        _, body = split((folder / name).read_bytes())
        schema.assertValid(etree.fromstring(body.lstrip()))
