"""Benchmark: the whole pipeline, billing requests in to documents delivered.

    make bench                                              # 100,000 requests, 50,000 customers
    uv run python -m tests.bench.pipeline --requests 10000  # a quicker look

Everything runs as real processes on the real servers (tests/support/system.py): the four
services, the channel workers (``--email-workers``, default 2; one e-invoice, one print)
and the SMTP sink. The workload (tests/bench/workload.py): customer upserts on
``crm.customer-upserts.v1`` (60 % e-mail, 25 % e-invoice, 15 % print, a few with a broken
e-mail address) and billing requests on ``sales.billing-requests.v1`` (~1 % of orders
cancelled). Then the clerk's day through the APIs, each step once the previous one is
complete: a confirmed billing run (invoicing), then a send per channel (dispatch, all
three at once) once every invoice has reached dispatch.

Per stage: documents and seconds from the services' own timestamps (their databases);
end to end per document: its customer's last request published -> the document
delivered (``documents.delivered_at``), p50 / p99. Floors measured in the same run, after
the system is stopped (nothing else on the cores): aiokafka produce and consume of the
same request records, PostgreSQL COPY of the same invoice and document rows.

Results: stdout and ``.local/bench/pipeline-<UTC timestamp>.txt`` and ``.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import signal
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.events.topics import BILLING_REQUESTS
from tests.bench.customers import create_topics
from tests.bench.floors import consume_floor, copy_floor, produce
from tests.bench.targets import Target, report
from tests.bench.workload import Clerk, Expected, Published, cancelled, publish, request_body
from tests.support import servers as servers_mod
from tests.support.isolation import create_sandbox, drop_sandbox
from tests.support.system import CHANNELS, System

RESULTS = Path(".local/bench")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of ``values``: the smallest value with at
    least ``p`` % of the values at or below it."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least 1
    return ordered[int(rank) - 1]


async def wait_until(what: str, check: Any, timeout: float = 3600, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


async def epoch(system: System, service: str, sql: str) -> float:
    return float(await system.scalar(service, f"SELECT extract(epoch FROM ({sql}))"))


async def run_pipeline(system: System, exp: Expected, pub_holder: list[Published]) -> dict[str, Any]:
    """Publish, wait, run, send, wait: the timestamps of each stage (epoch seconds)."""
    sandbox = system.sandbox
    pub = await publish(sandbox.bootstrap, sandbox.prefix, exp.requests, exp.customers)
    pub_holder.append(pub)
    t: dict[str, Any] = {"published": pub.finished}

    async def stored() -> bool:
        return int(await system.scalar("invoicing", "SELECT count(*) FROM billing_requests")) >= exp.requests

    await wait_until("requests stored", stored)

    async def settled() -> bool:
        profiles = int(await system.scalar("invoicing", "SELECT count(*) FROM billing_profiles"))
        gone = int(await system.scalar("invoicing", "SELECT count(*) FROM billing_requests WHERE status='cancelled'"))
        return profiles >= exp.customers and gone >= exp.cancelled

    await wait_until("profiles and cancellations", settled)
    t["requests_stored"] = await epoch(system, "invoicing", "SELECT max(received_at) FROM billing_requests")
    t["cards_stored"] = await epoch(system, "customers", "SELECT max(updated_at) FROM customers")
    t["profiles_stored"] = await epoch(system, "invoicing", "SELECT max(updated_at) FROM billing_profiles")
    t["ready"] = max(t["requests_stored"], t["profiles_stored"])

    clerk = Clerk(system)
    try:
        job = await clerk.billing_run()
        if job["state"] != "done":
            raise SystemExit(f"billing run failed: {job.get('error')}")
        t["run_result"] = job["result"]
        t["run_started"] = await epoch(system, "invoicing", "SELECT min(started_at) FROM jobs")
        t["run_finished"] = await epoch(system, "invoicing", "SELECT max(finished_at) FROM jobs")
        invoices = int(await system.scalar("invoicing", "SELECT count(*) FROM invoices"))

        async def arrived() -> bool:
            return int(await system.scalar("dispatch", "SELECT count(*) FROM documents")) >= invoices

        await wait_until("invoices at dispatch", arrived)
        t["arrived"] = await epoch(system, "dispatch", "SELECT max(created_at) FROM documents")
        t["sends"] = await asyncio.gather(*(clerk.send(c) for c in CHANNELS))
    finally:
        await clerk.close()

    async def delivered() -> bool:
        sql = "SELECT count(*) FROM documents WHERE state NOT IN ('delivered', 'failed')"
        waiting = await system.scalar("dispatch", sql)
        return int(waiting) == 0

    await wait_until("every document delivered", delivered)
    return t


async def main(requests: int, customers: int, email_workers: int) -> None:
    exp = Expected.of(requests, customers)
    servers = servers_mod.start()
    sandbox = await create_sandbox(servers)
    out = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    system = System(sandbox, out, workers={"email": email_workers})
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    try:
        say(f"servers: {servers.kind}: {servers.description}; {os.cpu_count()} cores, shared with other sessions")
        say(
            f"input: {requests:,} billing requests for {customers:,} customers (expected: {exp.invoiced:,} to invoice"
            f" in {exp.invoices:,} invoices, {exp.error:,} in error, {exp.cancelled:,} cancelled)"
        )
        workers = ", ".join(f"{c} x{n}" for c, n in system.workers.items())
        say(f"processes: customers, invoicing, reminders, dispatch, workers {workers}, SMTP sink; logs {out}/logs")
        await system.start()
        pubs: list[Published] = []
        t = await run_pipeline(system, exp, pubs)
        pub = pubs[0]
        t0 = pub.started
        states = dict(
            await system.fetch(
                "invoicing",
                """SELECT CASE WHEN r.status <> 'open' THEN r.status WHEN p.valid THEN 'ready' ELSE 'error' END,
                          count(*)
                   FROM billing_requests r LEFT JOIN billing_profiles p USING (customer_number) GROUP BY 1""",
            )
        )
        docs = await system.fetch(
            "dispatch",
            """SELECT channel, customer_number, state, extract(epoch FROM queued_at) AS q,
                      extract(epoch FROM delivered_at) AS d FROM documents""",
        )
        invoices = len(docs)
        lines_n = int(await system.scalar("invoicing", "SELECT count(*) FROM invoice_lines"))
        sink = system.sink.counts()
        finvoice_files = len(list((out / "einvoice").glob("*.xml")))
        printed = sum(json.loads(p.read_text())["documents"].__len__() for p in (out / "print").glob("print-*.json"))
    finally:
        await system.stop_all()

    try:
        # --- floors: same run, the system stopped -----------------------------------------
        records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = []
        for j in range(requests):
            body = request_body(j, customers)
            records.append((body["customer_number"].encode(), json.dumps(body).encode(), []))
        await create_topics(sandbox.bootstrap, [sandbox.topic("bench.floor-requests")])
        produce_s = await produce(sandbox.bootstrap, sandbox.topic("bench.floor-requests"), records)
        topic_records = requests + sum(1 for j in range(requests) if cancelled(j))
        consume_s = await consume_floor(sandbox.bootstrap, sandbox.topic(BILLING_REQUESTS.name), topic_records)
        copy_inv_s, _ = await copy_floor(system.dsn("invoicing"), "invoices", "SELECT * FROM invoices")
        copy_lines_s, _ = await copy_floor(system.dsn("invoicing"), "invoice_lines", "SELECT * FROM invoice_lines")
        copy_docs_s, _ = await copy_floor(system.dsn("dispatch"), "documents", "SELECT * FROM documents")
    finally:
        await drop_sandbox(sandbox)

    # --- the table ------------------------------------------------------------------------
    per_channel: dict[str, dict[str, Any]] = {}
    latencies: list[float] = []
    for c in CHANNELS:
        mine = [r for r in docs if r["channel"] == c]
        done = [r for r in mine if r["state"] == "delivered"]
        lat = [float(r["d"]) - pub.request_at[r["customer_number"]] for r in done]
        latencies += lat
        per_channel[c] = {
            "documents": len(mine),
            "delivered": len(done),
            "first_queued": min(float(r["q"]) for r in mine) if mine else None,
            "last_delivered": max(float(r["d"]) for r in done) if done else None,
            "p50": percentile(lat, 50) if lat else None,
            "p99": percentile(lat, 99) if lat else None,
        }
    delivered_n = len(latencies)
    last_delivered = max(v["last_delivered"] or 0 for v in per_channel.values())
    consume_rate = topic_records / consume_s
    copy_run_s = copy_inv_s + copy_lines_s

    def row(label: str, n: int, seconds: float, floor_rate: float | None = None) -> str:
        rate = n / seconds if seconds > 0 else float("inf")
        ratio = f"{rate / floor_rate:>9.0%}" if floor_rate else ""
        return f"{label:<50}{n:>9,}{seconds:>9.1f}{rate:>10,.0f}{ratio}"

    say()
    say(f"{'stage (clock from the first record published)':<50}{'count':>9}{'seconds':>9}{'per s':>10}{'of floor':>9}")
    say(row("floor: Kafka produce (aiokafka, acks=all)", requests, produce_s))
    say(row("floor: Kafka consume (aiokafka, read_committed)", topic_records, consume_s))
    say(row(f"floor: PostgreSQL COPY invoices + {lines_n:,} lines", invoices, copy_run_s))
    say(row("floor: PostgreSQL COPY dispatch documents", invoices, copy_docs_s))
    say(row("input published (upserts + requests + cancels)", pub.records, pub.finished - t0))
    say(row("customers: cards stored (validated)", customers, t["cards_stored"] - t0))
    say(row("ingest: requests stored by invoicing", requests, t["requests_stored"] - t0, consume_rate))
    say(row("validate/ready: profiles in, requests classified", requests, t["ready"] - t0, consume_rate))
    run_s = t["run_finished"] - t["run_started"]
    say(row("run: invoices issued (confirmed run job)", invoices, run_s, invoices / copy_run_s))
    arrive_s = t["arrived"] - t["run_started"]
    say(row("dispatch arrival (from the run's start)", invoices, arrive_s, invoices / copy_docs_s))
    for c in CHANNELS:
        pc = per_channel[c]
        if pc["delivered"]:
            say(row(f"delivery: {c} (first queued -> last delivered)", pc["delivered"],
                    pc["last_delivered"] - pc["first_queued"]))  # fmt: skip
    say(row("whole pipeline: requests in -> last delivered", requests, last_delivered - t0, requests / produce_s))
    say()
    say(f"end to end per document (its customer's last request published -> delivered), {delivered_n:,} documents:")
    say(f"  all: p50 {percentile(latencies, 50):.1f}s  p99 {percentile(latencies, 99):.1f}s")
    for c in CHANNELS:
        pc = per_channel[c]
        if pc["delivered"]:
            say(f"  {c:<9} p50 {pc['p50']:.1f}s  p99 {pc['p99']:.1f}s  ({pc['delivered']:,} of {pc['documents']:,})")
    say()
    say(f"outcome: requests {states}; invoices {invoices:,} (expected {exp.invoices:,}), lines {lines_n:,}")
    say(
        f"receivers: SMTP sink {sink['received']:,} mails ({sink['distinct_message_ids']:,} distinct Message-IDs),"
        f" {finvoice_files:,} Finvoice files, {printed:,} documents in print batches"
    )
    say()
    say("where the time goes (seconds from the first record published):")
    say(f"  {pub.finished - t0:7.1f}  input published ({pub.records:,} records)")
    say(f"  {t['cards_stored'] - t0:7.1f}  last customer card stored (customers: validate, card, outbox -> profile)")
    say(f"  {t['profiles_stored'] - t0:7.1f}  last billing profile stored by invoicing")
    say(f"  {t['requests_stored'] - t0:7.1f}  last billing request stored by invoicing (VAT check, inbox)")
    say(f"  {t['run_started'] - t0:7.1f}  billing run started (the clerk waits for every request to settle)")
    say(f"  {t['run_finished'] - t0:7.1f}  billing run finished ({run_s:.1f}s: select, number, insert, outbox)")
    say(f"  {t['arrived'] - t0:7.1f}  last invoice stored by dispatch (relay -> Kafka -> dispatch consumer)")
    for c in CHANNELS:
        pc = per_channel[c]
        if pc["delivered"]:
            say(f"  {pc['last_delivered'] - t0:7.1f}  last {c} delivered (sends started at"
                f" {pc['first_queued'] - t0:.1f}s)")  # fmt: skip
    say(
        "  the latency is mostly waiting between the clerk's steps: a request waits for the run over all of them,"
        " an invoice for the send of its whole channel; the e-mail and print workers are CPU bound (PDF rendering)"
    )

    # issue 20: every document delivered within 120 s of the first record (100,000 requests)
    everything = delivered_n == invoices and invoices > 0
    targets = io.StringIO()
    with contextlib.redirect_stdout(targets):
        report(
            [
                Target(
                    f"{requests:,} requests in -> every document delivered"
                    + ("" if everything else f" ({delivered_n:,} of {invoices:,}: NOT ALL)"),
                    last_delivered - t0 if everything else float("inf"),
                    120.0,
                    "s",
                    at_most=True,
                )
            ]
        )
    for text in targets.getvalue().splitlines():
        say(text)

    RESULTS.mkdir(parents=True, exist_ok=True)
    base = RESULTS / f"pipeline-{stamp}"
    base.with_suffix(".txt").write_text("\n".join(lines) + "\n")
    result = {
        "requests": requests,
        "customers": customers,
        "email_workers": email_workers,
        "expected": exp.__dict__,
        "states": states,
        "invoices": invoices,
        "timeline": {k: (v - t0 if isinstance(v, float) else v) for k, v in t.items() if k != "sends"},
        "sends": t["sends"],
        "channels": {
            c: {k: (v - t0 if k in ("first_queued", "last_delivered") and v else v) for k, v in pc.items()}
            for c, pc in per_channel.items()
        },
        "latency": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99)},
        "floors": {
            "produce_s": produce_s,
            "consume_s": consume_s,
            "copy_invoices_lines_s": copy_run_s,
            "copy_documents_s": copy_docs_s,
        },
        "receivers": {"smtp": sink, "finvoice_files": finvoice_files, "printed": printed},
    }
    base.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str))
    say()
    say(f"results: {base}.txt, {base}.json")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=None, help="default: requests / 2")
    parser.add_argument("--email-workers", type=int, default=2)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))  # stop_all on SIGTERM
    asyncio.run(main(args.requests, args.customers or args.requests // 2, args.email_workers))
