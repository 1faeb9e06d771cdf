"""A Finvoice worker's batch delivered in groups (``channels/einvoice.py``
``deliver_groups`` + ``grouped.py``), with the real channel rendering in this process
and a recorder standing in for the database: a group is recorded only once its files
are in the folder under their final names, a refused document fails alone, a folder
that fails stops the batch there (the rest unavailable, back to queued), a file an
earlier attempt wrote is not written again, and a render that crashes fails the rest
of the batch as a worker error."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from services.dispatch.channels.einvoice import EInvoiceChannel
from services.dispatch.config import Settings
from services.dispatch.domain.documents import from_invoice
from services.dispatch.domain.naming import einvoice_file_name
from services.dispatch.domain.outcomes import ChannelUnavailable, Delivered, Failed
from services.dispatch.finvoice.frame import split
from services.dispatch.grouped import Group, deliver_in_groups, delivers_in_groups
from services.dispatch.records import Claim
from tests.support import documents as d

SETTINGS = {"database_url": "postgresql+asyncpg://u:p@127.0.0.1:9/x", "kafka_bootstrap_servers": "127.0.0.1:9"}
XSD = Path(__file__).resolve().parents[3] / "services/dispatch/finvoice/schema/Finvoice3.0.xsd"


def claims(n: int, *, without_address: tuple[int, ...] = ()) -> list[Claim]:
    out = []
    for k in range(n):
        data = d.COMPANY if k not in without_address else d.COMPANY.model_copy(update={"einvoice_address": None})
        new = from_invoice(d.invoice(1000000101 + k, who=d.customer(f"G-{k}", data)))
        payload = new.payload if isinstance(new.payload, str) else json.dumps(new.payload)
        out.append(
            Claim(
                id=new.id, source=new.source, source_id=new.source_id, channel="einvoice", kind=new.kind,
                customer_number=new.customer_number, attempt=1, job_id=None, batch_id=None, payload=payload,
                resumed=False,
            )
        )  # fmt: skip
    return out


class Recorder:
    """Records groups as the worker's result writer would, noting what was on disk then."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.groups: list[list[tuple[str, Any]]] = []
        self.on_disk_when_recorded: list[bool] = []
        self.sent = 0

    async def __call__(self, group: Group, took: float) -> None:
        self.groups.append([(c.id, o) for c, o in group])
        for claim, outcome in group:
            if isinstance(outcome, Delivered):
                self.on_disk_when_recorded.append((self.folder / einvoice_file_name(claim.id)).is_file())

    def count(self) -> None:
        self.sent += 1

    def outcomes(self) -> dict[str, Any]:
        return {i: o for g in self.groups for i, o in g}


async def channel(tmp_path: Path, concurrency: int = 4, processes: int = 0) -> EInvoiceChannel:
    settings = Settings(
        **SETTINGS,  # type: ignore[arg-type]
        einvoice_folder=tmp_path / "drop",
        render_processes=processes,
        worker_concurrency={"einvoice": concurrency},
    )
    ch = EInvoiceChannel(settings)
    await ch.start()
    return ch


@pytest.mark.parametrize("processes", [0, 1], ids=["in-process", "render-process"])
async def test_groups_are_recorded_once_on_disk_in_order_and_a_refused_document_fails_alone(
    tmp_path: Path, processes: int
) -> None:
    batch = claims(10, without_address=(3,))
    ch = await channel(tmp_path, concurrency=4, processes=processes)
    rec = Recorder(tmp_path / "drop")
    try:
        assert delivers_in_groups(ch)
        await deliver_in_groups(ch, batch, record=rec, sent=rec.count)
    finally:
        await ch.stop()
    assert [i for g in rec.groups for i, _ in g] == [c.id for c in batch]  # each once, in order
    assert max(len(g) for g in rec.groups) <= 2  # groups of at most half the channel's concurrency
    assert len(rec.groups) >= 5
    assert rec.on_disk_when_recorded == [True] * 9  # durable before recorded
    refused = rec.outcomes()[batch[3].id]
    assert isinstance(refused, Failed) and refused.code == "no-einvoice-address" and refused.permanent
    assert rec.sent == 9
    written = sorted(p.name for p in (tmp_path / "drop").iterdir())
    assert written == sorted(einvoice_file_name(c.id) for k, c in enumerate(batch) if k != 3)
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    for name in written:
        _, body = split((tmp_path / "drop" / name).read_bytes())
        schema.assertValid(etree.fromstring(body.lstrip()))


async def test_a_file_that_cannot_be_written_stops_the_batch_there_and_the_rest_go_back(tmp_path: Path) -> None:
    batch = claims(9)
    (tmp_path / "drop").mkdir()
    (tmp_path / "drop" / einvoice_file_name(batch[5].id)).mkdir()  # that file cannot be renamed into place
    ch = await channel(tmp_path, concurrency=4)  # groups of 2: (0, 1), (2, 3), (4, 5) ...
    rec = Recorder(tmp_path / "drop")
    try:
        with pytest.raises(ChannelUnavailable) as raised:
            await deliver_in_groups(ch, batch, record=rec, sent=rec.count)
    finally:
        await ch.stop()
    assert raised.value.code == "drop-folder"
    outcomes = rec.outcomes()
    assert set(outcomes) == {c.id for c in batch}  # every claim gets a recorded outcome
    delivered = [k for k, c in enumerate(batch) if isinstance(outcomes[c.id], Delivered)]
    assert delivered == [0, 1, 2, 3, 4]  # its group's other file (4) was written and is durable
    assert all(isinstance(outcomes[c.id], ChannelUnavailable) for c in batch[5:])  # requeued, not attempted
    assert rec.on_disk_when_recorded == [True] * 5
    assert not (tmp_path / "drop" / einvoice_file_name(batch[6].id)).exists()


async def test_a_drop_folder_that_cannot_be_created_is_the_folder_unavailable_not_a_crash(tmp_path: Path) -> None:
    batch = claims(3)
    ch = await channel(tmp_path, concurrency=4)
    (tmp_path / "drop").rmdir()
    (tmp_path / "drop").write_bytes(b"a file where the folder should be")  # mkdir fails
    rec = Recorder(tmp_path / "drop")
    try:
        with pytest.raises(ChannelUnavailable) as raised:
            await deliver_in_groups(ch, batch, record=rec, sent=rec.count)
    finally:
        await ch.stop()
    assert raised.value.code == "drop-folder"
    outcomes = rec.outcomes()
    assert set(outcomes) == {c.id for c in batch}
    assert {o.code for o in outcomes.values() if isinstance(o, ChannelUnavailable)} == {"drop-folder"}
    assert len(outcomes) == 3 and rec.sent == 0


async def test_a_resumed_document_whose_file_is_there_is_delivered_without_writing_it_again(tmp_path: Path) -> None:
    first, second = claims(2)
    first = dataclasses.replace(first, resumed=True, attempt=2)
    folder = tmp_path / "drop"
    folder.mkdir()
    there = folder / einvoice_file_name(first.id)
    there.write_bytes(b"the file the attempt that died wrote")
    inode = there.stat().st_ino
    ch = await channel(tmp_path)
    rec = Recorder(folder)
    try:
        await deliver_in_groups(ch, [first, second], record=rec, sent=rec.count)
    finally:
        await ch.stop()
    assert all(isinstance(o, Delivered) for o in rec.outcomes().values())
    assert there.read_bytes() == b"the file the attempt that died wrote" and there.stat().st_ino == inode
    assert (folder / einvoice_file_name(second.id)).stat().st_size > 1000  # a resumed one not there is written


async def test_a_render_that_crashes_fails_the_rest_of_the_batch_as_a_worker_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = claims(6)
    ch = await channel(tmp_path, concurrency=4)  # rendered 2 a task: (0, 1), (2, 3), (4, 5)
    real = ch.render

    def render(document_id: str, doc: Any) -> Any:
        if document_id == batch[3].id:
            raise RuntimeError("a bug")
        return real(document_id, doc)

    monkeypatch.setattr(ch, "render", render)
    rec = Recorder(tmp_path / "drop")
    try:
        with pytest.raises(RuntimeError):
            await deliver_in_groups(ch, batch, record=rec, sent=rec.count)
    finally:
        await ch.stop()
    outcomes = rec.outcomes()
    assert [isinstance(outcomes[c.id], Delivered) for c in batch] == [True, True, False, False, False, False]
    assert {outcomes[c.id].code for c in batch[2:]} == {"worker-error"}


@pytest.mark.parametrize("concurrency", [1, 2, 4])
async def test_at_most_the_concurrency_is_written_and_not_yet_recorded(tmp_path: Path, concurrency: int) -> None:
    """The README's window: a worker dying leaves at most its concurrency of files
    written (renamed into place) whose documents are not recorded yet."""
    batch = claims(6)
    ch = await channel(tmp_path, concurrency=concurrency)
    folder = tmp_path / "drop"
    recorded: set[str] = set()
    widest = 0

    async def record(group: Group, took: float) -> None:
        nonlocal widest
        await asyncio.sleep(0.2)  # a slow transaction: the next group has time to be written meanwhile
        names = {p.name for p in folder.iterdir()}
        unrecorded = [c for c in batch if c.id not in recorded and einvoice_file_name(c.id) in names]
        widest = max(widest, len(unrecorded))
        recorded.update(c.id for c, _ in group)

    try:
        await deliver_in_groups(ch, batch, record=record, sent=lambda: None)
    finally:
        await ch.stop()
    assert recorded == {c.id for c in batch}
    assert 1 <= widest <= concurrency


async def test_a_group_that_cannot_be_recorded_stops_the_batch_and_the_rest_go_back(tmp_path: Path) -> None:
    batch = claims(8)
    ch = await channel(tmp_path, concurrency=4)  # groups of 2
    calls: list[list[tuple[str, Any]]] = []

    async def record(group: Group, took: float) -> None:
        calls.append([(c.id, o) for c, o in group])
        if len(calls) == 2:
            raise RuntimeError("the database went away")

    try:
        with pytest.raises(RuntimeError):
            await deliver_in_groups(ch, batch, record=record, sent=lambda: None)
    finally:
        await ch.stop()
    last = calls[-1]
    assert len(calls) >= 3  # the groups, then the rest in one record
    assert all(isinstance(o, ChannelUnavailable) and o.code == "worker-error" for _, o in last)
    # the rest: the documents never written go back to queued; one whose file was
    # written but not recorded stays `sending` (taken over as resumed: not written again)
    never_written = {c.id for c in batch if not (tmp_path / "drop" / einvoice_file_name(c.id)).exists()}
    assert never_written and {i for i, _ in last} == never_written
    assert not never_written & {i for g in calls[:-1] for i, _ in g}


async def test_each_file_and_then_the_folder_are_fsynced_before_the_group_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Durable before recorded, in order: every fsync is logged (a file by its inode, the
    folder as such) beside the records; without the fsyncs this fails."""
    batch = claims(7)
    ch = await channel(tmp_path, concurrency=4)
    folder = tmp_path / "drop"
    events: list[tuple[str, Any]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        st = os.fstat(fd)
        real_fsync(fd)
        events.append(("folder", st.st_ino) if stat.S_ISDIR(st.st_mode) else ("file", st.st_ino))

    async def record(group: Group, took: float) -> None:
        delivered = [c for c, o in group if isinstance(o, Delivered)]
        events.append(("record", [(folder / einvoice_file_name(c.id)).stat().st_ino for c in delivered]))

    monkeypatch.setattr(os, "fsync", fsync)
    try:
        await deliver_in_groups(ch, batch, record=record, sent=lambda: None)
    finally:
        await ch.stop()
        monkeypatch.undo()
    folder_ino = folder.stat().st_ino
    records = [k for k, (kind, _) in enumerate(events) if kind == "record"]
    assert sum(len(events[k][1]) for k in records) == 7
    for k in records:
        for inode in events[k][1]:
            synced_at = [j for j, e in enumerate(events[:k]) if e == ("file", inode)]
            assert synced_at, "a file recorded without its own fsync"
            folder_after = [j for j, e in enumerate(events[:k]) if e == ("folder", folder_ino) and j > synced_at[-1]]
            assert folder_after, "a file recorded before the folder's fsync that follows its own"


async def test_chunks_taken_for_a_group_that_fails_to_render_are_dropped_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.dispatch.channels import einvoice

    class Chunk:
        def __init__(self, claim: Claim, fails: bool) -> None:
            self.claims, self.fails, self.cancelled = [claim], fails, False

        def done(self) -> bool:
            return True

        async def result(self) -> list[Any]:
            if self.fails:
                raise RuntimeError("the render process died")
            raise AssertionError("not awaited after the first one failed")

        def cancel(self) -> None:
            self.cancelled = True

    batch = claims(4)
    made = [Chunk(c, fails=(k == 0)) for k, c in enumerate(batch)]
    monkeypatch.setattr(einvoice, "render_all_in", lambda *args: list(made))
    ch = await channel(tmp_path, concurrency=4)  # groups of 2: chunks 0 and 1 taken together
    try:
        with pytest.raises(RuntimeError):
            async for _ in ch.deliver_groups(batch):
                pass
    finally:
        await ch.stop()
    assert [c.cancelled for c in made[1:]] == [True, True, True]  # the taken one (1) and the rest
