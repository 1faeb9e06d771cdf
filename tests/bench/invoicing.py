"""Benchmark: billing requests in, then a confirmed billing run over them.

    make bench-invoicing                                  # 100,000 requests, 50,000 customers
    uv run python -m tests.bench.invoicing --requests 20000

Measured in one run, each beside its floor measured in the same run on the same data:

(a) **ingest**: 100,000 billing requests for 50,000 customers (two each; 50,000
    billing profiles on their own topic too) consumed by the invoicing service (a real
    process) and stored: validated against the VAT table, inbox, request rows.
    Floor: a plain aiokafka consumer reading the same 100,000 records.
(b) **run**: one confirmed billing run over all of them: 50,000 invoices (one per
    customer, two lines each) with gap-free numbers, references, lines, request states
    and one ``invoice-issued`` event per invoice, every event published to Kafka.
    Floor: asyncpg COPY of the same invoice and line rows, then an idempotent
    ``acks=all`` producer publishing the same 50,000 event bodies, with no logic.
    ``--replicas 1,2`` (the default) measures the run once per replica count (N
    invoicing processes on the one database take the run's chunks; between rounds the
    requests are made ready again and the invoices removed), with the cores they got.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.events.customers import BillingProfileChanged
from shared.events.sales import BillingRequestSubmitted
from shared.events.topics import BILLING_PROFILES, BILLING_REQUESTS, INVOICES
from tests.bench.customers import cpu_seconds, create_topics
from tests.bench.floors import consume_floor
from tests.bench.targets import Target, report
from tests.support import servers as servers_mod
from tests.support.isolation import API_TOKEN, ServiceProcess, create_sandbox, drop_sandbox
from tests.support.sales import profile, request

PARTITIONS = 6
LINES = (
    ("HS-1KK", "Helsingin Sanomat 1 kk", "1", "30.00", "10", ("2026-11-01", "2026-11-30")),
    ("KUVA", "Kuvaliite", "2", "12.10", "25.5", None),
)


def _headers(event_type: str) -> list[tuple[str, bytes]]:
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(uuid.uuid4()).encode()),
        ("ce_source", b"urn:bench:orders"),
        ("ce_type", event_type.encode()),
        ("ce_time", b"2026-11-23T10:00:00+02:00"),
        ("content-type", b"application/json"),
    ]


async def fill(bootstrap: str, prefix: str, customers: int, requests: int) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20)
    await producer.start()
    started = time.perf_counter()
    pending = []
    try:
        profile_body = profile("X")
        for c in range(customers):
            number = f"C{c:07d}"
            body = {
                **profile_body,
                "customer_number": number,
                "snapshot": {**profile_body["snapshot"], "name": f"Asiakas {c}"},
            }
            pending.append(
                await producer.send(
                    prefix + BILLING_PROFILES.name,
                    json.dumps(body).encode(),
                    key=number.encode(),
                    headers=_headers(BillingProfileChanged.EVENT_TYPE),
                )
            )
        for i in range(requests):
            number = f"C{i % customers:07d}"
            body = request(f"BR-{i}", number, lines=(LINES[i % 2],))
            pending.append(
                await producer.send(
                    prefix + BILLING_REQUESTS.name,
                    json.dumps(body).encode(),
                    key=number.encode(),
                    headers=_headers(BillingRequestSubmitted.EVENT_TYPE),
                )
            )
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def run_floor(dsn: str, bootstrap: str, events: list[tuple[bytes, bytes]], topic: str) -> tuple[float, float]:
    """COPY the run's invoice and line rows into empty copies of the tables, then
    publish the same event bodies: (copy seconds, publish seconds)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE floor_invoices AS SELECT * FROM invoices WITH NO DATA")
        await conn.execute("CREATE TABLE floor_lines AS SELECT * FROM invoice_lines WITH NO DATA")
        invoices = await conn.fetch("SELECT * FROM invoices")
        lines = await conn.fetch("SELECT * FROM invoice_lines")
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table("floor_invoices", records=[tuple(r) for r in invoices])
            await conn.copy_records_to_table("floor_lines", records=[tuple(r) for r in lines])
        copy_s = time.perf_counter() - started
    finally:
        await conn.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    started = time.perf_counter()
    try:
        pending = [await producer.send(topic, value, key=key) for key, value in events]
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return copy_s, time.perf_counter() - started


async def read_events(bootstrap: str, topic: str, count: int) -> list[tuple[bytes, bytes]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    out: list[tuple[bytes, bytes]] = []
    try:
        while len(out) < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batch.values():
                out.extend((r.key or b"", r.value or b"") for r in records)
    finally:
        await consumer.stop()
    return out[:count]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far (every core, every user)."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


def cores_line(r: dict[str, Any]) -> str:
    wall = r["wall"]
    mine = ", ".join(f"{c / wall:.2f}" for c in r["cpu"])
    return (
        f"this machine has {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable here); during the run the"
        f" invoicing process(es) used {mine} core(s) each; the machine as a whole (PostgreSQL, Kafka, anyone"
        f" else) was busy {r['busy'] / wall:.2f} of {r['machine'] / wall:.0f} cores"
    )


async def reset_run(dsn: str) -> None:
    """Make the requests ready again for the next round: no invoices, no run, no outbox
    rows. The number series goes on (the numbering check at start reads the topic)."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("DELETE FROM outbox")
            await conn.execute("UPDATE billing_requests SET status = 'open', invoice_id = NULL")
            await conn.execute("DELETE FROM invoice_lines")
            await conn.execute("DELETE FROM invoices")
            await conn.execute("DELETE FROM jobs")
            await conn.execute("DELETE FROM billing_runs")
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def run_round(sandbox: Any, replicas: list[ServiceProcess], customers: int) -> dict[str, Any]:
    """One confirmed run over every ready request, with these processes up; timed from
    the job's start to the last of its events on Kafka."""
    pids = [r.proc.pid for r in replicas if r.proc is not None]
    cpu_before = [_cpu_seconds(p) for p in pids]
    busy_before, total_before = _machine_busy()
    wall_before = time.monotonic()
    headers = {"Authorization": f"Bearer {API_TOKEN}"}  # who acted: the credential (tests)
    async with httpx.AsyncClient(base_url=replicas[0].url, headers=headers, timeout=30) as api:
        started = await api.post("/billing-runs", json={"kind": "subscription", "mode": "confirm"})
        started.raise_for_status()
        job_url = started.headers["Location"]
        while True:
            job = (await api.get(job_url)).json()
            if job["state"] in ("done", "failed"):
                break
            await asyncio.sleep(0.2)
    if job["state"] != "done":
        raise SystemExit(f"run failed: {job['error']}; see {replicas[0].log_path}")
    job_id = job["id"]
    job_started = float(await sandbox.scalar("SELECT extract(epoch FROM started_at) FROM jobs WHERE id = $1", job_id))
    job_done = float(await sandbox.scalar("SELECT extract(epoch FROM finished_at) FROM jobs WHERE id = $1", job_id))
    seen, last = await wait_for_run_events(sandbox.bootstrap, sandbox.topic(INVOICES.name), customers, job_started)
    wall = time.monotonic() - wall_before
    busy_after, total_after = _machine_busy()
    return {
        "replicas": len(replicas),
        "job": job,
        "invoices": int(job["result"]["invoices"]),
        "lines": int(await sandbox.scalar("SELECT count(*) FROM invoice_lines")),
        "parts": int(await sandbox.scalar("SELECT count(*) FROM job_parts WHERE job_id = $1", job_id)),
        "started": job_started,
        "done": job_done,
        "last": last,
        "seen": seen,
        "run_s": last - job_started,
        "wall": wall,
        "cpu": [_cpu_seconds(p) - b for p, b in zip(pids, cpu_before, strict=True)],
        "busy": busy_after - busy_before,
        "machine": total_after - total_before,
    }


async def wait_for_run_events(bootstrap: str, topic: str, count: int, since: float) -> tuple[int, float]:
    """Read ``topic`` until ``count`` records stamped at or after ``since`` (this round's:
    an earlier round's are older); returns (count, last timestamp in seconds)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    seen, last = 0, 0.0
    deadline = time.monotonic() + 1800
    try:
        while seen < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batch.values():
                for r in records:
                    if r.timestamp / 1000 >= since:
                        seen += 1
                        last = max(last, r.timestamp / 1000)
    finally:
        await consumer.stop()
    return seen, last


async def main(requests: int, customers: int, chunk: int, max_records: int, replica_counts: list[int]) -> None:
    servers = servers_mod.start()
    sandbox = await create_sandbox(servers)
    try:
        names = [BILLING_REQUESTS.name, BILLING_PROFILES.name, "bench.floor-invoices"]
        await create_topics(sandbox.bootstrap, [sandbox.topic(n) for n in names])
        print(f"servers: {servers.kind}: {servers.description}")
        print(f"input: {requests:,} billing requests for {customers:,} customers on {PARTITIONS} partitions")
        print(f"settings: {max_records} records per consumer transaction, {chunk} customers per run chunk")
        print(f"loaded input in {await fill(sandbox.bootstrap, sandbox.prefix, customers, requests):.1f}s")
        floor_a = await consume_floor(sandbox.bootstrap, sandbox.topic(BILLING_REQUESTS.name), requests)

        log_dir = Path(os.environ.get("TMPDIR", "/tmp"))
        service_settings = {"kafka_partitions": PARTITIONS, "daily_run_enabled": False, "jobs_poll_interval_s": 0.1}
        # (a)'s consumers take --max-records per transaction (the figure printed above)
        service = ServiceProcess(sandbox, "invoicing", log_dir, consumer_max_records=max_records, **service_settings)
        service_env = {"INVOICING_RUN_CHUNK_CUSTOMERS": str(chunk)}
        service.start(extra_env=service_env)
        replicas = [service]
        try:
            await service.wait_ready()
            ready = time.time()
            cpu_ready = cpu_seconds(service)

            async def stored() -> int:
                return int(await sandbox.scalar("SELECT count(*) FROM billing_requests"))

            while await stored() < requests:
                await asyncio.sleep(0.5)
            ingest_until = float(
                await sandbox.scalar("SELECT extract(epoch FROM max(received_at)) FROM billing_requests")
            )
            profiles_until = float(
                await sandbox.scalar("SELECT extract(epoch FROM max(updated_at)) FROM billing_profiles")
            )
            ingest_s = ingest_until - ready
            ingest_cpu = cpu_seconds(service) - cpu_ready  # read when the count was seen (<= 0.5 s late)
            ingest_wall = time.time() - ready

            rounds = []
            replicas = [service]
            for n in replica_counts:
                if rounds:
                    await reset_run(sandbox.plain_db_url)
                while len(replicas) < n:
                    extra = ServiceProcess(sandbox, "invoicing", log_dir, **service_settings)
                    extra.start(extra_env=service_env)
                    await extra.wait_ready()
                    replicas.append(extra)
                while len(replicas) > n:
                    replicas.pop().stop()
                rounds.append(await run_round(sandbox, replicas, customers))
        finally:
            for r in replicas:
                r.stop()
        first = rounds[0]  # the floor is measured on its events (the earliest on the topic)
        invoices, seen = first["invoices"], first["seen"]
        events = await read_events(sandbox.bootstrap, sandbox.topic(INVOICES.name), invoices)
        copy_s, publish_s = await run_floor(
            sandbox.plain_db_url, sandbox.bootstrap, events, sandbox.topic("bench.floor-invoices")
        )
        floor_b = copy_s + publish_s

        print()
        print(f"{'':<46}{'seconds':>9}{'per second':>12}")
        print(f"{'(a) floor: aiokafka consume':<46}{floor_a:>9.1f}{requests / floor_a:>12,.0f}")
        print(f"{'(a) ingest: requests stored':<46}{ingest_s:>9.1f}{requests / ingest_s:>12,.0f}")
        print(f"    ingest / floor: {floor_a / ingest_s:.0%}   (target >= 10,000 requests/s)")
        report(
            [
                Target("(a) ingest, requests stored/s", requests / ingest_s, 10_000, "/s"),
                Target("(a) ingest / aiokafka consume floor", floor_a / ingest_s, 0.5, "%"),
            ],
            title="targets (issue 20), ingest (a)",
        )
        print()
        print(f"{'(b) floor: COPY rows + publish events':<46}{floor_b:>9.1f}{invoices / floor_b:>12,.0f}")
        for r in rounds:
            label = f"(b) run, {r['replicas']} replica{'s' if r['replicas'] > 1 else ''}: issued and published"
            print(f"{label:<46}{r['run_s']:>9.1f}{r['invoices'] / r['run_s']:>12,.0f}")
        for r in rounds:
            print(f"    run / floor, {r['replicas']} replica(s): {floor_b / r['run_s']:.0%}")
        print()
        print("where the time goes:")
        print(
            f"  ingest: profiles ({customers:,}, their own consumer) stored after {profiles_until - ready:.1f}s;"
            f" requests after {ingest_s:.1f}s"
        )
        print(
            f"    the invoicing process's CPU meanwhile: {ingest_cpu:.1f}s ({ingest_cpu / ingest_wall:.2f} of a core),"
            f" {1e6 * ingest_cpu / (requests + customers):.0f} us a record (requests and profiles: decode and validate"
            " the event, VAT and amount checks, the row's JSON and hash, inbox, the batch's statements); the rest it"
            " waited for PostgreSQL, Kafka or a core"
        )
        for r in rounds:
            print(
                f"  run ({r['replicas']} replica(s)): chunks (select and lock requests, group, insert {r['invoices']:,}"
                f" invoices and {r['lines']:,} lines, update requests, then the block of numbers and the outbox rows)"
                f" {r['done'] - r['started']:.1f}s in {r['parts']} chunks; last event on Kafka"
                f" {r['last'] - r['done']:.1f}s after the last chunk (outbox relay)"
            )
            print(
                f"    Python (the invoicing processes' CPU) {sum(r['cpu']):.1f}s of {r['wall']:.1f}s wall; the rest"
                " each process waited: for PostgreSQL (its round trips, its CPU) or for a free core"
            )
            print(f"    cores: {cores_line(r)}")
        print(f"  floor: COPY {copy_s:.1f}s + publish {publish_s:.1f}s; {seen:,} events read back")
        one = next((r for r in rounds if r["replicas"] == 1), None)
        two = next((r for r in rounds if r["replicas"] == 2), None)
        base = one or first
        who = f"{base['replicas']} replica{'s' if base['replicas'] > 1 else ''}"
        targets = [
            Target(f"billing run, {who}: invoices/s", base["invoices"] / base["run_s"], 5000, "/s"),
            Target(f"billing run, {who}: share of its floor", floor_b / base["run_s"], 0.5, "%"),
        ]
        if one is not None and two is not None:
            speedup = (two["invoices"] / two["run_s"]) / (one["invoices"] / one["run_s"])
            targets.append(Target("billing run: 2 replicas / 1 replica", speedup, 1.8, "x"))
        report(targets, title="targets (issue 20), part (b): the billing run")
    finally:
        await drop_sandbox(sandbox)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=None, help="default: requests / 2")
    parser.add_argument("--chunk", type=int, default=1000, help="customers per run transaction")
    parser.add_argument("--max-records", type=int, default=500, help="records per consumer transaction")
    parser.add_argument(
        "--replicas",
        default="1,2",
        help="invoicing processes taking the run's chunks: a run per count, e.g. 1 or 1,2 (default)",
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.replicas.split(",")]
    asyncio.run(main(args.requests, args.customers or args.requests // 2, args.chunk, args.max_records, counts))
