"""E-invoice and print workers render in other processes (``channels/offload.py``): the
same render as in the worker's own process, the same refusals, and a pool whose child
died is made again for the next try."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from lxml import etree

from services.dispatch import formats
from services.dispatch.channels.base import Rendered
from services.dispatch.channels.offload import RenderPool, render_in
from services.dispatch.channels.printing import PrintChannel
from services.dispatch.config import Settings, default_renderers
from services.dispatch.cores import available_cores
from services.dispatch.domain.documents import from_invoice, stored_document
from services.dispatch.domain.outcomes import Failed
from services.dispatch.records import Claim
from shared.events.customers import CustomerData
from tests.support import documents as d

SETTINGS = {"database_url": "postgresql+asyncpg://u:p@127.0.0.1:9/x", "kafka_bootstrap_servers": "127.0.0.1:9"}


def settings(tmp: Path, **more: object) -> Settings:
    return Settings(**SETTINGS, print_folder=str(tmp / "print"), einvoice_folder=str(tmp / "e"), **more)  # type: ignore[arg-type]


def claim_for(channel: str, who: CustomerData, number: int = 1000000001) -> Claim:
    doc = d.invoice(number, who=d.customer(f"C-{number}", who.model_copy(update={"delivery_channel": channel})))
    new = from_invoice(doc)
    payload = new.payload if isinstance(new.payload, str) else json.dumps(new.payload)
    return Claim(
        id=new.id, source=new.source, source_id=new.source_id, channel=channel, kind=new.kind,
        customer_number=new.customer_number, attempt=1, job_id=None, batch_id=None, payload=payload,
        resumed=False, recipient=None, actor=None,
    )  # fmt: skip


def test_the_default_is_one_render_process_per_core_but_one_and_zero_means_in_process(tmp_path: Path) -> None:
    assert settings(tmp_path).renderers() == default_renderers(available_cores())
    assert [default_renderers(n) for n in (1, 2, 3, 5, 64)] == [0, 1, 2, 4, 4]
    assert settings(tmp_path, render_processes=0).renderers() == 0
    assert settings(tmp_path, render_processes=3).renderers() == 3


async def test_a_pdf_rendered_in_a_child_is_the_one_rendered_here(tmp_path: Path) -> None:
    claim = claim_for("print", d.PERSON)
    pool = RenderPool("print", settings(tmp_path), 1)
    pool.start()
    try:
        there = await pool.render(claim)
    finally:
        await pool.stop()
    here = formats.pdf(stored_document(claim.source, claim.payload, claim.recipient))
    assert isinstance(there, Rendered)
    assert there.content == here and there.file_name == f"{claim.id}.pdf"


async def test_a_finvoice_built_in_a_child_is_checked_there_and_valid(tmp_path: Path) -> None:
    claim = claim_for("einvoice", d.COMPANY)
    pool = RenderPool("einvoice", settings(tmp_path), 1)
    pool.start()
    try:
        there = await pool.render(claim)
    finally:
        await pool.stop()
    assert isinstance(there, Rendered)
    assert formats.finvoice_problems(there.content) == []
    body = there.content[there.content.index(b"<?xml") :]
    assert etree.fromstring(body).findtext("InvoiceDetails/InvoiceNumber") == "1000000001"


async def test_a_document_the_channel_refuses_comes_back_as_its_failure(tmp_path: Path) -> None:
    no_address = d.PERSON.model_copy(update={"address": None})
    claim = claim_for("print", no_address)
    pool = RenderPool("print", settings(tmp_path), 1)
    pool.start()
    try:
        there = await pool.render(claim)
    finally:
        await pool.stop()
    here = await render_in(None, PrintChannel(settings(tmp_path, render_processes=0)).render, claim)
    assert isinstance(there, Failed) and there.permanent
    assert there == here


async def test_a_pool_whose_child_died_fails_the_attempt_and_is_made_again(tmp_path: Path) -> None:
    claim = claim_for("print", d.PERSON)
    pool = RenderPool("print", settings(tmp_path), 1)
    pool.start()
    try:
        await pool.render(claim)
        assert pool._pool is not None
        for pid in list(pool._pool._processes):  # the child, as the OOM killer would
            os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.5)
        with pytest.raises(BrokenProcessPool):
            await pool.render(claim)
        again = await pool.render(claim)
        assert isinstance(again, Rendered)
    finally:
        await pool.stop()


async def test_stopping_the_pool_waits_for_its_renders_without_stopping_the_event_loop(tmp_path: Path) -> None:
    pool = RenderPool("print", settings(tmp_path), 1)
    pool.start()
    assert pool._pool is not None
    busy = pool._pool.submit(time.sleep, 1.0)  # a render in progress: the stop waits for it
    stopped = False
    seen: list[bool] = []

    async def beat() -> None:
        await asyncio.sleep(0.05)
        seen.append(stopped)

    beating = asyncio.create_task(beat())
    await pool.stop()
    stopped = True
    await beating
    assert busy.done()  # the stop waited for the child's work ...
    assert seen == [False]  # ... while the loop ran other tasks (before: only after the stop)


ORPHAN_PARENT = """
import sys, time
from pathlib import Path
from services.dispatch.channels.offload import RenderPool
from services.dispatch.config import Settings
tmp = Path(sys.argv[1])
s = Settings(database_url="postgresql+asyncpg://u:p@127.0.0.1:9/x", kafka_bootstrap_servers="127.0.0.1:9",
             print_folder=str(tmp / "print"), einvoice_folder=str(tmp / "e"))
pool = RenderPool("print", s, 2)
for f in pool.start():
    f.result(60)
print(" ".join(str(p) for p in pool._pool._processes), flush=True)  # type: ignore[union-attr]
time.sleep(600)
"""


def test_render_processes_exit_when_their_worker_is_killed(tmp_path: Path) -> None:
    """SIGKILL gives the worker no chance to stop its pool: its render processes notice
    their parent is gone and exit, instead of living on as orphans."""
    import subprocess
    import sys

    parent = subprocess.Popen([sys.executable, "-c", ORPHAN_PARENT, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        children = [int(p) for p in parent.stdout.readline().split()]
        assert len(children) == 2 and all(os.path.exists(f"/proc/{p}") for p in children)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()

    def alive(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split()[2] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 30
    while any(alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in children if alive(p)] == []
