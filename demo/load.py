"""Load the demo data into the running system, the way it would have got there.

Customers come from the CRM (``crm.customer-upserts.v1``), billing requests and
cancellations from the order systems (``sales.billing-requests.v1``), payments from the
bank import (``bank.reference-payments.v1``); the earlier months were billed by a clerk
(confirmed billing runs over the invoicing API), reminded once (reminder #1 dated
:attr:`DemoData.first_reminder_on`) and sent (every channel), before today's requests
arrive. Nothing is written into a service's database directly.

Each stage waits until the consuming service has taken everything (its consumer
group's committed offsets) before the next, so the day starts from a settled system.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from billing_cli.http import client
from demo import data as demo_data
from demo.kafka import caught_up, publish
from shared.events import topics
from shared.events.bank import ReferencePaymentReceived
from shared.money import cents

REPO = Path(__file__).resolve().parents[1]
VAT_TABLE = REPO / "services" / "invoicing" / "data" / "vat_rates.toml"
PORTS = {"customers": 8001, "invoicing": 8002, "reminders": 8003, "dispatch": 8004}
CHANNELS = ("email", "einvoice", "print")
STATE_FILE = "demo-state.json"


def bootstrap() -> str:
    value = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or os.environ.get("INVOICING_KAFKA_BOOTSTRAP_SERVERS")
    if not value:
        raise SystemExit('KAFKA_BOOTSTRAP_SERVERS is not set (run through bin/billing, or eval "$(stack.sh env)")')
    return value


def vat_rates() -> demo_data.RateOf:
    """The invoicing service's dated VAT table (a data file, read, not imported)."""
    return demo_data.rate_table(tomllib.loads(VAT_TABLE.read_text(encoding="utf-8"))["rate"])


def api(service: str) -> httpx.Client:
    return client(service, PORTS[service])


def request(c: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    response = c.request(method, path, **kwargs)  # who acted: the credential (BILLING_TOKEN)
    if response.status_code >= 400:
        raise RuntimeError(f"{method} {c.base_url}{path}: HTTP {response.status_code} {response.text[:500]}")
    return response.json()


def wait_job(c: httpx.Client, job: dict[str, Any], timeout: float = 900.0) -> dict[str, Any]:
    """Poll a job until it is done; a failed job stops the demo with its error."""
    url = job.get("url") or f"/jobs/{job['id']}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = request(c, "GET", url)
        if state["state"] == "done":
            return state  # type: ignore[no-any-return]
        if state["state"] == "failed":
            raise RuntimeError(f"job {url} failed: {state.get('error')}")
        time.sleep(0.5)
    raise TimeoutError(f"job {url} did not finish in {timeout:.0f} s")


def pages(c: httpx.Client, path: str, params: dict[str, Any], size: int = 500) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        page = request(c, "GET", path, params={**params, "limit": size, "offset": offset})
        yield from page["items"]
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return


@dataclass
class Report:
    """What the load did, step by step (printed, and kept for the day's report)."""

    started: float = field(default_factory=time.monotonic)
    counts: dict[str, int] = field(default_factory=dict)

    def step(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {text}", flush=True)


async def _publish_and_wait(
    what: list[tuple[str, Any]], topic: str, source: str, groups: tuple[str, ...], *, report: Report, label: str
) -> None:
    t0 = time.monotonic()
    await publish(bootstrap(), topic, source, what)
    for group in groups:
        await caught_up(bootstrap(), group, topic)
    report.step(f"{label}: {len(what)} published on {topic}, taken in {time.monotonic() - t0:.1f} s")


async def _settle(groups: tuple[tuple[str, str], ...]) -> None:
    """Wait until the services have taken what the others published (outbox topics)."""
    for group, topic in groups:
        await caught_up(bootstrap(), group, topic, transactional=True)


def _run(kind: str, up_to: date, report: Report, label: str) -> dict[str, Any]:
    with api("invoicing") as c:
        job = request(c, "POST", "/billing-runs", json={"kind": kind, "mode": "confirm", "up_to": up_to.isoformat()})
        final = wait_job(c, job)
    report.step(f"{label}: billing run {job['id']} confirmed, {final.get('result')}")
    return final


def _payments(demo: demo_data.DemoData, today: date) -> list[tuple[str, ReferencePaymentReceived]]:
    """One bank payment per paid or partly paid earlier invoice, by its reference."""
    plan = {(h.request.customer_number, h.request.invoice_date): h for h in demo.history}
    names = {c.number: c.data.name for c in demo.customers}
    out = []
    with api("invoicing") as c:
        for inv in pages(c, "/invoices", {"status": "confirmed"}):
            h = plan.get((inv["customer_number"], date.fromisoformat(inv["invoice_date"])))
            if h is None or h.plan == "unpaid" or not inv.get("reference"):
                continue
            amount = cents(Decimal(inv["gross"]) * h.paid_share)
            paid_on = min(date.fromisoformat(inv["due_date"]) - timedelta(days=h.paid_days_before_due), today)
            payment = ReferencePaymentReceived(
                payment_id=f"ARK-{paid_on:%Y%m%d}-{inv['id']:07d}",
                reference=inv["reference"],
                amount=amount,
                payment_date=paid_on,
                payer_name=names.get(inv["customer_number"]),
            )
            out.append((inv["reference"], payment))
    return out


def _send_history(out: Path, report: Report) -> dict[str, int]:
    """The earlier months' invoices and reminders were sent then: send every channel's
    waiting documents, then move what the workers wrote to ``out/history``."""
    sent: dict[str, int] = {}
    with api("dispatch") as c:
        for channel in CHANNELS:
            answer = request(c, "POST", f"/sending/{channel}/send", json={"all": True})
            final = wait_job(c, answer["job"])
            sent[channel] = int(answer.get("selected", 0))
            report.step(
                f"history sent by {channel}: {answer.get('selected')} document(s), failures {final['failures']}"
            )
    time.sleep(1.5)  # the print worker closes its batch on its next tick
    history = out / "history"
    for folder in ("mail", "einvoice", "print"):
        (history / folder).mkdir(parents=True, exist_ok=True)
        for item in sorted((out / folder).glob("*")):
            if item.is_file():
                shutil.move(str(item), history / folder / item.name)
    return sent


async def load(
    out: Path, customers: int, seed: int, today: date, progress: Callable[[str], None] | None = None
) -> None:
    report = Report()
    demo = demo_data.generate(customers, seed, today, vat_rates())
    c = demo.counts
    print(
        f"== Loading the demo data (seed {seed}, today {today:%d.%m.%Y}) ==\n"
        f"{c['customers']} customers ({c['customers.person']} persons, {c['customers.company']} companies;"
        f" e-mail {c['customers.channel.email']}, e-invoice {c['customers.channel.einvoice']},"
        f" paper {c['customers.channel.print']}; {c['customers.broken']} with broken billing data)",
        flush=True,
    )

    await _publish_and_wait(
        [(u.customer_number, u) for u in demo.upserts()],
        topics.CUSTOMER_UPSERTS.name,
        "urn:demo:crm",
        ("customers",),
        report=report,
        label="customers from the CRM",
    )
    await _settle((("invoicing-profiles", topics.BILLING_PROFILES.name), ("reminders", topics.BILLING_PROFILES.name)))
    report.step("billing profiles taken by invoicing and reminders")

    # --- the earlier months -------------------------------------------------------------
    for days_ago in demo_data.HISTORY_DAYS_AGO:
        day = today - timedelta(days=days_ago)
        month = [(h.request.customer_number, h.request) for h in demo.history if h.request.invoice_date == day]
        await _publish_and_wait(
            month,
            topics.BILLING_REQUESTS.name,
            "urn:demo:orders",
            ("invoicing-requests",),
            report=report,
            label=f"subscription requests of {day:%d.%m.%Y}",
        )
        _run("subscription", day, report, f"billed {day:%d.%m.%Y}")
    await _settle((("reminders", topics.INVOICES.name), ("dispatch", topics.INVOICES.name)))

    payments = _payments(demo, today)
    await _publish_and_wait(
        payments,
        topics.REFERENCE_PAYMENTS.name,
        "urn:demo:bank",
        ("invoicing-payments",),
        report=report,
        label=f"reference payments from the bank ({sum(1 for h in demo.history if h.plan == 'partial')} partial)",
    )
    await _settle((("reminders", topics.INVOICES.name),))

    with api("reminders") as r:
        job = request(
            r, "POST", "/reminders/create", json={"level": 1, "all": True, "date": demo.first_reminder_on.isoformat()}
        )
        final = wait_job(r, job)
    report.step(f"reminder #1 of {demo.first_reminder_on:%d.%m.%Y}: {final.get('result')}")
    await _settle((("dispatch", topics.REMINDERS.name),))
    history_sent = _send_history(out, report)

    # --- today ----------------------------------------------------------------------------
    await _publish_and_wait(
        [(r.customer_number, r) for r in demo.requests],
        topics.BILLING_REQUESTS.name,
        "urn:demo:orders",
        ("invoicing-requests",),
        report=report,
        label=f"today's requests ({c['requests.subscription']} subscriptions, {c['requests.notice']} notices)",
    )
    await _publish_and_wait(
        [(x.customer_number, x) for x in demo.cancellations],
        topics.BILLING_REQUESTS.name,
        "urn:demo:orders",
        ("invoicing-requests",),
        report=report,
        label="orders cancelled",
    )
    state = {
        "seed": seed,
        "customers": customers,
        "today": today.isoformat(),
        "counts": demo.counts,
        "payments": len(payments),
        "history_sent": history_sent,
        "load_s": round(time.monotonic() - report.started, 1),
        "broken": [{"number": b.number, "why": b.broken, "fix": list(b.fix)} for b in demo.broken()],
    }
    (out / STATE_FILE).write_text(json.dumps(state, indent=2))
    report.step("loaded")


def run(out: Path, customers: int, seed: int, today: date) -> None:
    out.mkdir(parents=True, exist_ok=True)
    asyncio.run(load(out, customers, seed, today))
