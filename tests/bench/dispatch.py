"""Benchmark: the dispatch channel workers, each beside a floor measured in the same run.

    make bench-dispatch                                   # 20,000 documents per run
    uv run python -m tests.bench.dispatch --count 2000    # a quick look

Real servers (the local stack: Kafka, PostgreSQL) and real worker processes
(``python -m services.dispatch.worker``); the SMTP sink runs as its own process.
Documents are stored ``queued`` and their channel jobs put on the job topic before a
worker starts (what a send job leaves behind), so each rate is the worker's alone:
documents / (last outcome recorded - first attempt started), from the database's own
timestamps.

- **e-mail, 1 worker, then 2 workers** (one consumer group): the documents are stored
  ``waiting`` (as a billing run leaves them) and the workers render them ahead (PDF +
  message, stored once per document; timed apart, beside the render floor: render +
  compose in this process, one core); then they are queued and their jobs published,
  and the workers send: read the stored message, SMTP to the sink, record; the scaling
  ratio. Floor: the sink fed the same number of pre-rendered messages over the same
  number of SMTP connections.
- **Finvoice, 1 worker**: build, XSD + arithmetic check (in the render processes, a
  few documents a task), atomic writes to the drop folder in groups (the files' fsyncs
  side by side, the folder's once a group), each group recorded in one transaction.
  Floor: writing the same number of pre-rendered files atomically, one at a time (also
  shown: written in groups as the worker does).
- **print, 1 worker**: render, stage, then the batch (one merged PDF + manifests).
  Floor: writing the same number of pre-rendered PDFs atomically.

Where the time goes: the per-document cost of each step measured in this process
(render, compose, check ...) against the worker's wall time per document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiosmtplib
import asyncpg
import httpx

from services.dispatch import formats
from services.dispatch.app import SPEC
from services.dispatch.channels.base import write_atomically
from services.dispatch.channels.drop_folder import GroupFile, write_group
from services.dispatch.channels.einvoice import RENDER_CHUNK
from services.dispatch.config import Settings
from services.dispatch.domain.documents import Document, from_invoice, from_reminder
from shared.db.migrations import upgrade
from shared.events import topics
from shared.events.dispatch import SendDocument
from shared.events.envelope import EventMeta, encode_data, encode_headers
from shared.events.reminders import ReminderDocument
from shared.messaging.topics_admin import prepare_topics
from tests.bench.targets import Target, report
from tests.support import documents as d
from tests.support import servers as servers_mod
from tests.support.credentials import credentials
from tests.support.dispatch import WorkerProcess
from tests.support.isolation import Sandbox, create_sandbox, drop_sandbox
from tests.support.kafka import Publisher
from tests.support.smtp_sink import free_port

CONCURRENCY = 8
"""Documents one e-mail worker has in flight (its default), and the floor's connections."""


def make_documents(channel: str, count: int, start: int) -> list[Document]:
    """``count`` invoices for ``channel``: one to six lines, every seventh a credit note,
    every fifth a reminder (made outside the timings)."""
    base = {
        "email": d.PERSON,
        "einvoice": d.COMPANY,
        "print": d.PERSON.model_copy(update={"delivery_channel": "print"}),
    }
    docs: list[Document] = []
    spec = (*d.DEFAULT_LINES, ("ILM", "Ilmoitus", "3", "100.00", "25.5"), ("TK", "Tilaus", "2", "7.50", "14"))
    for i in range(start, start + count):
        data = base[channel]
        if channel == "email":
            data = data.model_copy(update={"email": f"asiakas.{i}@example.com"})
        who = d.customer(f"B-{i}", data)
        invoice = d.invoice(1_000_000_000 + i, who=who, spec=spec[: 1 + i % 4])
        if i % 7 == 0:
            docs.append(d.credit_note(invoice, 3_000_000_000 + i))
        elif i % 5 == 0:
            docs.append(d.reminder(invoice))
        else:
            docs.append(invoice)
    return docs


Job = tuple[str, bytes, str, list[tuple[str, bytes]]]


async def load(
    sandbox: Sandbox, channel: str, docs: list[Document], batch: str | None, state: str = "queued"
) -> list[Job]:
    """Store the documents queued (as a send leaves them; or ``state``: waiting, as a
    billing run leaves them); their channel jobs, to publish."""
    rows = []
    for doc in docs:
        new = from_reminder(doc) if isinstance(doc, ReminderDocument) else from_invoice(doc)
        rows.append(
            (
                new.id, new.source, new.source_id, new.channel, new.kind, new.number, new.reminder_level,
                new.customer_number, new.document_date, new.due_date, new.amount, new.language, new.payload,
                state, batch,
            )
        )  # fmt: skip
    conn = await asyncpg.connect(sandbox.plain_db_url)
    try:
        await conn.copy_records_to_table(
            "documents",
            records=rows,
            columns=[
                "id", "source", "source_id", "channel", "kind", "number", "reminder_level", "customer_number",
                "document_date", "due_date", "amount", "language", "payload", "state", "batch_id",
            ],
        )  # fmt: skip
        if batch is not None:
            await conn.execute("INSERT INTO print_batches (id, sealed) VALUES ($1, true)", batch)
    finally:
        await conn.close()
    topic = sandbox.topic(topics.CHANNEL_JOBS[channel].name)
    items: list[Job] = []
    for row in rows:
        job = SendDocument(document_id=row[0], channel=channel)  # type: ignore[arg-type]
        meta = EventMeta.new(job.EVENT_TYPE, "urn:bench:dispatch", subject=row[0])
        items.append((topic, encode_data(job), row[0], encode_headers(meta)))
    return items


async def publish(sandbox: Sandbox, items: list[Job]) -> None:
    async with Publisher(sandbox.bootstrap) as pub:
        for i in range(0, len(items), 5000):
            await pub.send_many(items[i : i + 5000])


async def assigned(url: str, topic: str) -> set[str]:
    """The partitions of ``topic`` a worker consumes now (from its lag series)."""
    scraper = {"Authorization": f"Bearer {credentials().only('metrics')}"}  # /metrics needs the metrics scope
    async with httpx.AsyncClient(headers=scraper) as client:
        text = (await client.get(f"{url}/metrics")).text
    return {
        ln.split('partition="', 1)[1].split('"', 1)[0]
        for ln in text.splitlines()
        if ln.startswith("billing_consumer_lag{") and f'topic="{topic}"' in ln
    }


async def run_workers(
    sandbox: Sandbox,
    channel: str,
    n: int,
    jobs: list[Job],
    env: dict[str, Any],
    log_dir: Path,
    timeout: float = 3600,
    staged: list[float] | None = None,
    before_publish: Callable[[], Awaitable[None]] | None = None,
) -> float:
    """Start ``n`` workers, wait until ``count`` documents have a final outcome; the
    seconds from the first attempt to the last outcome (the database's timestamps).
    ``staged`` (print) gets the clock time when every document was rendered and staged;
    ``before_publish`` runs once the workers are up, before the jobs go (e-mail: the
    documents rendered ahead, then queued)."""
    count = len(jobs)
    workers = [WorkerProcess(sandbox, channel, log_dir, **env).start() for _ in range(n)]
    try:
        for w in workers:
            await w.wait_ready(timeout=120)
        # every worker has its share of the partitions before the jobs arrive: the rate is
        # the group's steady state, not its rebalancing
        topic = sandbox.topic(topics.CHANNEL_JOBS[channel].name)
        settle = time.monotonic() + 60
        while time.monotonic() < settle:
            shares = [await assigned(w.url, topic) for w in workers]
            if all(shares) and len(set().union(*shares)) == 12 and sum(map(len, shares)) == 12:
                break
            await asyncio.sleep(0.5)
        if before_publish is not None:
            await before_publish()
        await publish(sandbox, jobs)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = await scalar(
                sandbox,
                "SELECT count(*) FROM documents WHERE channel = $1 AND state IN ('delivered', 'failed')",
                channel,
            )
            if done >= count:
                break
            if staged is not None and not staged:
                waiting = await scalar(
                    sandbox,
                    "SELECT count(*) FROM documents WHERE channel = $1 AND state IN ('queued', 'sending')",
                    channel,
                )
                if waiting == 0:
                    staged.append(time.time())
            await asyncio.sleep(0.2)
        else:
            raise SystemExit(f"{channel}: only {done} of {count} done; see {workers[0].log_path}")
    finally:
        for w in workers:
            w.stop()
    first, last = (
        await sandbox.fetch(
            """SELECT extract(epoch FROM min(a.started_at)) AS first, extract(epoch FROM max(d.updated_at)) AS last
               FROM documents d JOIN delivery_attempts a ON a.document_id = d.id
               WHERE d.channel = $1 AND d.state IN ('delivered', 'failed')""",
            channel,
        )
    )[0]
    failed = await sandbox.scalar("SELECT count(*) FROM documents WHERE channel = $1 AND state = 'failed'", channel)
    if failed:
        raise SystemExit(f"{channel}: {failed} document(s) failed")
    return float(last) - float(first)


async def scalar(sandbox: Sandbox, sql: str, *args: Any) -> Any:
    """``sandbox.scalar``, riding out a short database outage (the stack is shared)."""
    for attempt in range(60):
        try:
            return await sandbox.scalar(sql, *args)
        except OSError:
            if attempt == 59:
                raise
            await asyncio.sleep(1)
    return None


def worker_cpu_s() -> float:
    """CPU seconds (user + system) of this process's e-mail worker children now (Linux
    /proc; NaN elsewhere)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        for pid in (p for p in os.listdir("/proc") if p.isdigit()):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if b"services.dispatch.worker" in cmd and b"email" in cmd and int(fields[1]) == os.getpid():
                total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
    except OSError:
        return float("nan")
    return total


def reaped_cpu_s() -> float:
    """CPU seconds of this process's children that have exited and been waited for."""
    t = os.times()
    return t.children_user + t.children_system


class RenderAhead:
    """E-mail: wait until the workers have rendered every waiting document ahead, then
    queue them (what a clerk's send does); the render rate from the database's clock.
    Also the workers' CPU when the sending starts (:meth:`sending_cpu_s` the rest)."""

    def __init__(self, sandbox: Sandbox, count: int) -> None:
        self.sandbox, self.count, self.rate = sandbox, count, float("nan")
        self._cpu_at_send, self._reaped_before = float("nan"), reaped_cpu_s()

    def sending_cpu_s(self) -> float:
        """The workers' CPU seconds from the sending's start to their exit (call after
        run_workers: the workers have exited and been waited for)."""
        return reaped_cpu_s() - self._reaped_before - self._cpu_at_send

    async def record_groups(self) -> tuple[int, int]:
        """(record transactions, claim transactions) of the run: one timestamp each."""
        row = (
            await self.sandbox.fetch(
                "SELECT count(DISTINCT finished_at) AS records, count(DISTINCT started_at) AS claims"
                " FROM delivery_attempts WHERE channel = 'email'"
            )
        )[0]
        return int(row["records"]), int(row["claims"])

    async def __call__(self) -> None:
        deadline = time.monotonic() + 3600
        while await scalar(self.sandbox, "SELECT count(*) FROM document_renders") < self.count:
            if time.monotonic() > deadline:
                raise SystemExit("e-mail: the documents were not rendered ahead")
            await asyncio.sleep(0.2)
        row = (
            await self.sandbox.fetch(
                """SELECT extract(epoch FROM max(created_at) - min(created_at)) AS span,
                          count(*) FILTER (WHERE created_at > (SELECT min(created_at) + interval '1 ms'
                                                               FROM document_renders)) AS after_first
                   FROM document_renders"""
            )
        )[0]
        self.rate = float(row["after_first"]) / max(float(row["span"]), 1e-6)
        self._cpu_at_send = worker_cpu_s()
        await self.sandbox.fetch(
            "UPDATE documents SET state = 'queued', queued_at = now() WHERE channel = 'email' AND state = 'waiting'"
        )


async def reset_channel(sandbox: Sandbox, channel: str) -> None:
    """Forget the channel's documents (the next run measures its own)."""
    await sandbox.fetch(
        "DELETE FROM delivery_attempts WHERE document_id IN (SELECT id FROM documents WHERE channel = $1)", channel
    )
    await sandbox.fetch("DELETE FROM documents WHERE channel = $1", channel)


def per_doc_ms(fn: Callable[[Document], Any], docs: list[Document]) -> float:
    started = time.perf_counter()
    for doc in docs:
        fn(doc)
    return (time.perf_counter() - started) / len(docs) * 1000


async def smtp_floor(port: int, messages: list[bytes], connections: int) -> float:
    """Pre-rendered messages to the sink over ``connections`` SMTP connections."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for m in messages:
        queue.put_nowait(m)

    async def sender() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        try:
            while not queue.empty():
                await client.sendmail("laskutus@billing.invalid", ["floor@example.com"], queue.get_nowait())
        finally:
            await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(connections)))
    return time.perf_counter() - started


def file_floor(folder: Path, content: bytes, count: int, suffix: str) -> float:
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for i in range(count):
        write_atomically(folder / f"floor-{i}{suffix}", content)
    return time.perf_counter() - started


def grouped_floor(folder: Path, content: bytes, count: int, group: int) -> float:
    """Writing ``count`` files as the Finvoice worker does: ``group`` at a time, their
    fsyncs side by side, the folder once a group."""
    with ThreadPoolExecutor(group) as syncs:
        started = time.perf_counter()
        for i in range(0, count, group):
            names = [f"floor-{k}.xml" for k in range(i, min(count, i + group))]
            write_group(folder, [GroupFile(name, content) for name in names], syncs.map)
        return time.perf_counter() - started


def line(label: str, count: int, seconds: float, floor_rate: float | None = None) -> str:
    rate = count / seconds
    ratio = f"{rate / floor_rate:>8.0%}" if floor_rate else ""
    return f"{label:<46}{count:>8,}{seconds:>9.1f}{rate:>11,.0f}{ratio}"


async def main(count: int, log_dir: Path) -> None:
    servers = servers_mod.start()
    sandbox = await create_sandbox(servers)
    out = Path(tempfile.mkdtemp(prefix="bench-dispatch-"))
    sink_port = free_port()
    stats = out / "sink.json"
    sink = subprocess.Popen(  # the sink in its own process: it must not share a core's GIL with us
        [sys.executable, "-m", "tests.support.smtp_sink", "--port", str(sink_port), "--stats", str(stats)],
        stdout=subprocess.DEVNULL,
    )
    try:
        settings = Settings(**sandbox.settings_kwargs())
        await upgrade(SPEC.migrations_dir, sandbox.db_url)
        await prepare_topics(settings, SPEC.produces, SPEC.consumes)
        env = {
            "smtp_port": sink_port,
            "einvoice_folder": str(out / "einvoice"),
            "print_folder": str(out / "print"),
            "run_migrations_on_start": False,
            "outbox_send_timeout_s": 15.0,
            "print_close_interval_s": 0.5,
        }
        print(f"servers: {servers.kind}: {servers.description}; {os.cpu_count()} cores shared by all processes")
        print(f"documents per run: {count:,} (invoices with 1-4 lines, every 7th a credit note, every 5th a reminder)")
        results: list[str] = []

        # --- e-mail --------------------------------------------------------------
        docs = make_documents("email", count, 1)
        sample = docs[: min(300, count)]
        pdfs = [formats.pdf(x) for x in sample]
        render_ms = per_doc_ms(formats.pdf, sample)
        render_floor = 1000 / (render_ms + per_doc_ms(lambda x: formats.email_bytes(formats.email(
            x, pdfs[0], document_id="f", sender="laskutus@billing.invalid", sender_name=None, reply_to=None,
            message_id_domain="billing.invalid")), sample))  # fmt: skip
        compose_ms = (
            per_doc_ms(
                lambda x: formats.email_bytes(
                    formats.email(
                        x, pdfs[0], document_id=str(uuid.uuid4()), sender="laskutus@billing.invalid",
                        sender_name=None, reply_to=None, message_id_domain="billing.invalid",
                    )
                ),
                sample,
            )
        )  # fmt: skip
        messages = [
            formats.email_bytes(
                formats.email(
                    x, p, document_id=str(i), sender="laskutus@billing.invalid", sender_name=None, reply_to=None,
                    message_id_domain="bench.invalid",
                )
            )
            for i, (x, p) in enumerate(zip(sample, pdfs, strict=True))
        ]  # fmt: skip
        floor_msgs = [messages[i % len(messages)] for i in range(count)]
        await asyncio.sleep(1.0)  # the sink is up
        smtp_s = await smtp_floor(sink_port, floor_msgs, CONCURRENCY)
        smtp_rate = count / smtp_s
        results.append(line("floor: SMTP sink, pre-rendered mails", count, smtp_s))

        email_env = {**env, "smtp_connections": CONCURRENCY}  # the floor's number of connections
        ahead1 = RenderAhead(sandbox, count)
        jobs1 = await load(sandbox, "email", docs, None, state="waiting")
        one_s = await run_workers(sandbox, "email", 1, jobs1, email_env, log_dir, before_publish=ahead1)
        results.append(line("e-mail, 1 worker (stored mail+SMTP+record)", count, one_s, smtp_rate))
        one_cpu_ms = ahead1.sending_cpu_s() / count * 1000
        records, claims = await ahead1.record_groups()
        await reset_channel(sandbox, "email")
        docs2 = make_documents("email", count, count + 1)
        ahead2 = RenderAhead(sandbox, count)
        jobs2 = await load(sandbox, "email", docs2, None, state="waiting")
        two_s = await run_workers(sandbox, "email", 2, jobs2, email_env, log_dir, before_publish=ahead2)
        results.append(line("e-mail, 2 workers (one consumer group)", count, two_s, smtp_rate))
        sink_stats = json.loads(stats.read_text())

        # --- Finvoice ------------------------------------------------------------
        edocs = make_documents("einvoice", count, 2 * count + 1)
        esample = edocs[: min(300, count)]
        files = [formats.finvoice(x, sender_address="003707375462", sender_intermediator="003721291126",
                                  message_id=str(i), timestamp=x.issued_at) for i, x in enumerate(esample)]  # fmt: skip
        build_ms = per_doc_ms(
            lambda x: formats.finvoice(
                x, sender_address="003707375462", sender_intermediator="003721291126", message_id="m",
                timestamp=x.issued_at,
            ),
            esample,
        )  # fmt: skip
        started = time.perf_counter()
        for f in files:
            formats.finvoice_problems(f)
        check_ms = (time.perf_counter() - started) / len(files) * 1000
        efloor_s = file_floor(out / "floor-einvoice", files[0], count, ".xml")
        results.append(line("floor: pre-rendered Finvoice files, atomic write", count, efloor_s))
        egroup = max(1, Settings(**sandbox.settings_kwargs()).concurrency("einvoice") // 2)  # the worker's groups
        egrouped_s = grouped_floor(out / "floor-einvoice-groups", files[0], count, egroup)
        results.append(line(f"  (the same, {egroup} a group: the worker's way)", count, egrouped_s))
        e_s = await run_workers(sandbox, "einvoice", 1, await load(sandbox, "einvoice", edocs, None), env, log_dir)
        results.append(
            line("Finvoice, 1 worker (build+XSD+sums+write+record)", count, e_s, count / min(efloor_s, egrouped_s))
        )

        # --- print -----------------------------------------------------------------
        pdocs = make_documents("print", count, 3 * count + 1)
        pfloor_s = file_floor(out / "floor-print", pdfs[0], count, ".pdf")
        results.append(line("floor: pre-rendered PDFs, atomic write", count, pfloor_s))
        staged_at: list[float] = []
        pjobs = await load(sandbox, "print", pdocs, "send-bench")
        p_s = await run_workers(sandbox, "print", 1, pjobs, env, log_dir, staged=staged_at)
        first = float(await sandbox.scalar("SELECT extract(epoch FROM min(started_at)) FROM delivery_attempts"
                                           " WHERE channel = 'print'"))  # fmt: skip
        staged_s = (staged_at[0] - first) if staged_at else float("nan")
        close_s = p_s - staged_s
        results.append(line("print, 1 worker (render+stage+batch+record)", count, p_s, count / pfloor_s))
        batch = await sandbox.fetch("SELECT documents, file_name FROM print_batches WHERE id = 'send-bench'")

        print()
        print(f"{'':<46}{'docs':>8}{'seconds':>9}{'docs/s':>11}{'of floor':>9}")
        for r in results:
            print(r)
        print()
        print(f"e-mail scaling, 2 workers / 1: {one_s / two_s:.2f}x")
        print(
            f"sink received {sink_stats['received']:,} mails ({sink_stats['distinct_message_ids']:,} distinct "
            f"Message-IDs) = floor {count:,} + workers {2 * count:,}"
        )
        print(f"print batch: {batch[0]['documents']:,} documents in {batch[0]['file_name']}")
        print()
        print("where the time goes (this process, ms per document, one core):")
        print(f"  e-mail: render PDF {render_ms:.2f} + compose and flatten mail {compose_ms:.2f} (render floor "
              f"{render_floor:,.0f} docs/s a core), done once per document ahead of the send: rendered ahead "
              f"{ahead1.rate:,.0f}/s by 1 worker, {ahead2.rate:,.0f}/s by 2; sending: worker wall "
              f"{one_s / count * 1000:.2f} ms/doc against the SMTP floor's {smtp_s / count * 1000:.2f}, of which "
              f"the worker's own CPU {one_cpu_ms:.2f} ms/doc ({one_cpu_ms / (one_s / count * 1000):.0%} of its "
              f"wall: SMTP, claim and record, the outbox relay to Kafka); the rest of its wall it waits on "
              f"PostgreSQL, the SMTP sink and Kafka, or for one of the {os.cpu_count()} shared cores; "
              f"{count / max(records, 1):.1f} outcomes per record transaction ({records:,}), {claims} claims "
              "with the stored mails")  # fmt: skip
        renderers = Settings(**sandbox.settings_kwargs()).renderers()
        erender_floor = max(renderers, 1) * 1000 / (build_ms + check_ms)
        print(f"  Finvoice: build {build_ms:.2f} + check (XSD, sums) {check_ms:.2f} in {renderers} render "
              f"process(es), {RENDER_CHUNK} documents a task (render floor {erender_floor:,.0f}"
              f" docs/s); files written {egroup} at a time, fsynced side by side, the folder once: "
              f"{egrouped_s / count * 1000:.2f} ms/doc here (one at a time: {efloor_s / count * 1000:.2f}); worker "
              f"wall {e_s / count * 1000:.2f} ms/doc (beside the renders and the writes: the claim of each batch, "
              "one transaction per group recording its outcomes and events, the events to Kafka)")  # fmt: skip
        print(f"  print: render PDF {render_ms:.2f}; all staged after {staged_s:.1f}s ({count / staged_s:,.0f}/s), "
              f"then the batch in {close_s:.1f}s (merge {count:,} PDFs, manifests, fsync, record)")  # fmt: skip
        print(f"  (Finvoice and print render in {Settings(**sandbox.settings_kwargs()).renderers()} process(es) "
              "beside the worker's own, which claims, writes the files and records; the print batch is "
              "merged while read, one staged PDF at a time)")  # fmt: skip
        report(
            [
                Target("Finvoice, 1 worker, docs/s", count / e_s, 1000, "/s"),
                Target(
                    "Finvoice, 1 worker, of its floor (grouped atomic writes)",
                    min(efloor_s, egrouped_s) / e_s,
                    0.5,
                    "%",
                ),
                Target("print, 1 worker, docs/s", count / p_s, 200, "/s"),
                Target("print, 1 worker, of its floor (atomic writes)", pfloor_s / p_s, 0.5, "%"),
            ],
            title="targets (issue 20: Finvoice and print)",
        )
        cores = os.cpu_count()
        report(
            [
                Target("e-mail, 1 worker, of its SMTP floor", count / one_s / smtp_rate, 0.5, "%"),
                Target(f"e-mail, 2 workers / 1 ({cores} cores shared)", one_s / two_s, 1.7, "x"),
            ],
            title="targets (issue 20), e-mail",
        )
    finally:
        sink.terminate()
        sink.wait(10)
        await drop_sandbox(sandbox)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--log-dir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")))
    args = parser.parse_args()
    # the workers as production starts them (a fresh interpreter, a child of this process),
    # not forked from the tests' fork server: their CPU is read from this process's children
    os.environ.setdefault("BILLING_TEST_SPAWN", "exec")
    asyncio.run(main(args.count, args.log_dir))
