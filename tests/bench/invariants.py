"""The invariants of ``make chaos`` and ``make cluster-test``, computed from what the
system holds, never from the harness's own counters: each service's database, the
delivery events on Kafka (read_committed) and what the receivers got (the SMTP sink's
.eml files, the Finvoice drop folder, the print batches' manifests).

    results = await checks(system, expected)   # [(name, ok, detail), ...]
    failed = report(results)                   # PASS/FAIL per line; the number failed

The expected outcome (``Expected``) comes from the workload's rules
(tests/bench/workload.py), not from the system. Run them once every process is running
and every document has an outcome (:func:`wait_for_outcomes`).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from collections import Counter

from aiokafka import AIOKafkaConsumer

from services.dispatch.render.mail import message_id
from shared.events.dispatch import DocumentDelivered
from shared.events.topics import DELIVERIES
from tests.bench.pipeline import wait_until
from tests.bench.workload import Expected
from tests.support.system import System

REMINDER_DAY = "2027-01-15"
"""The reminders service's date in a run: well after the invoices' due date 2026-12-07."""
MESSAGE_ID_DOMAIN = "billing.bench"
"""The Message-ID domain the system's dispatch uses (tests/support/system.py)."""


async def delivery_events(bootstrap: str, topic: str) -> Counter[str]:
    """``document-delivered`` events per document id on the deliveries topic (read_committed)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
        isolation_level="read_committed",
    )
    await consumer.start()
    counts: Counter[str] = Counter()
    try:
        while not consumer.assignment():  # partitions assigned from the topic's metadata
            await asyncio.sleep(0.1)
        end = await consumer.end_offsets(list(consumer.assignment()))

        async def behind() -> bool:
            return any([await consumer.position(tp) < end[tp] for tp in end])

        while await behind():
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for records in batch.values():
                for r in records:
                    if dict(r.headers).get("ce_type", b"").decode() == DocumentDelivered.EVENT_TYPE:
                        counts[(r.key or b"").decode()] += 1
    finally:
        await consumer.stop()
    return counts


async def checks(system: System, exp: Expected) -> list[tuple[str, bool, str]]:
    results: list[tuple[str, bool, str]] = []

    def check(name: str, ok: bool, detail: str) -> None:
        results.append((name, ok, detail))

    states = dict(
        await system.fetch(
            "invoicing",
            """SELECT CASE WHEN r.status <> 'open' THEN r.status WHEN p.valid THEN 'ready' ELSE 'error' END, count(*)
               FROM billing_requests r LEFT JOIN billing_profiles p USING (customer_number) GROUP BY 1""",
        )
    )
    total = sum(states.values())
    inv, err, can = states.get("invoiced", 0), states.get("error", 0), states.get("cancelled", 0)
    check(
        "requests = invoiced + error + cancelled",
        total == exp.requests == inv + err + can and (inv, err, can) == (exp.invoiced, exp.error, exp.cancelled),
        f"{exp.requests:,} published; {total:,} stored = {inv:,} + {err:,} + {can:,}"
        f" (expected {exp.invoiced:,} + {exp.error:,} + {exp.cancelled:,}); all states {states}",
    )
    series = await system.fetch(
        "invoicing",
        """SELECT series, count(*) AS n, count(DISTINCT number) AS d, min(number) AS lo, max(number) AS hi
           FROM invoices WHERE status = 'confirmed' GROUP BY series""",
    )
    invoices = sum(r["n"] for r in series)
    gapless = all(r["n"] == r["d"] == r["hi"] - r["lo"] + 1 for r in series)
    per = "; ".join(f"{r['series']}: {r['n']:,} numbers {r['lo']}..{r['hi']}, {r['d']:,} distinct" for r in series)
    check("no duplicate invoice: numbers unique, series gap-free", gapless, per or "no invoices")
    per_request = await system.scalar(
        "invoicing",
        "SELECT count(*) FROM billing_requests WHERE status = 'invoiced' AND invoice_id IS NULL",
    )
    per_customer = await system.scalar(
        "invoicing", "SELECT count(*) - count(DISTINCT customer_number) FROM invoices WHERE status = 'confirmed'"
    )
    check(
        "one invoice per customer's requests, as expected",
        invoices == exp.invoices and per_request == 0 and per_customer == 0,
        f"{invoices:,} invoices (expected {exp.invoices:,}), invoiced requests without invoice {per_request},"
        f" customers with more than one invoice {per_customer}",
    )
    rem = (
        await system.fetch(
            "reminders",
            "SELECT count(*) AS n, count(DISTINCT (invoice_id, level)) AS d, count(DISTINCT invoice_id) AS i"
            " FROM reminders",
        )
    )[0]
    check(
        "no duplicate reminder: one #1 per invoice",
        rem["n"] == rem["d"] == rem["i"] == invoices,
        f"{rem['n']:,} reminders, {rem['d']:,} distinct (invoice, level), for {rem['i']:,} of {invoices:,} invoices",
    )
    docs = await system.fetch("dispatch", "SELECT id, source, source_id, channel, state FROM documents")
    by_state = Counter(d["state"] for d in docs)
    distinct_sources = len({(d["source"], d["source_id"]) for d in docs})
    check(
        "every document at dispatch once, delivered",
        len(docs) == distinct_sources == invoices + rem["n"] and by_state == Counter({"delivered": len(docs)}),
        f"{len(docs):,} documents ({distinct_sources:,} distinct sources) for {invoices:,} invoices +"
        f" {rem['n']:,} reminders; states {dict(by_state)}",
    )
    attempts = await system.fetch(
        "dispatch",
        """SELECT document_id, count(*) FILTER (WHERE outcome = 'delivered') AS ok,
                  count(*) FILTER (WHERE resumed) AS resumed FROM delivery_attempts GROUP BY document_id""",
    )
    twice = [a for a in attempts if a["ok"] > 1]
    resumed = {a["document_id"] for a in attempts if a["resumed"]}
    check(
        "no duplicate delivery recorded: one delivered attempt per document",
        not twice and len([a for a in attempts if a["ok"] == 1]) == len(docs),
        f"{sum(a['ok'] for a in attempts):,} delivered attempts for {len(docs):,} documents; {len(twice)} twice;"
        f" {len(resumed)} taken over from a killed worker (resumed)",
    )
    events = await delivery_events(system.sandbox.bootstrap, system.sandbox.topic(DELIVERIES.name))
    check(
        "one document-delivered event per document (Kafka, read_committed)",
        set(events) == {d["id"] for d in docs} and all(v == 1 for v in events.values()),
        f"{sum(events.values()):,} events for {len(events):,} documents;"
        f" repeated {sum(v > 1 for v in events.values())}",
    )
    # --- at the receivers --------------------------------------------------------------
    mail_docs = {message_id(d["id"], MESSAGE_ID_DOMAIN): d["id"] for d in docs if d["channel"] == "email"}
    received: Counter[str] = Counter()
    for path in sorted((system.out_dir / "mail").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        received[str(msg["Message-ID"])] += 1
    repeats = {m: n for m, n in received.items() if n > 1}
    unexplained = [m for m in repeats if mail_docs.get(m) not in resumed]
    check(
        "e-mail: every document's Message-ID at the sink, nothing else",
        set(received) == set(mail_docs),
        f"{sum(received.values()):,} mails, {len(received):,} distinct Message-IDs,"
        f" {len(mail_docs):,} e-mail documents",
    )
    check(
        "e-mail: no mail twice (beyond the documented window)",
        not unexplained,
        f"{len(repeats)} Message-ID(s) received more than once ({sum(repeats.values()) - len(repeats)} extra mails);"
        f" {len(repeats) - len(unexplained)} of them a document taken over after its worker was killed between the"
        f" SMTP server's 250 and the commit (README: the remaining window; same Message-ID), {len(unexplained)}"
        " unexplained",
    )
    files = sorted((system.out_dir / "einvoice").glob("*.xml"))
    e_docs = {f"finvoice-{d['id']}.xml" for d in docs if d["channel"] == "einvoice"}
    leftovers = [p.name for p in (system.out_dir / "einvoice").iterdir() if p.name.startswith(".")]
    check(
        "Finvoice: one file per document, nothing else",
        {p.name for p in files} == e_docs,
        f"{len(files):,} files for {len(e_docs):,} e-invoice documents; {len(leftovers)} temporary files left",
    )
    entries: Counter[str] = Counter()
    batches = 0
    for manifest in (system.out_dir / "print").glob("print-*.json"):
        if manifest.with_suffix(".csv").exists():  # a batch is complete when its CSV exists
            batches += 1
            entries.update(row["document_id"] for row in json.loads(manifest.read_text())["documents"])
    p_docs = {d["id"] for d in docs if d["channel"] == "print"}
    check(
        "print: each document in exactly one complete batch",
        set(entries) == p_docs and all(v == 1 for v in entries.values()),
        f"{sum(entries.values()):,} entries in {batches} batch(es) for {len(p_docs):,} print documents;"
        f" {sum(v > 1 for v in entries.values())} twice",
    )
    return results


async def wait_for_outcomes(system: System, timeout: float = 1800) -> None:
    """Until no document at dispatch waits for an outcome, then a moment for the last
    outcomes' events to leave the outbox."""

    async def quiet() -> bool:
        sql = "SELECT count(*) FROM documents WHERE state NOT IN ('delivered', 'failed')"
        return int(await system.scalar("dispatch", sql)) == 0

    await wait_until("every document with an outcome", quiet, timeout=timeout)
    await asyncio.sleep(3)


def report(results: list[tuple[str, bool, str]]) -> int:
    """PASS/FAIL and the detail of each invariant, then the verdict; how many failed."""
    failed = 0
    for name, ok, detail in results:
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
        print(f"      {detail}")
    print()
    print(f"{'FAIL' if failed else 'PASS'}: {len(results) - failed} of {len(results)} invariants hold", flush=True)
    return failed
