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

import re
import time
from typing import Any

import pytest

from shared.events.topics import CUSTOMER_UPSERTS
from tests.e2e import dataset as ds
from tests.e2e.checks import (
    check_documents_delivered_once,
    check_finvoices,
    check_no_duplicates,
    check_no_personal_data_in_logs,
    check_pdfs,
    check_totals_agree,
)
from tests.e2e.clerk import (
    D,
    amount_fi,
    billing_run,
    by_customer,
    candidates,
    check_summary,
    create_reminders,
    job_done,
    ok,
    requests_page,
    run_invoices,
    sending,
)
from tests.e2e.system import CHANNELS, System
from tests.support import pdf as pdfs
from tests.support.customers import UPSERT_TYPE
from tests.support.kafka import Publisher, ce_headers, wait_for
from tests.support.sales import Inbound, payment

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


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
    # 14 full days after the due date 16.11. for a consumer, 10 for a business (policy.toml)
    assert (rows["E06"]["earliest"], rows["Y04"]["earliest"]) == ("2026-12-01", "2026-11-27")
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
    # #1 today 23.11.: 14 full days between letters for a consumer (23.11. + 15), 10 for a business (+ 11)
    too_early = {"E03": "2026-12-08", "E05": "2026-12-08", "P02": "2026-12-08", "Y02": "2026-12-04"}
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
        # the cancelled requests are listed too (with the errors, before the ready ones)
        arrived = page["total"] == ds.SUBSCRIPTION_LISTED + ds.SUBSCRIPTION_CANCELLED_REQUESTS and notice is not None
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
    errors_by_code = {r["code"]: r["field"] for r in notice["reasons"] if r["state"] == "error"}
    assert errors_by_code == dict.fromkeys(ds.BROKEN_CODES.values(), "1")
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
        patched = await ok(await customers.patch(row["customer_url"], json=ds.FIXES[customer]))
        assert (patched["valid"], patched["errors"]) == (True, [])
    assert (await ok(await customers.get("/customers/invalid")))["items"] == []

    async def all_fixed() -> dict[str, Any] | None:
        p = await requests_page(system, "subscription")
        # every answer agrees with itself (rows and counts come from one snapshot), even
        # while the fixed profiles are still arriving
        listed_errors = sum(r["state"] == "error" for r in p["items"])
        assert listed_errors == p["errors"] or p["total"] > len(p["items"]), p
        return p if p["errors"] == 0 and p["ready"] == ds.SUBSCRIPTION_LISTED else None

    page = await wait_for(all_fixed, timeout=60)
    assert page["notice"]["errors"] == 0 and [r for r in page["notice"]["reasons"] if r["state"] == "error"] == []
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
        # 6 ready and the cancelled one
        return page if page["total"] == 7 and notice is not None and notice["cancelled_requests"] == 1 else None

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
    started = await dispatch.post("/sending/email/send", json={"all": True, "preview": True})
    answer = await ok(started, 202)
    assert answer["message_fi"] == "Esikatselu: 22 asiakirjaa muodostetaan sähköpostilla; mitään ei lähetetä."
    job = await job_done(dispatch, started, timeout=180)
    assert job["result"] == {"rendered": ds.WAITING["email"], "problems": 0}
    assert system.sink.count() == 0
    assert (await sending(system))["email"]["waiting"] == ds.WAITING["email"]
    sent_words = {"email": "sähköpostilla", "einvoice": "verkkolaskuna", "print": "tulostettuna"}
    for channel in CHANNELS:  # steps 20-25: one channel at a time, select all, preview off, send
        started = await dispatch.post(f"/sending/{channel}/send", json={"all": True})
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
