"""Benchmark: 100,000 overdue invoices through the reminders service.

    make bench-reminders                                  # 100,000 invoices
    uv run python -m tests.bench.reminders --count 20000 --chunk 2000

Phases, each timed on the real service process (``python -m services.reminders``) with
Kafka and PostgreSQL of the stack, the service's date set to 31.3.2026 (every invoice
due 16.3.2026: a consumer's reminder #1 is due):

1. **projection**: 100,000 ``InvoiceIssued`` events already waiting in Kafka are
   consumed into open items (from the service's readiness to the last row's commit);
2. **candidates listed**: ``GET /reminders/candidates?level=1`` (every invoice decided,
   totals over all, one page returned);
3. **reminders #1 created and published**: ``POST /reminders/create`` (all) until the
   last ``ReminderIssued`` is on the reminders topic (Kafka record timestamps).

Raw floor, measured in the same run on the same data, with no logic:

- projection floor: a plain aiokafka consumer reads the same 100,000 events, and the
  same open-item rows are COPYed into a copy of the table;
- reminders floor: the same reminder rows are COPYed into a copy of the reminders table,
  and the same 100,000 ``ReminderIssued`` records (key, value, headers) are produced
  with an idempotent ``acks=all`` producer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.events.invoicing import InvoiceIssued
from shared.events.topics import INVOICES, REMINDERS
from shared.references import national_reference, rf_reference
from tests.bench.floors import copy_floor, produce
from tests.bench.targets import Target, report
from tests.support import documents
from tests.support import servers as servers_mod
from tests.support.isolation import API_TOKEN, ServiceProcess, create_sandbox, drop_sandbox

PARTITIONS = 6
TODAY = date(2026, 3, 31)
ISSUED = date(2026, 3, 2)  # due 16.3.2026


def invoice_records(count: int) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    """``count`` InvoiceIssued records, one customer each (the default test invoice, 63.37)."""
    template = documents.invoice(3_000_000_000, invoice_date=ISSUED)
    out = []
    for i in range(count):
        number = 3_000_000_001 + i
        reference = national_reference(str(number))
        doc = template.model_copy(
            update={
                "invoice_id": f"inv-{number}",
                "invoice_number": str(number),
                "reference": reference,
                "reference_rf": rf_reference(reference),
                "customer": documents.customer(f"K{number}"),
            }
        )
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", str(uuid.uuid4()).encode()),
            ("ce_source", b"urn:bench:invoicing"),
            ("ce_type", InvoiceIssued.EVENT_TYPE.encode()),
            ("ce_time", datetime.now(UTC).isoformat().encode()),
            ("content-type", b"application/json"),
        ]
        out.append((f"K{number}".encode(), InvoiceIssued(invoice=doc).model_dump_json().encode(), headers))
    return out


async def create_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, num_partitions=PARTITIONS, replication_factor=1) for n in names])
    finally:
        await admin.close()


async def consume_all(
    bootstrap: str, topic: str, count: int, timeout: float, *, keep: bool = False
) -> tuple[float, float, list[Any]]:
    """Read ``topic`` from the start until ``count`` records: (seconds from the first
    record read, last record's timestamp, the records if ``keep``)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
        isolation_level="read_committed",
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    seen, last_ts, kept = 0, 0.0, []
    started: float | None = None
    deadline = time.monotonic() + timeout
    try:
        while seen < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            if batch and started is None:
                started = time.perf_counter()
            for records in batch.values():
                for r in records:
                    seen += 1
                    last_ts = max(last_ts, r.timestamp / 1000)
                    if keep:
                        kept.append((r.key, r.value, list(r.headers)))
    finally:
        await consumer.stop()
    if seen < count:
        raise SystemExit(f"only {seen} of {count} records on {topic}")
    return time.perf_counter() - (started or time.perf_counter()), last_ts, kept


async def wait_rows(dsn: str, sql: str, count: int, timeout: float) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout
        while (await conn.fetchval(sql)) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {count} rows: {sql}")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def one_run(count: int, chunk: int, max_records: int, replicas: int) -> tuple[float, float]:
    """One measured run with ``replicas`` service processes: (reminders/s, floor/s)."""
    servers = servers_mod.start()
    sandbox = await create_sandbox(servers)
    dsn = sandbox.plain_db_url
    try:
        invoices = sandbox.topic(INVOICES.name)
        reminders = sandbox.topic(REMINDERS.name)
        floor_topic = sandbox.topic("bench.floor-out")
        await create_topics(sandbox.bootstrap, [invoices, reminders, floor_topic])
        print(f"servers: {servers.kind}: {servers.description}")
        print(f"records: {count} invoices issued (63.37 each, due 16.3.2026), consumers, {PARTITIONS} partitions")
        print(f"service: {replicas} process(es), {chunk} reminders per transaction, {max_records} events per batch")
        built = time.perf_counter()
        records = invoice_records(count)
        fill_s = await produce(sandbox.bootstrap, invoices, records)
        print(f"built input in {time.perf_counter() - built - fill_s:.1f}s, loaded it in {fill_s:.1f}s")
        del records

        common = {
            "today": TODAY.isoformat(),
            "kafka_partitions": PARTITIONS,
            "consumer_max_records": max_records,
            "create_chunk_size": chunk,
            "jobs_poll_interval_s": 0.2,
            "database_statement_timeout_ms": 300_000,
        }
        log_dir = Path(os.environ.get("TMPDIR", "/tmp"))
        # replicas: every process consumes and takes parts of the create job (a partitioned
        # job); the first one migrates, and one of them leads the outbox relay
        processes = [ServiceProcess(sandbox, "reminders", log_dir, **common)] + [
            ServiceProcess(sandbox, "reminders", log_dir, **common, run_migrations_on_start=False)
            for _ in range(replicas - 1)
        ]
        processes[0].start()
        service = processes[-1]
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        try:
            await processes[0].wait_ready(timeout=120)
            ready = time.time()
            for extra in processes[1:]:
                extra.start()
                await extra.wait_ready(timeout=120)
            await wait_rows(dsn, "SELECT count(*) FROM open_items", count, timeout=1800)
            conn = await asyncpg.connect(dsn)
            projected_until = float(await conn.fetchval("SELECT extract(epoch FROM max(updated_at)) FROM open_items"))
            await conn.close()
            projection_s = projected_until - ready

            async with httpx.AsyncClient(base_url=service.url, headers=headers, timeout=1800) as api:
                t = time.perf_counter()
                listing = (await api.get("/reminders/candidates", params={"level": 1, "limit": 100})).json()
                candidates_s = time.perf_counter() - t
                assert listing["totals"]["candidates"] == count, listing["totals"]

                started = time.time()
                job = (await api.post("/reminders/create", json={"level": 1, "all": True})).json()
                while job["state"] not in ("done", "failed"):
                    await asyncio.sleep(0.1)
                    job = (await api.get(job["url"])).json()
                job_s = time.time() - started  # seen done (within 0.1 s)
                assert job["state"] == "done", job
                summary = (await api.get(f"/reminders{job['url']}/summary")).json()
                metrics = ""
                async with httpx.AsyncClient(headers=headers) as each:
                    for process in processes:  # every replica's share of the phases
                        metrics += (await each.get(f"{process.url}/metrics")).text
            _, last_ts, events = await consume_all(sandbox.bootstrap, reminders, count, timeout=1800, keep=True)
        finally:
            for process in processes:
                process.stop()
        create_s = last_ts - started
        rate = count / create_s

        # --- the raw floor, same data -------------------------------------------------
        consume_s, _, _ = await consume_all(sandbox.bootstrap, invoices, count, timeout=600)
        copy_items_s, _ = await copy_floor(dsn, "open_items", "SELECT * FROM open_items")
        copy_rem_s, copied = await copy_floor(dsn, "reminders", "SELECT * FROM reminders")
        produce_s = await produce(sandbox.bootstrap, floor_topic, events)
        projection_floor_s = consume_s + copy_items_s
        reminders_floor_s = copy_rem_s + produce_s
        floor_rate = count / reminders_floor_s

        print()
        print(f"{'':<44}{'seconds':>9}{'per s':>10}   {'floor s':>8}{'floor/s':>10}  service/floor")
        print(
            f"{'projection (events -> open items)':<44}{projection_s:>9.1f}{count / projection_s:>10,.0f}   "
            f"{projection_floor_s:>8.1f}{count / projection_floor_s:>10,.0f}  {projection_floor_s / projection_s:>6.0%}"
        )
        print(f"{'candidates #1 listed (all decided)':<44}{candidates_s:>9.1f}{count / candidates_s:>10,.0f}")
        print(
            f"{'reminders #1 created and published':<44}{create_s:>9.1f}{rate:>10,.0f}   "
            f"{reminders_floor_s:>8.1f}{floor_rate:>10,.0f}  {rate / floor_rate:>6.0%}"
        )
        print()
        print(
            f"where the time goes (reminders): job done after {job_s:.1f}s (lock, decide, documents, reminders, "
            f"outbox rows, {chunk} per transaction), last event on Kafka {create_s - job_s:.1f}s later (relay)"
        )
        phases: dict[str, float] = {}
        for m in re.finditer(r'billing_reminders_create_phase_seconds_sum\{[^}]*phase="(\w+)"[^}]*\} (\S+)', metrics):
            phases[m.group(1)] = phases.get(m.group(1), 0.0) + float(m.group(2))
        parts_s = sum(phases.values())
        print(
            f"job's parts (summed over {replicas} process(es)): "
            + ", ".join(f"{p} {s:.1f}s" for p, s in phases.items())
            + (
                f", commit (outbox flush) and the rest {job_s - parts_s:.1f}s"
                if replicas == 1
                else f"; {parts_s / job_s:.1f} processes busy on average"
            )
        )
        print(
            f"floor parts: consume {consume_s:.1f}s + COPY open items {copy_items_s:.1f}s; "
            f"COPY reminders {copy_rem_s:.1f}s + produce events {produce_s:.1f}s"
        )
        print(f"answer: {summary['message_en']}  ({copied} reminder rows, {len(events)} events)")
        return rate, floor_rate
    finally:
        await drop_sandbox(sandbox)


async def main(count: int, chunk: int, max_records: int, replicas: list[int]) -> None:
    rates: dict[int, tuple[float, float]] = {}
    for n in replicas:
        print(f"\n=== {n} reminders process(es) ===")
        rates[n] = await one_run(count, chunk, max_records, n)
    first = replicas[0]
    rate, floor_rate = rates[first]
    targets = [
        Target(f"reminders #1 created + published, {first} process(es), /s", rate, 5000, "/s"),
        Target("reminders / floor (COPY + produce)", rate / floor_rate, 0.5, "%"),
    ]
    if 1 in rates and 2 in rates:
        cores = len(os.sched_getaffinity(0))
        targets.append(Target(f"two replicas / one ({cores} cores, shared)", rates[2][0] / rates[1][0], 1.8, "x"))
    report(targets)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=2000, help="reminders per transaction")
    parser.add_argument("--max-records", type=int, default=500, help="events per consumer transaction")
    parser.add_argument(
        "--replicas",
        default="1,2",
        help="service processes per run, one run each: e.g. 1,2 (the job's parts shared by the processes)",
    )
    args = parser.parse_args()
    counts = [int(n) for n in str(args.replicas).split(",") if n.strip()]
    if not counts or any(n < 1 for n in counts):
        parser.error("--replicas: numbers of processes, e.g. 1,2")
    asyncio.run(main(args.count, args.chunk, args.max_records, counts))
