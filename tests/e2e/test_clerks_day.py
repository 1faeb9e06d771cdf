"""The clerk's whole day (ARCHITECTURE.md section 6, the seed's 25 steps) on the real
system: four services and three channel workers as separate processes, real Kafka and
PostgreSQL, a real SMTP server. Data comes in only through the inbound topics, as the
CRM, the order and notice systems and the bank import would send it; the clerk works
only through the services' HTTP APIs, with the calls the CLI makes.

Every expected number is worked out by hand in ``tests/e2e/dataset.py``. After the day,
global checks: nothing duplicated anywhere, every document delivered exactly once on its
channel, every Finvoice valid and consistent with its invoice, every PDF readable with
the right number, amount and reference, and the totals of invoicing, reminders and
dispatch agree.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from shared.events.topics import CUSTOMER_UPSERTS
from tests.e2e import dataset as ds
from tests.e2e.system import CHANNELS, System
from tests.support import finvoice as fv
from tests.support import pdf as pdfs
from tests.support.customers import UPSERT_TYPE
from tests.support.kafka import Publisher, ce_headers, wait_for
from tests.support.sales import Inbound, payment
from tests.support.servers import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

D = Decimal
CLERK = {"X-Actor": "clerk-1"}
XSD = REPO / "services/dispatch/finvoice/schema/Finvoice3.0.xsd"


# ------------------------------------------------------------------------ helpers
async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


async def job_done(api: httpx.AsyncClient, started: httpx.Response, timeout: float = 120) -> dict[str, Any]:
    """Follow a job a POST started (202 + Location) to its end, as the CLI's progress bar does."""
    await ok(started, 202)
    url = started.headers["Location"]

    async def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = (await api.get(url)).json()
        assert job["state"] != "failed", job
        return job if job["state"] == "done" else None

    result: dict[str, Any] = await wait_for(finished, timeout=timeout, interval=0.2)
    return result


async def requests_page(system: System, kind: str, **params: Any) -> dict[str, Any]:
    """Fetch billing requests (seed steps 7-8), as ``billing invoicing requests``."""
    page: dict[str, Any] = await ok(
        await system.api("invoicing").get("/billing-requests", params={"kind": kind, "limit": 1000, **params})
    )
    return page


async def billing_run(system: System, kind: str, mode: str, **body: Any) -> dict[str, Any]:
    """Run a billing run (steps 14-16), as ``billing invoicing run``: the job, then the run."""
    api = system.api("invoicing")
    job = await job_done(api, await api.post("/billing-runs", json={"kind": kind, "mode": mode, **body}, headers=CLERK))
    run: dict[str, Any] = await ok(await api.get(f"/billing-runs/{job['id']}"))
    assert run["summary"] is not None
    return run


async def run_invoices(system: System, run_id: str) -> list[dict[str, Any]]:
    page = await ok(await system.api("invoicing").get(f"/billing-runs/{run_id}/invoices", params={"limit": 1000}))
    items: list[dict[str, Any]] = page["items"]
    return items


def check_summary(run: dict[str, Any], expected: dict[str, Any]) -> None:
    s = run["summary"]
    assert (s["invoices"], s["requests"]) == (expected["invoices"], expected["requests"])
    totals = s["totals"]
    assert (D(totals["net"]), D(totals["vat"]), D(totals["gross"])) == (
        expected["net"],
        expected["vat"],
        expected["gross"],
    )
    assert s["by_channel"] == expected["by_channel"]


async def candidates(system: System, level: int, **params: Any) -> dict[str, Any]:
    """Fetch the candidates for reminder #level (step 2), as ``billing reminders candidates``."""
    page: dict[str, Any] = await ok(
        await system.api("reminders").get("/reminders/candidates", params={"level": level, **params})
    )
    return page


async def create_reminders(system: System, level: int, **body: Any) -> dict[str, Any]:
    """Select all + create reminder #level (steps 3-5), as ``billing reminders create --all``."""
    api = system.api("reminders")
    started = await api.post("/reminders/create", json={"level": level, "all": True, **body}, headers=CLERK)
    await job_done(api, started)
    summary: dict[str, Any] = await ok(await api.get(f"/reminders{started.headers['Location']}/summary"))
    return summary


def by_customer(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = {r["customer_number"]: r for r in page["items"]}
    assert len(rows) == len(page["items"])  # one invoice per customer in each list of this data set
    return rows


async def sending(system: System) -> dict[str, dict[str, Any]]:
    rows = await ok(await system.api("dispatch").get("/sending"))
    return {r["channel"]: r for r in rows}


ALL_STATES = ("waiting", "queued", "sending", "staged", "retry", "delivered", "failed")


async def documents(system: System, channel: str, *states: str) -> list[dict[str, Any]]:
    """A channel's documents (default: in any state; the API's default is "waiting")."""
    params: dict[str, Any] = {"limit": 1000, "state": list(states or ALL_STATES)}
    page = await ok(await system.api("dispatch").get(f"/sending/{channel}/documents", params=params))
    assert page["total"] == len(page["items"])
    items: list[dict[str, Any]] = page["items"]
    return items


def amount_fi(value: Decimal) -> str:
    """33.00 -> '33,00' (every amount of this data set is under 1 000)."""
    assert value < 1000
    return f"{value:.2f}".replace(".", ",")


def fi_amount(text: str) -> Decimal:
    return D(text.replace(",", "."))


# ---------------------------------------------------------------- the day before
async def load_history(system: System, inbound: Inbound) -> dict[str, dict[str, Any]]:
    """Customers from the CRM, earlier invoices (one confirmed run over the history
    requests), reminder #1 of 20.10.2026, then the bank's reference payments. Returns the
    history invoices by customer."""
    topic = system.sandbox.topic(CUSTOMER_UPSERTS.name)
    for number, data in ds.CUSTOMERS.items():
        body = {"customer_number": number, "customer": data}
        await inbound.publisher.send(topic, body, key=number, headers=ce_headers(UPSERT_TYPE, source="urn:test:crm"))
    # the customers service keeps every card and flags the three broken ones
    customers = system.api("customers")

    async def all_cards() -> dict[str, Any] | None:
        page: dict[str, Any] = (await customers.get("/customers/invalid", params={"limit": 100})).json()
        ready = await system.scalar("customers", "SELECT count(*) FROM customers") if "items" in page else 0
        return page if ready == len(ds.CUSTOMERS) and len(page["items"]) == len(ds.BROKEN) else None

    invalid = await wait_for(all_cards, timeout=60)
    codes = {c["customer_number"]: sorted(e["code"] for e in c["errors"]) for c in invalid["items"]}
    assert codes == {n: [code] for n, code in ds.BROKEN_CODES.items()}

    await inbound.requests(*ds.history_requests())

    async def history_ready() -> bool:
        page = await requests_page(system, "subscription", up_to=ds.HISTORY_UP_TO)
        return bool(page["ready"] == ds.HISTORY_INVOICES and page["errors"] == 0)

    await wait_for(history_ready, timeout=60)
    run = await billing_run(system, "subscription", "confirm", up_to=ds.HISTORY_UP_TO)
    check_summary(
        run,
        {
            "invoices": ds.HISTORY_INVOICES,
            "requests": ds.HISTORY_INVOICES,
            "net": D("360.00"),
            "vat": D("36.00"),
            "gross": ds.HISTORY_GROSS,
            "by_channel": ds.HISTORY_BY_CHANNEL,
        },
    )
    history = {i["customer_number"]: i for i in await run_invoices(system, run["run_id"])}
    assert sorted(history) == sorted(ds.HISTORY_DATES)
    assert {c: i["invoice_date"] for c, i in history.items()} == ds.HISTORY_DATES

    # the reminders projection has every history invoice
    await wait_for(lambda: _has(system, "reminders", "SELECT count(*) FROM open_items", 12), timeout=60)
    past = await candidates(system, 1, date=ds.HISTORY_REMINDER_DAY)
    assert {c: D(r["total_due"]) for c, r in by_customer(past).items() if r["candidate"]} == ds.HISTORY_REMINDERS
    made = await create_reminders(system, 1, date=ds.HISTORY_REMINDER_DAY)
    assert made["levels"][0]["created"] == len(ds.HISTORY_REMINDERS)

    for pid, customer, amount, on in ds.PAYMENTS:
        await inbound.payment(payment(pid, history[customer]["reference"], amount, on))
    # invoicing matched every payment by its reference, and reminders saw them
    paid = "SELECT coalesce(sum(paid), 0) FROM invoices"
    await wait_for(lambda: _has(system, "invoicing", paid, ds.PAID_TOTAL), timeout=60)
    projected = "SELECT coalesce(sum(paid_total), 0) FROM open_items"
    await wait_for(lambda: _has(system, "reminders", projected, ds.PAID_TOTAL), timeout=60)
    return history


async def _has(system: System, service: str, sql: str, want: Any) -> bool:
    return bool(await system.scalar(service, sql) == want)


# ---------------------------------------------------------------- the clerk's day
async def test_the_clerks_day(system: System) -> None:
    clock = Steps()
    async with Publisher(system.sandbox.bootstrap) as publisher:
        inbound = Inbound(system.sandbox, publisher)
        history = await load_history(system, inbound)
        clock.lap("history: customers, earlier invoices, reminder #1 of 20.10, payments")

        # today's requests arrive from the order and notice systems, some orders cancelled
        await inbound.requests(*ds.subscription_requests(), *ds.notice_requests())
        for order, customer in ds.CANCELLATIONS:
            await inbound.cancel(order, customer)

        # ---- Tab "Invoices": steps 1-6 -------------------------------------------------
        await reminders_level_1(system)
        await reminders_level_2(system)
        clock.lap("steps 1-6: reminders #1 and #2")

        # ---- Tab "Billing": steps 7-17 -------------------------------------------------
        await billing_subscriptions(system)
        clock.lap("steps 7-16: subscriptions (fix, preview, run, PDF)")
        await billing_notices(system)
        clock.lap("step 17: notices")

    # ---- Tab "Sending": steps 18-25 ----------------------------------------------------
    await send_every_channel(system)
    clock.lap("steps 18-25: e-mail preview, send e-mail, e-invoice, print")

    # ---- the checks across the whole system --------------------------------------------
    await check_no_duplicates(system)
    await check_documents_delivered_once(system)
    await check_finvoices(system)
    await check_pdfs(system)
    await check_totals_agree(system, history)
    check_no_personal_data_in_logs(system)
    clock.lap("global checks")
    print(clock.report())  # shown with -s / -rP: where the test's time goes


class Steps:
    """Wall-clock time per part of the day (printed, never asserted)."""

    def __init__(self) -> None:
        self.started = self.last = time.monotonic()
        self.laps: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps.append((name, now - self.last))
        self.last = now

    def report(self) -> str:
        lines = [f"{seconds:6.1f} s  {name}" for name, seconds in self.laps]
        return "\n".join([*lines, f"{time.monotonic() - self.started:6.1f} s  the day (after start-up)"])


async def reminders_level_1(system: System) -> None:
    page = await candidates(system, 1)  # the service's clock: 23.11.2026
    assert page["date"] == ds.TODAY
    rows = by_customer(page)
    assert {c: D(r["total_due"]) for c, r in rows.items() if r["candidate"]} == ds.REMINDER1
    assert {c: r["reason"] for c, r in rows.items() if not r["candidate"]} == {
        "E04": "paid",
        "E06": "too_early",
        "Y04": "too_early",
    }
    assert (rows["E06"]["earliest"], rows["Y04"]["earliest"]) == ("2026-12-01", "2026-11-26")
    assert rows["E05"]["open_amount"] == "13.00"  # 33.00 - 20.00 paid
    assert (rows["Y02"]["fee"], rows["Y02"]["compensation"]) == ("0.00", "40.00")
    assert all(D(r["interest"]) == 0 and r["interest_not_charged"] for r in rows.values() if r["candidate"])
    totals = page["totals"]
    assert (totals["candidates"], D(totals["total_due"])) == (4, ds.REMINDER1_TOTAL)
    assert {x["reason"]: x["count"] for x in totals["excluded_by_reason"]} == ds.REMINDER1_LEFT_OUT
    assert page["message_fi"] == "Maksumuistutettavia #1: 4 kpl, yhteensä 167,00 €. Ei muistuteta: 3."

    made = await create_reminders(system, 1)
    assert made["levels"][0]["created"] == 4
    assert made["message_en"].startswith("4 payment reminders #1 created.")
    again = await candidates(system, 1)
    assert again["totals"]["candidates"] == 0  # nothing left to remind at level 1


async def reminders_level_2(system: System) -> None:
    page = await candidates(system, 2)
    rows = by_customer(page)
    assert {c: D(r["total_due"]) for c, r in rows.items() if r["candidate"]} == ds.REMINDER2
    too_early = {"E03": "2026-12-07", "E05": "2026-12-07", "P02": "2026-12-07", "Y02": "2026-12-03"}
    assert {c: r["reason"] for c, r in rows.items() if not r["candidate"]} == {
        "E02": "paid",
        **dict.fromkeys(too_early, "too_early"),
    }
    assert {c: rows[c]["earliest"] for c in too_early} == too_early
    assert rows["P01"]["open_amount"] == "23.00"  # 33.00 - 10.00 paid
    assert (rows["Y01"]["fee"], rows["Y01"]["compensation"]) == ("0.00", "0.00")
    totals = page["totals"]
    assert (totals["candidates"], D(totals["total_due"])) == (3, ds.REMINDER2_TOTAL)
    assert {x["reason"]: x["count"] for x in totals["excluded_by_reason"]} == ds.REMINDER2_LEFT_OUT

    made = await create_reminders(system, 2)
    assert made["levels"][0]["created"] == 3
    # 4 + 4 + 3 reminders in all, one per invoice and level
    assert await system.scalar("reminders", "SELECT count(*) FROM reminders") == 11


async def billing_subscriptions(system: System) -> None:
    # steps 7-9: the list with the red error notice and the "virhe" rows
    async def all_in() -> dict[str, Any] | None:
        page = await requests_page(system, "subscription")
        notice = page["notice"]
        arrived = page["total"] == ds.SUBSCRIPTION_LISTED and notice is not None
        return page if arrived and notice["cancelled_requests"] == ds.SUBSCRIPTION_CANCELLED_REQUESTS else None

    page = await wait_for(all_in, timeout=60)
    assert (page["ready"], page["errors"]) == (ds.SUBSCRIPTION_LISTED - ds.SUBSCRIPTION_ERRORS, ds.SUBSCRIPTION_ERRORS)
    notice = page["notice"]
    assert (notice["errors"], notice["cancelled_orders"], notice["cancelled_requests"]) == (
        ds.SUBSCRIPTION_ERRORS,
        ds.SUBSCRIPTION_CANCELLED_ORDERS,
        ds.SUBSCRIPTION_CANCELLED_REQUESTS,
    )
    assert notice["message_fi"].startswith("Virhe: 3 laskutuspyynnössä")
    # errors by reason: one request each (the count is in ``field``)
    assert {r["code"]: r["field"] for r in notice["reasons"]} == dict.fromkeys(ds.BROKEN_CODES.values(), "1")
    errors = {r["customer_number"]: r for r in page["items"] if r["state"] == "error"}
    assert sorted(errors) == ds.BROKEN
    for customer, row in errors.items():
        assert row["label_fi"] == "virhe"
        assert [x["code"] for x in row["reasons"]] == [ds.BROKEN_CODES[customer]]
        assert row["customer_url"] == f"/customers/{customer}"
    cancelled = await requests_page(system, "subscription", state="cancelled")
    assert sorted(r["request_id"] for r in cancelled["items"]) == ["S-E07-2", "S-Y05"]

    # steps 10-12: the clerk opens each card from the row and fixes it; the notice's errors go
    customers = system.api("customers")
    for customer, row in errors.items():
        card = await ok(await customers.get(row["customer_url"]))
        assert card["valid"] is False
        patched = await ok(await customers.patch(row["customer_url"], json=ds.FIXES[customer], headers=CLERK))
        assert (patched["valid"], patched["errors"]) == (True, [])
    assert (await ok(await customers.get("/customers/invalid")))["items"] == []

    async def all_fixed() -> dict[str, Any] | None:
        p = await requests_page(system, "subscription")
        # the rows too: the API reads its rows and its counts in two statements, so one
        # answer can count 0 errors and still show a "virhe" row (seen; see the report)
        clean = not [r for r in p["items"] if r["state"] == "error"]
        return p if p["errors"] == 0 and p["ready"] == ds.SUBSCRIPTION_LISTED and clean else None

    page = await wait_for(all_fixed, timeout=60)
    assert page["notice"]["errors"] == 0 and page["notice"]["reasons"] == []
    assert not [r for r in page["items"] if r["label_fi"] == "virhe"]

    # steps 13-14: select all, preview: the summary, and nothing persisted
    invoices_before = await system.scalar("invoicing", "SELECT count(*) FROM invoices")
    preview = await billing_run(system, "subscription", "preview")
    check_summary(preview, ds.SUBSCRIPTION_RUN)
    assert await system.scalar("invoicing", "SELECT count(*) FROM invoices") == invoices_before == 12
    last = "SELECT last_value FROM invoice_series WHERE series = $1"
    assert await system.scalar("invoicing", last, "subscription") == 12  # no number consumed
    assert (await requests_page(system, "subscription"))["ready"] == ds.SUBSCRIPTION_LISTED

    # steps 15-16: the run for real, its summary and the summary PDF
    run = await billing_run(system, "subscription", "confirm")
    check_summary(run, ds.SUBSCRIPTION_RUN)
    assert [(x["code"], x["count"]) for x in run["summary"]["left_out"]] == [("order-cancelled", 2)]
    issued = await run_invoices(system, run["run_id"])
    # numbers continue the series after the 12 history invoices: 1 000 000 013 ... 031
    assert sorted(i["number"] for i in issued) == list(range(1_000_000_013, 1_000_000_032))
    assert {i["customer_number"]: D(i["gross"]) for i in issued} == {
        c: ds.gross_of_subscription(c) for c in ds.SUBSCRIBERS if c != "Y05"
    }
    await check_summary_pdf(system, run["run_id"], ds.SUBSCRIPTION_RUN, first=1_000_000_013, last=1_000_000_031)
    after = await requests_page(system, "subscription")
    assert (after["total"], after["ready"], after["errors"]) == (0, 0, 0)


async def billing_notices(system: System) -> None:
    # step 17: the same for notices (the cancelled order is reported, nothing in error)
    async def all_in() -> dict[str, Any] | None:
        page = await requests_page(system, "notice")
        notice = page["notice"]
        return page if page["total"] == 6 and notice is not None and notice["cancelled_requests"] == 1 else None

    page = await wait_for(all_in, timeout=60)
    assert (page["ready"], page["errors"], page["notice"]["errors"]) == (6, 0, 0)
    assert not [r for r in page["items"] if r["label_fi"] == "virhe"]
    preview = await billing_run(system, "notice", "preview")
    check_summary(preview, ds.NOTICE_RUN)
    assert await system.scalar("invoicing", "SELECT count(*) FROM invoices WHERE kind = 'notice'") == 0
    run = await billing_run(system, "notice", "confirm")
    check_summary(run, ds.NOTICE_RUN)
    issued = await run_invoices(system, run["run_id"])
    # the notice series starts at 2 000 000 001
    assert sorted(i["number"] for i in issued) == list(range(2_000_000_001, 2_000_000_007))
    assert {i["customer_number"]: D(i["gross"]) for i in issued} == dict.fromkeys(ds.NOTICE_CUSTOMERS, D("30.37"))
    vat = {(D(v["rate"]), D(v["vat"])) for i in issued for v in i["vat_breakdown"]}
    assert vat == {(D("25.5"), D("6.17"))}
    await check_summary_pdf(system, run["run_id"], ds.NOTICE_RUN, first=2_000_000_001, last=2_000_000_006)


async def check_summary_pdf(system: System, run_id: str, expected: dict[str, Any], *, first: int, last: int) -> None:
    response = await system.api("invoicing").get(f"/billing-runs/{run_id}/summary.pdf", params={"language": "fi"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = pdfs.text(response.content)
    assert amount_fi(expected["gross"]) in text
    assert amount_fi(expected["net"]) in text and amount_fi(expected["vat"]) in text
    flat = " ".join(text.split())
    # the facts table: invoices, requests, left out, gross; then per channel; then the list
    facts = re.search(r"Laskutetaan yhteensä (\d+) (\d+) (\d+) ([\d ,]+) €", flat)
    assert facts is not None, flat[:1500]
    assert facts.groups() == (
        str(expected["invoices"]),
        str(expected["requests"]),
        str(expected["left_out"]),
        amount_fi(expected["gross"]),
    )
    channels = expected["by_channel"]
    assert (
        f"Sähköposti {channels['email']} Verkkolasku {channels['einvoice']} "
        f"Paperilasku (tulostus) {channels['print']} Yhteensä {expected['invoices']}"
    ) in flat
    assert f"Laskut ({expected['invoices']})" in flat
    missing = [n for n in range(first, last + 1) if str(n) not in text]  # the list of every invoice
    assert missing == []
    assert "ESIKATSELU" not in text


# ------------------------------------------------------------------------ sending
async def send_every_channel(system: System) -> None:
    # steps 18-19: every document has arrived in its channel's queue
    async def arrived() -> dict[str, dict[str, Any]] | None:
        counts = await sending(system)
        waiting = {ch: counts[ch]["waiting"] for ch in CHANNELS}
        return counts if all(waiting[ch] >= ds.WAITING[ch] for ch in CHANNELS) else None

    await wait_for(arrived, timeout=90)
    counts = await sending(system)
    assert {ch: counts[ch]["waiting"] for ch in CHANNELS} == ds.WAITING
    dispatch = system.api("dispatch")
    # step 22: with preview on, the e-mails are rendered and nothing is sent
    started = await dispatch.post("/sending/email/send", json={"all": True, "preview": True}, headers=CLERK)
    answer = await ok(started, 202)
    assert answer["message_fi"] == "Esikatselu: 22 asiakirjaa muodostetaan sähköpostilla; mitään ei lähetetä."
    job = await job_done(dispatch, started, timeout=180)
    assert job["result"] == {"rendered": ds.WAITING["email"], "problems": 0}
    assert system.sink.count() == 0
    assert (await sending(system))["email"]["waiting"] == ds.WAITING["email"]
    sent_words = {"email": "sähköpostilla", "einvoice": "verkkolaskuna", "print": "tulostettuna"}
    for channel in CHANNELS:  # steps 20-25: one channel at a time, select all, preview off, send
        started = await dispatch.post(f"/sending/{channel}/send", json={"all": True}, headers=CLERK)
        answer = await ok(started, 202)
        assert answer["selected"] == ds.WAITING[channel]
        # step 24: the confirmation, e.g. "22 asiakirjaa lähetetään sähköpostilla."
        assert answer["message_fi"].startswith(f"{ds.WAITING[channel]} asiakirjaa lähetetään {sent_words[channel]}")
        job = await job_done(dispatch, started, timeout=180)
        assert (job["done"], job["total"], job["failures"]) == (ds.WAITING[channel],) * 2 + (0,)
        assert job["result"] == {"queued": ds.WAITING[channel], "delivered": ds.WAITING[channel], "failed": 0}
        counts = await sending(system)
        assert (counts[channel]["waiting"], counts[channel]["delivered"], counts[channel]["failed"]) == (
            0,
            ds.WAITING[channel],
            0,
        )
    await system.sink.wait_for(ds.WAITING["email"], timeout=60)


# --------------------------------------------------------------- global checks
def expected_documents() -> Counter[tuple[str, str, int | None, str, str, Decimal]]:
    """(channel, kind, reminder level, customer, document date, amount) of every
    document the day must have delivered, from the data set alone."""
    out: Counter[tuple[str, str, int | None, str, str, Decimal]] = Counter()
    for c, day in ds.HISTORY_DATES.items():
        out[(ds.CHANNEL[c], "invoice", None, c, day, D("33.00"))] += 1
    for c, amount in ds.HISTORY_REMINDERS.items():
        out[(ds.CHANNEL[c], "reminder", 1, c, ds.HISTORY_REMINDER_DAY, amount)] += 1
    for level, table in ((1, ds.REMINDER1), (2, ds.REMINDER2)):
        for c, amount in table.items():
            out[(ds.CHANNEL[c], "reminder", level, c, ds.TODAY, amount)] += 1
    for c in ds.SUBSCRIBERS:
        if c != "Y05":  # its only order was cancelled
            out[(ds.CHANNEL[c], "invoice", None, c, ds.TODAY, ds.gross_of_subscription(c))] += 1
    for c in ds.NOTICE_CUSTOMERS:
        out[(ds.CHANNEL[c], "invoice", None, c, ds.TODAY, D("30.37"))] += 1
    return out


async def check_no_duplicates(system: System) -> None:
    # invoice numbers unique and gap-free per series
    rows = await system.fetch("invoicing", "SELECT series, number FROM invoices WHERE status = 'confirmed'")
    numbers: dict[str, list[int]] = {}
    for r in rows:
        numbers.setdefault(r["series"], []).append(r["number"])
    assert {s: sorted(n) for s, n in numbers.items()} == {
        "subscription": list(range(1_000_000_001, 1_000_000_032)),  # 12 history + 19 today
        "notice": list(range(2_000_000_001, 2_000_000_007)),
    }
    # one invoice per billing request
    per_request = await system.fetch(
        "invoicing",
        "SELECT invoice_id, count(*) AS n FROM billing_requests WHERE status = 'invoiced' GROUP BY invoice_id",
    )
    assert len(per_request) == 12 + 19 + 6 and {r["n"] for r in per_request} == {1}
    # one reminder per invoice and level
    reminders = await system.fetch("reminders", "SELECT invoice_id, level FROM reminders")
    assert len(reminders) == 11 and len({(r["invoice_id"], r["level"]) for r in reminders}) == 11
    # one document per source and channel, one final delivery each, in the dispatch database
    docs = await system.fetch("dispatch", "SELECT id, source, source_id, channel, state FROM documents")
    assert len(docs) == sum(ds.WAITING.values()) == 48
    assert len({(d["source"], d["source_id"], d["channel"]) for d in docs}) == 48
    delivered = await system.fetch(
        "dispatch", "SELECT document_id, count(*) AS n FROM delivery_attempts WHERE outcome = 'delivered' GROUP BY 1"
    )
    assert len(delivered) == 48 and {r["n"] for r in delivered} == {1}
    # at the receivers: each mail once (Message-ID), one Finvoice file per e-invoice
    # document, one print-batch row per print document
    mail_ids = system.sink.message_ids()
    assert len(mail_ids) == ds.WAITING["email"] and set(mail_ids.values()) == {1}
    files = sorted(p.name for p in system.einvoice_folder.iterdir() if not p.name.startswith("."))
    einvoice_docs = [d["id"] for d in docs if d["channel"] == "einvoice"]
    assert files == sorted(f"finvoice-{i}.xml" for i in einvoice_docs)
    rows_ = print_rows(system.print_folder)
    print_docs = [d["id"] for d in docs if d["channel"] == "print"]
    assert sorted(r["document_id"] for r in rows_) == sorted(print_docs)


def print_rows(folder: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for manifest in sorted(folder.glob("print-send-*.csv")):
        rows += list(csv.DictReader(io.StringIO(manifest.read_text()), delimiter=";"))
    return rows


async def check_documents_delivered_once(system: System) -> None:
    got: Counter[tuple[str, str, int | None, str, str, Decimal]] = Counter()
    for channel in CHANNELS:
        items = await documents(system, channel)
        assert {d["state"] for d in items} == {"delivered"}
        for d in items:
            got[
                (d["channel"], d["kind"], d["reminder_level"], d["customer_number"], d["document_date"], D(d["amount"]))
            ] += 1
    assert got == expected_documents()


async def _document_index(system: System) -> dict[str, dict[str, Any]]:
    """Dispatch's documents by id, with what the invoice or reminder says to pay."""
    index: dict[str, dict[str, Any]] = {}
    for channel in CHANNELS:
        for d in await documents(system, channel):
            index[d["id"]] = d
    invoices = await system.fetch("invoicing", "SELECT number, reference, gross, net, vat FROM invoices")
    by_number = {str(r["number"]): r for r in invoices}
    for d in index.values():
        inv = by_number[d["number"]]  # a reminder carries its invoice's number and reference
        d["reference"] = inv["reference"]
        d["invoice"] = inv
    return index


async def check_finvoices(system: System) -> None:
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    index = await _document_index(system)
    seen = 0
    for path in sorted(system.einvoice_folder.glob("finvoice-*.xml")):
        doc = index[path.name.removeprefix("finvoice-").removesuffix(".xml")]
        _, root = fv.parts(path.read_bytes())
        schema.assertValid(root)  # the official Finvoice 3.0 XSD
        # a reminder's own number is its invoice's number and its level (1000000009-1)
        level = doc["reminder_level"]
        assert fv.one(root, "InvoiceDetails/InvoiceNumber") == doc["number"] + (f"-{level}" if level else "")
        assert fv.one(root, "EpiDetails/EpiPaymentInstructionDetails/EpiRemittanceInfoIdentifier") == doc["reference"]
        instructed = fi_amount(fv.one(root, "EpiDetails/EpiPaymentInstructionDetails/EpiInstructedAmount"))
        assert instructed == D(doc["amount"])
        # to the customer's own e-invoice address, through its operator (B02's as fixed)
        customer = ds.CUSTOMERS[doc["customer_number"]]
        fixed = {**customer, **ds.FIXES.get(doc["customer_number"], {})}
        assert fv.one(root, "BuyerPartyDetails/BuyerPartyIdentifier") == customer["business_id"]
        assert fv.one(root, ".//MessageReceiverDetails/ToIdentifier") == customer["einvoice_address"]
        assert fv.one(root, ".//MessageReceiverDetails/ToIntermediator") == fixed["einvoice_operator"] == ds.OPERATOR
        if doc["kind"] == "invoice":
            inv = doc["invoice"]
            assert fv.one(root, "InvoiceDetails/InvoiceTypeCode") == "INV01"
            assert fi_amount(fv.one(root, "InvoiceDetails/InvoiceTotalVatIncludedAmount")) == inv["gross"]
            assert fi_amount(fv.one(root, "InvoiceDetails/InvoiceTotalVatExcludedAmount")) == inv["net"]
            assert fi_amount(fv.one(root, "InvoiceDetails/InvoiceTotalVatAmount")) == inv["vat"]
            rates = {fi_amount(t) for t in fv.texts(root, "InvoiceDetails/VatSpecificationDetails/VatRatePercent")}
            assert rates == ({D("25.5")} if doc["number"].startswith("2") else {D("10")})
        else:
            assert fv.one(root, "InvoiceDetails/InvoiceTypeCode") == "INV08"
        seen += 1
    assert seen == ds.WAITING["einvoice"]


async def check_pdfs(system: System) -> None:
    index = await _document_index(system)
    # e-mail: each mail's PDF says its number, amount and reference
    mails = system.sink.messages()
    assert len(mails) == ds.WAITING["email"]
    by_receipt = {d["receipt"]: d for d in index.values() if d["channel"] == "email"}
    for mail in mails:
        doc = by_receipt[str(mail["Message-ID"])]
        customer = doc["customer_number"]
        assert mail["To"].addresses[0].addr_spec == f"{customer.lower()}@example.com"  # B01's as fixed
        (attachment,) = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
        text = pdfs.text(attachment.get_content())
        _assert_pdf_says(text, doc)
    # print: each document's pages in the batch PDF say the same
    printed = 0
    for manifest in sorted(system.print_folder.glob("print-send-*.json")):
        meta = json.loads(manifest.read_text())
        pdf = manifest.with_suffix(".pdf").read_bytes()
        pages = pdfs.page_texts(pdf)
        rows = list(csv.DictReader(io.StringIO(manifest.with_suffix(".csv").read_text()), delimiter=";"))
        assert [e["document_id"] for e in meta["documents"]] == [r["document_id"] for r in rows]
        at = 0
        for r in rows:
            count = int(r["page_count"])
            doc = index[r["document_id"]]
            assert r["customer_number"] == doc["customer_number"]
            text = "\n".join(pages[at : at + count])
            _assert_pdf_says(text, doc)
            street = ds.CUSTOMERS[doc["customer_number"]]["address"]["street_lines"][0]
            assert street in text  # the address block of the customer's own card
            if doc["customer_number"] == "B03":
                assert "33100 Tampere" in " ".join(text.split())  # the postal code the clerk added
            at += count
            printed += 1
        assert at == len(pages)
    assert printed == ds.WAITING["print"]


def _assert_pdf_says(text: str, doc: dict[str, Any]) -> None:
    flat = " ".join(text.split())
    assert doc["number"] in flat, doc["id"]
    assert amount_fi(D(doc["amount"])) in flat, (doc["id"], doc["amount"])
    reference = doc["reference"]
    grouped = " ".join(reversed([reference[max(0, i - 5) : i] for i in range(len(reference), 0, -5)]))
    assert grouped in flat, (doc["id"], grouped)


async def check_totals_agree(system: System, history: dict[str, dict[str, Any]]) -> None:
    # invoicing: every invoice's gross, what is still open after the payments
    invoiced = await system.scalar("invoicing", "SELECT sum(gross) FROM invoices WHERE status = 'confirmed'")
    open_in_invoicing = await system.scalar("invoicing", "SELECT sum(gross - paid - credited) FROM invoices")
    assert (invoiced, open_in_invoicing) == (ds.INVOICES_GROSS, ds.OPEN_AFTER_PAYMENTS)
    listed = await ok(await system.api("invoicing").get("/invoices", params={"limit": 500}))
    assert listed["total"] == 12 + 19 + 6
    assert sum(D(i["open_amount"]) for i in listed["items"]) == ds.OPEN_AFTER_PAYMENTS
    # reminders: its projection of the same invoices, and the reminders it made
    projected = await system.fetch("reminders", "SELECT sum(gross) AS g, sum(open_amount) AS o FROM open_items")
    assert (projected[0]["g"], projected[0]["o"]) == (ds.INVOICES_GROSS, ds.OPEN_AFTER_PAYMENTS)
    reminded = await system.scalar("reminders", "SELECT sum(total_due) FROM reminders")
    assert reminded == ds.REMINDERS_TOTAL
    # dispatch: the documents it delivered carry the same amounts
    docs = await system.fetch("dispatch", "SELECT kind, sum(amount) AS s FROM documents GROUP BY kind")
    assert {r["kind"]: r["s"] for r in docs} == {
        "invoice": ds.INVOICES_GROSS,
        "reminder": ds.REMINDERS_TOTAL,
    }
    # one spot check across all three for an invoice paid in part and reminded twice
    p01 = history["P01"]
    item = await ok(await system.api("reminders").get(f"/invoices/{p01['id']}"))
    assert (D(item["open_amount"]), [r["level"] for r in item["reminders"]]) == (D("23.00"), [1, 2])


def check_no_personal_data_in_logs(system: System) -> None:
    """Section 4: names, addresses and e-mail addresses never reach a log."""
    logs = sorted((system.folder / "logs").glob("*.log"))
    assert len(logs) == 7  # four services, three workers
    for log in logs:
        text = log.read_text(errors="replace")
        for personal in ("Testi Henkilö", "Testiyhtiö", "@example.com", "Kotikatu", "Teollisuustie"):
            assert personal not in text, (log.name, personal)
