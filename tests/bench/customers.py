"""Benchmark: customer upserts through Kafka into billing profiles.

    make bench-customers                      # 100,000 upserts
    uv run python -m tests.bench.customers --count 20000

Both numbers are measured in the same run, on the same 100,000 records already waiting
in Kafka:

- **raw floor**: a plain aiokafka consumer reads them and an idempotent ``acks=all``
  producer writes each one to another topic, with no work in between;
- **service**: the customers service (a real process, ``python -m services.customers``)
  reads them, validates every card, writes cards, audit rows, inbox and outbox to
  PostgreSQL, and its relay publishes one billing profile per customer.

Each rate counts from the first record read to the last record written (for the
service: from its first consumed batch to the last profile on the output topic, both
read from Kafka record timestamps and the service's own readiness).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.events.customers import CustomerUpserted
from shared.events.topics import BILLING_PROFILES, CUSTOMER_UPSERTS
from tests.bench.targets import Target, report
from tests.support import servers as servers_mod
from tests.support.isolation import ServiceProcess, create_sandbox, drop_sandbox

PARTITIONS = 6


def make_upsert(i: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    number = f"B{i:07d}"
    customer = {
        "customer_type": "company" if i % 3 else "person",
        "name": f"Asiakas {i}",
        "business_id": "0112038-9" if i % 3 else None,
        "address": {"street_lines": [f"Katu {i % 200}"], "postal_code": f"{i % 99999:05d}", "city": "Helsinki"},
        "email": f"asiakas{i}@example.fi" if i % 10 else "broken@",
        "delivery_channel": ["email", "print", "einvoice"][i % 3],
        "einvoice_address": "003701120389" if i % 3 == 2 else None,
        "einvoice_operator": "003721291126" if i % 3 == 2 else None,
        "language": "fi" if i % 7 else "sv",
    }
    body = json.dumps({"customer_number": number, "customer": customer}).encode()
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(uuid.uuid4()).encode()),
        ("ce_source", b"urn:bench:crm"),
        ("ce_type", CustomerUpserted.EVENT_TYPE.encode()),
        ("ce_time", b"2026-11-23T10:00:00+02:00"),
        ("content-type", b"application/json"),
    ]
    return number.encode(), body, headers


def cpu_seconds(service: ServiceProcess) -> float:
    """User + system CPU seconds of a service process so far (Linux /proc; 0 if gone)."""
    try:
        assert service.proc is not None
        fields = Path(f"/proc/{service.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, AssertionError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def create_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, num_partitions=PARTITIONS, replication_factor=1) for n in names])
    finally:
        await admin.close()


async def fill(bootstrap: str, topic: str, count: int) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20)
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for i in range(count):
            key, body, headers = make_upsert(i)
            pending.append(await producer.send(topic, body, key=key, headers=headers))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def raw_floor(bootstrap: str, source: str, target: str, count: int) -> float:
    """Consume + produce the same records with no work: the ceiling any service has."""
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"floor-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=500,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await consumer.start()
    await producer.start()
    seen = 0
    started: float | None = None
    try:
        while seen < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            if started is None and batch:
                started = time.perf_counter()
            futures = []
            for records in batch.values():
                for r in records:
                    futures.append(await producer.send(target, r.value, key=r.key, headers=list(r.headers)))
            await asyncio.gather(*futures)
            await consumer.commit()
            seen += len(futures)
    finally:
        await consumer.stop()
        await producer.stop()
    assert started is not None
    return time.perf_counter() - started


async def wait_for_records(bootstrap: str, topic: str, count: int, timeout: float) -> tuple[int, float, float]:
    """Read ``topic`` until ``count`` records; return (count, first_ts, last_ts) in seconds."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    seen, first, last = 0, float("inf"), 0.0
    deadline = time.monotonic() + timeout
    try:
        while seen < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batch.values():
                for r in records:
                    seen += 1
                    first = min(first, r.timestamp / 1000)
                    last = max(last, r.timestamp / 1000)
    finally:
        await consumer.stop()
    return seen, first, last


async def main(count: int, max_records: int, replicas: int) -> None:
    servers = servers_mod.start()
    sandbox = await create_sandbox(servers)
    try:
        source = sandbox.topic(CUSTOMER_UPSERTS.name)
        floor_out = sandbox.topic("bench.floor-out")
        await create_topics(sandbox.bootstrap, [source, floor_out])
        print(f"servers: {servers.kind}: {servers.description}")
        print(f"records: {count} customer upserts on {PARTITIONS} partitions (10% bad e-mail, mixed channels)")
        fill_s = await fill(sandbox.bootstrap, source, count)
        print(f"loaded input in {fill_s:.1f}s")

        floor_s = await raw_floor(sandbox.bootstrap, source, floor_out, count)
        floor_rate = count / floor_s

        log_dir = Path(os.environ.get("TMPDIR", "/tmp"))
        processes = [
            ServiceProcess(
                sandbox,
                "customers",
                log_dir,
                kafka_partitions=PARTITIONS,
                consumer_max_records=max_records,
                run_migrations_on_start=(i == 0),
            )
            for i in range(replicas)
        ]
        started = time.time()
        processes[0].start()
        try:
            await processes[0].wait_ready()
            ready = time.time()  # the first replica consumes from here on: the clock starts
            cpu_before = cpu_seconds(processes[0])
            for p in processes[1:]:
                p.start()
            for p in processes[1:]:
                await p.wait_ready()
            seen, _first, last = await wait_for_records(
                sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), count, timeout=1800
            )
            cpu_s = cpu_seconds(processes[0]) - cpu_before  # consumer, relay, everything in it
        finally:
            for p in processes:
                p.stop()
        service = processes[0]
        if seen < count:
            raise SystemExit(f"only {seen} of {count} profiles arrived; see {service.log_path}")
        service_s = last - ready
        rate = count / service_s
        stored_until = await sandbox.scalar("SELECT extract(epoch FROM max(updated_at)) FROM customers")
        cards = await sandbox.scalar("SELECT count(*) FROM customers")
        invalid = await sandbox.scalar("SELECT count(*) FROM customers WHERE NOT valid")
        print()
        print(f"{'':<34}{'seconds':>10}{'records/s':>12}")
        print(f"{'raw floor (consume+produce)':<34}{floor_s:>10.1f}{floor_rate:>12,.0f}")
        label = f"customers service x{replicas} (profiles)" if replicas > 1 else "customers service (profiles)"
        print(f"{label:<34}{service_s:>10.1f}{rate:>12,.0f}")
        print(f"service / floor: {rate / floor_rate:.0%}   (start to ready: {ready - started:.1f}s, not counted)")
        consumed_s = float(stored_until) - ready
        print(
            f"where the time goes: last card stored after {consumed_s:.1f}s (consumer: validate, cards, audit,"
            f" inbox, outbox), last profile on Kafka {service_s - consumed_s:.1f}s later (outbox relay)"
        )
        if replicas == 1:
            print(
                f"    the service process's CPU: {cpu_s:.1f}s of those {service_s:.1f}s ({cpu_s / service_s:.2f} of a"
                f" core), {1e6 * cpu_s / count:.0f} us a record (decode and validate the event, the card's rules,"
                " audit, inbox, outbox rows, the relay's send); the rest it waited for PostgreSQL, Kafka or a core"
            )
        print(f"cards stored: {cards}, invalid: {invalid}, profiles published: {seen}")
        report([Target("customers service / raw floor (consume+produce)", rate / floor_rate, 0.5, "%")])
    finally:
        await drop_sandbox(sandbox)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--max-records", type=int, default=500, help="records per consumer transaction")
    parser.add_argument("--replicas", type=int, default=1, help="service processes in the consumer group")
    args = parser.parse_args()
    asyncio.run(main(args.count, args.max_records, args.replicas))
