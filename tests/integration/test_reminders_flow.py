"""Seed steps 1-6 on real Kafka and PostgreSQL, as the issue lists them: invoices issued
and partly paid -> candidates #1 -> create #1 -> ReminderIssued events -> the same
command again creates nothing -> a payment settles one -> it is not a #2 candidate ->
#2 for the rest -> collection candidates -> hand-over with the whole claim.

Dates are in the first half of 2026 (reference rate 2.5 %, so penalty interest 9.5 %
for consumers and 10.5 % between businesses). Every amount is worked by hand below.
Invoices: the default test invoice of ``tests.support.documents``, 63.37 gross, issued
2.3.2026 with 14 days' terms: due 16.3.2026, interest from 17.3.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from services.reminders.runtime import RemindersRuntime
from shared.events.invoicing import InvoiceDocument
from shared.events.reminders import HandedOverToCollection, ReminderIssued
from shared.events.topics import REMINDERS
from tests.support import documents
from tests.support import reminders_events as ev
from tests.support.credentials import as_clerk
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, read_topic, wait_for
from tests.support.reminders_runtime import api_client, finished_job, running

pytestmark = pytest.mark.integration

D = Decimal
ISSUED = date(2026, 3, 2)
DAY1 = date(2026, 3, 31)  # due + 15: the first day a consumer's reminder #1 may be made
DAY2 = date(2026, 4, 15)  # reminder #1 + 15: 14 full days between letters (KKV 21.10.2024)
DAY3 = date(2026, 4, 30)  # reminder #2 + 15: the day after its due date (#2 + 14 = 29.4.): collection


@pytest.fixture
async def reminders(sandbox: Sandbox) -> AsyncIterator[RemindersRuntime]:
    async with running(sandbox) as runtime:
        yield runtime


@pytest.fixture
async def api(reminders: RemindersRuntime) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(reminders) as client:
        yield client


def invoice(number: int, who: str, consumer: bool = True) -> InvoiceDocument:
    data = documents.PERSON if consumer else documents.COMPANY
    return documents.invoice(number, who=documents.customer(who, data), invoice_date=ISSUED)


async def publish(sandbox: Sandbox, *records: ev.Record) -> None:
    async with Publisher(sandbox.bootstrap) as pub:
        for r in records:
            await pub.send(r[0], r[1], key=r[2], headers=r[3])


def by_id(listing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["invoice_id"]: row for row in listing["items"]}


async def reminder_events(sandbox: Sandbox, expect: int, settle: float = 1.0) -> list[Any]:
    """Everything on the reminders topic once ``expect`` records are there, and
    ``settle`` seconds more (so that one too many would show)."""
    records = await read_topic(
        sandbox.bootstrap, sandbox.topic(REMINDERS.name), expect=expect, timeout=60, settle=settle
    )
    out: list[Any] = []
    for r in records:
        kind = dict(r.headers)["ce_type"].decode()
        model = ReminderIssued if kind == ReminderIssued.EVENT_TYPE else HandedOverToCollection
        out.append((r.key.decode() if r.key else None, model.model_validate_json(r.value)))
    return out


async def test_reminders_one_and_two_then_collection(
    sandbox: Sandbox, reminders: RemindersRuntime, api: httpx.AsyncClient
) -> None:
    p = sandbox.prefix
    one, two, three, four = (invoice(1000000001 + i, f"C-{i + 1}") for i in range(4))
    paid_on_time = invoice(1000000005, "C-5")
    business = invoice(1000000006, "B-1", consumer=False)
    await publish(
        sandbox,
        *(ev.issued(p, d) for d in (one, two, three, four, paid_on_time, business)),
        ev.payment(
            p, two, "20.00", date(2026, 3, 20), paid_total="20.00", open_amount="43.37", status="partially-paid"
        ),
        ev.payment(p, paid_on_time, "63.37", date(2026, 3, 10), paid_total="63.37", open_amount="0.00", status="paid"),
        ev.profile(p, "C-4", documents.PERSON.model_copy(update={"no_reminders": True}), version=3, consumer=True),
    )
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM open_items", 6), timeout=60)
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM open_item_movements", 2))
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM customer_flags", 1))
    disputed = await api.put(
        f"/invoices/{three.invoice_id}/dispute", json={"disputed": True, "reason": "tilaus peruttu"},
        headers=as_clerk("clerk-1"),
    )  # fmt: skip
    assert disputed.status_code == 200 and disputed.json()["disputed"] is True

    # --- step 2: candidates for reminder #1 on 31.3.2026 ------------------------------
    listing = (await api.get("/reminders/candidates", params={"level": 1, "date": DAY1.isoformat()})).json()
    rows = by_id(listing)
    assert {k for k, r in rows.items() if r["candidate"]} == {one.invoice_id, two.invoice_id, business.invoice_id}
    assert {k: r["reason"] for k, r in rows.items() if not r["candidate"]} == {
        three.invoice_id: "disputed",
        four.invoice_id: "no_reminders",
    }  # paid on time: not listed at all
    assert rows[three.invoice_id]["message_fi"] == "Lasku on riitautettu."
    assert rows[four.invoice_id]["message_en"] == "The customer gets no reminders."
    # one: 63.37 open, fee 5.00; interest 17.3.-31.3. = 15 days at 9.5 %:
    #      63.37 * 0.095 * 15 / 365 = 90.30225 / 365 = 0.2474 -> 0.25; total 68.62
    r1 = rows[one.invoice_id]
    assert (r1["open_amount"], r1["fee"], r1["compensation"], r1["interest"], r1["total_due"]) == (
        "63.37", "5.00", "0.00", "0.25", "68.62",
    )  # fmt: skip
    assert (r1["days_overdue"], r1["new_due_date"]) == (15, "2026-04-14")
    # two: 43.37 open; 17.3.-20.3. 4 days on 63.37: 24.0806 / 365 = 0.0660 -> 0.07;
    #      21.3.-31.3. 11 days on 43.37: 43.37 * 0.095 * 11 / 365 = 45.32165 / 365 = 0.1242 -> 0.12
    #      interest 0.19, total 43.37 + 5.00 + 0.19 = 48.56
    r2 = rows[two.invoice_id]
    assert [x["amount"] for x in r2["interest_periods"]] == ["0.07", "0.12"]
    assert (r2["open_amount"], r2["interest"], r2["total_due"]) == ("43.37", "0.19", "48.56")
    # business: 40.00 compensation, the 12.00 reminder cost within it (no fee);
    #      15 days at 10.5 %: 63.37 * 0.105 * 15 / 365 = 99.80775 / 365 = 0.2734 -> 0.27; total 103.64
    rb = rows[business.invoice_id]
    assert (rb["fee"], rb["compensation"], rb["interest"], rb["total_due"]) == ("0.00", "40.00", "0.27", "103.64")
    assert listing["totals"]["candidates"] == 3
    assert listing["totals"]["total_due"] == "220.82"  # 68.62 + 48.56 + 103.64
    assert listing["message_fi"] == "Maksumuistutettavia #1: 3 kpl, yhteensä 220,82 €. Ei muistuteta: 2."
    assert listing["message_en"] == "Candidates for reminder #1: 3, 220.82 € in all. Left out: 2."
    assert {x["reason"]: x["count"] for x in listing["totals"]["excluded_by_reason"]} == {
        "disputed": 1,
        "no_reminders": 1,
    }

    # --- steps 3-5: select all, create #1, the answer ----------------------------------
    create = {"level": 1, "all": True, "date": DAY1.isoformat()}
    summary = await finished_job(api, await api.post("/reminders/create", json=create, headers=as_clerk("clerk-1")))
    (level1,) = summary["levels"]
    assert level1["created"] == 3
    assert {s["reason"]: s["count"] for s in level1["skipped"]} == {"disputed": 1, "no_reminders": 1}
    assert summary["message_fi"] == (
        "Maksumuistutuksia #1 luotiin 3 kpl. Ohitettiin 2: riitautettu 1, ei muistutuksia 1."
    )
    assert summary["message_en"] == "3 payment reminders #1 created. 2 skipped: disputed 1, no reminders 1."
    events = await reminder_events(sandbox, expect=3)
    assert len(events) == 3
    docs = {e.reminder.invoice_id: (key, e.reminder) for key, e in events}
    key, doc = docs[one.invoice_id]
    assert key == "C-1"
    assert (doc.level, doc.reminder_date, doc.due_date) == (1, DAY1, date(2026, 4, 14))
    assert (doc.open_amount, doc.fee, doc.interest, doc.total_due) == (D("63.37"), D("5.00"), D("0.25"), D("68.62"))
    assert (doc.reference, doc.invoice_number) == (one.reference, one.invoice_number)
    assert (doc.customer.data.delivery_channel, doc.customer.data.language) == ("email", "fi")
    assert [(p.start, p.end, p.days, p.rate) for p in doc.interest_periods] == [(date(2026, 3, 17), DAY1, 15, D("9.5"))]
    _, bdoc = docs[business.invoice_id]
    assert (bdoc.compensation, bdoc.customer.consumer, bdoc.customer.data.delivery_channel) == (
        D("40.00"), False, "einvoice",
    )  # fmt: skip

    # --- the same command again creates nothing ----------------------------------------
    again = await finished_job(api, await api.post("/reminders/create", json=create))
    assert again["levels"][0]["created"] == 0
    assert await sandbox.scalar("SELECT count(*) FROM reminders") == 3
    assert len(await reminder_events(sandbox, expect=3, settle=3.0)) == 3  # nothing more on the topic

    # --- a payment settles one: it is not a #2 candidate ---------------------------------
    await publish(
        sandbox,
        ev.payment(p, one, "63.37", date(2026, 4, 5), paid_total="63.37", open_amount="0.00", status="paid"),
        ev.settled(p, one, date(2026, 4, 5)),
    )
    await wait_for(lambda: sandbox.has(f"SELECT status FROM open_items WHERE invoice_id = '{one.invoice_id}'", "paid"))
    too_early = by_id((await api.get("/reminders/candidates", params={"level": 2, "date": "2026-04-14"})).json())
    assert too_early[two.invoice_id]["reason"] == "too_early"  # the 14th day after #1: not yet
    assert too_early[two.invoice_id]["earliest"] == DAY2.isoformat()
    listing2 = by_id((await api.get("/reminders/candidates", params={"level": 2, "date": DAY2.isoformat()})).json())
    assert {k for k, r in listing2.items() if r["candidate"]} == {two.invoice_id, business.invoice_id}
    assert listing2[one.invoice_id]["reason"] == "paid"
    # two on 15.4.: 0.07 + 21.3.-15.4. 26 days on 43.37: 43.37 * 0.095 * 26 / 365 = 107.1239 / 365
    #      = 0.2935 -> 0.29; 0.36 in all; total 43.37 + 5.00 + 0.36 = 48.73
    assert (listing2[two.invoice_id]["interest"], listing2[two.invoice_id]["total_due"]) == ("0.36", "48.73")
    # business on 15.4.: nothing more charged (2 x 12 = 24 < 40); 17.3.-15.4. 30 days at 10.5 %:
    #      63.37 * 0.105 * 30 / 365 = 199.6155 / 365 = 0.5469 -> 0.55; total 63.92
    rb2 = listing2[business.invoice_id]
    assert (rb2["fee"], rb2["compensation"], rb2["interest"], rb2["total_due"]) == ("0.00", "0.00", "0.55", "63.92")

    # --- step 6: #2 for the rest ------------------------------------------------------------
    create2 = {"level": 2, "all": True, "date": DAY2.isoformat()}
    summary2 = await finished_job(api, await api.post("/reminders/create", json=create2))
    assert summary2["levels"][0]["created"] == 2
    assert {s["reason"]: s["count"] for s in summary2["levels"][0]["skipped"]} == {"paid": 1}
    levels = await sandbox.fetch("SELECT invoice_id, level FROM reminders WHERE level = 2 ORDER BY invoice_id")
    assert [r["invoice_id"] for r in levels] == [two.invoice_id, business.invoice_id]

    # --- collection candidates the day after #2's due date, and the hand-over ---------------
    early = by_id((await api.get("/collection/candidates", params={"date": "2026-04-29"})).json())  # #2's due date
    assert {r["reason"] for r in early.values()} == {"too_early"}
    coll = by_id((await api.get("/collection/candidates", params={"date": DAY3.isoformat()})).json())
    assert {k for k, r in coll.items() if r["candidate"]} == {two.invoice_id, business.invoice_id}
    # two on 30.4.: fees 5.00 + 5.00; interest 0.07 + 21.3.-30.4. 41 days on 43.37:
    #      43.37 * 0.095 * 41 / 365 = 168.92615 / 365 = 0.4628 -> 0.46; 0.53 in all; claim 43.37 + 10.00 + 0.53 = 53.90
    c2 = coll[two.invoice_id]
    assert (c2["open_amount"], c2["fee"], c2["interest"], c2["total_due"]) == ("43.37", "10.00", "0.53", "53.90")
    # business on 30.4.: 40.00 compensation; 17.3.-30.4. 45 days at 10.5 %: 63.37 * 0.105 * 45 / 365
    #      = 299.42325 / 365 = 0.8203 -> 0.82; 63.37 + 40.00 + 0.82 = 104.19
    cb = coll[business.invoice_id]
    assert (cb["compensation"], cb["interest"], cb["total_due"]) == ("40.00", "0.82", "104.19")
    handed = await api.post(
        "/collection/handover",
        json={"invoice_ids": [two.invoice_id], "date": DAY3.isoformat(), "agency": "perintatoimisto-oy"},
        headers=as_clerk("clerk-2"),
    )
    assert handed.status_code == 200, handed.text
    assert (handed.json()["handed_over"], handed.json()["message_en"]) == (1, "1 invoice handed over to collection.")
    twice = await api.post("/collection/handover", json={"invoice_ids": [two.invoice_id], "date": DAY3.isoformat()})
    assert (twice.json()["handed_over"], twice.json()["skipped"]) == (0, [{"reason": "handed_over", "count": 1}])
    events = await reminder_events(sandbox, expect=6)
    handovers = [(k, e) for k, e in events if isinstance(e, HandedOverToCollection)]
    assert len(handovers) == 1
    key, h = handovers[0]
    assert (key, h.invoice_id, h.agency, h.actor, h.handed_over_on) == (
        "C-2", two.invoice_id, "perintatoimisto-oy", "clerk-2", DAY3,
    )  # fmt: skip
    assert (h.open_amount, h.fees, h.compensation, h.interest, h.total_claim) == (
        D("43.37"), D("10.00"), D("0.00"), D("0.53"), D("53.90"),
    )  # fmt: skip
    assert [(r.level, r.reminder_date, r.fee) for r in h.reminders] == [(1, DAY1, D("5.00")), (2, DAY2, D("5.00"))]
    left = by_id((await api.get("/collection/candidates", params={"date": DAY3.isoformat()})).json())
    assert set(left) == {business.invoice_id}


async def test_an_invoice_paid_after_the_list_was_fetched_is_skipped_and_counted(
    sandbox: Sandbox, reminders: RemindersRuntime, api: httpx.AsyncClient
) -> None:
    p = sandbox.prefix
    one, two = invoice(1000000101, "C-1"), invoice(1000000102, "C-2")
    await publish(sandbox, ev.issued(p, one), ev.issued(p, two))
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM open_items", 2), timeout=60)
    listing = (await api.get("/reminders/candidates", params={"level": 1, "date": DAY1.isoformat()})).json()
    selected = [r["invoice_id"] for r in listing["items"] if r["candidate"]]
    assert selected == [one.invoice_id, two.invoice_id]
    # the customer pays one before the clerk presses "create"
    await publish(sandbox, ev.payment(p, one, "63.37", DAY1, paid_total="63.37", open_amount="0.00", status="paid"))
    await wait_for(lambda: sandbox.has(f"SELECT status FROM open_items WHERE invoice_id = '{one.invoice_id}'", "paid"))
    body = {"level": 1, "invoice_ids": selected, "date": DAY1.isoformat()}
    summary = await finished_job(api, await api.post("/reminders/create", json=body))
    assert summary["levels"][0]["created"] == 1
    assert summary["levels"][0]["skipped"] == [
        {"reason": "paid", "count": 1, "message_fi": "Maksettu.", "message_en": "Paid."}
    ]
    assert await sandbox.scalar("SELECT invoice_id FROM reminders") == two.invoice_id


async def test_bad_requests_answer_422_with_the_field(api: httpx.AsyncClient) -> None:
    neither = await api.post("/reminders/create", json={"level": 1})
    assert neither.status_code == 422
    assert neither.json()["detail"][0]["loc"] == ["body"]
    too_high = await api.get("/reminders/candidates", params={"level": 3, "date": DAY1.isoformat()})
    assert too_high.status_code == 422
    assert too_high.json()["detail"][0]["loc"] == ["query", "level"]
    before_policy = await api.get("/reminders/candidates", params={"level": 1, "date": "2021-01-01"})
    assert before_policy.status_code == 422
    assert before_policy.json()["detail"][0]["loc"] == ["query", "date"]
    missing = await api.put("/invoices/nope/dispute", json={"disputed": True})
    assert missing.status_code == 404
    assert missing.json()["detail"]["message_fi"] == "Laskua nope ei löydy avoimista eristä."
