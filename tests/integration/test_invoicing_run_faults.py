"""What one customer's data or one sender's mistake may not do, on real Kafka and
PostgreSQL (issue 16, "Invoicing"):

- the issue's notice request (99,999 x 999,999.99 EUR) is refused at intake with its
  reason; a customer whose requests together would pass the invoice limit
  (``shared.limits.MAX_INVOICE_AMOUNT``, 100,000,000.00 EUR) is left out of a confirmed
  run with the reason and its customer number; the others are billed, numbers gap-free;
- an order cancelled while its request sits on a draft is not billed: confirmation
  drops its lines (or the whole draft) and says so, taking no number for a dropped draft;
- a record whose Kafka key is not its body's customer number is refused (dead letter
  ``key-not-customer-number``), billing requests and cancellations alike.

Hand-computed: a request of 60,000 x 1,000.00 @ 25.5 % is net 60,000,000.00, VAT
15,300,000.00, gross 75,300,000.00 (under the limit); two of them on one invoice are
gross 150,600,000.00 (over it). 1 x 30.00 @ 10 % = 33.00.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.events import topics
from shared.events.sales import BillingRequestSubmitted, OrderCancelled
from shared.runtime import Runtime
from tests.integration.test_invoicing_flow import pdf_text, run
from tests.integration.test_invoicing_lifecycle import ready
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, ce_headers, read_topic, wait_for
from tests.support.sales import Inbound, cancellation, profile, request, seed_ready

pytestmark = pytest.mark.integration

SUBSCRIPTION_FIRST = 1_000_000_001
BIG = ("ILM-XL", "Koko sivun ilmoitus", "60000", "1000.00", "25.5", None)


async def _dead_letters(api: httpx.AsyncClient, n: int) -> list[dict[str, Any]]:
    async def dead() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = (await api.get("/dead-letters")).json()["items"]
        return items if len(items) >= n else None

    result: list[dict[str, Any]] = await wait_for(dead, timeout=30)
    return result


async def test_a_request_no_invoice_can_carry_is_refused_at_intake(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    huge = request("N-HUGE", "L-1", kind="notice", lines=(("ILM", "Ilmoitus", "99999", "999999.99", "25.5", None),))
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.requests(huge, request("N-OK", "L-1", kind="notice"))
        await wait_for(lambda: sandbox.has("SELECT count(*) FROM billing_requests", 1), timeout=30)
    [letter] = await _dead_letters(invoicing_api, 1)
    assert letter["error_code"] == "amount-over-limit"
    assert "100,000,000.00" in letter["reason"] and "100 000 000,00" in letter["reason"].replace("\u00a0", " ")
    assert [r[0] for r in await sandbox.fetch("SELECT request_id FROM billing_requests")] == ["N-OK"]


async def test_a_customer_over_the_invoice_limit_is_left_out_and_the_others_are_billed(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    await seed_ready(sandbox, 3)  # S-000001 .. S-000003, 33.00 each
    # S-000002 also has two big requests, each under the limit alone, over it together;
    # S-000003 one the intake of old accepted (the issue's: 99,999 x 999,999.99, over
    # every limit), as it may still sit in the table
    await _stored(sandbox, "S-000002", "BIG-1", *BIG[2:4])
    await _stored(sandbox, "S-000002", "BIG-2", *BIG[2:4])
    await _stored(sandbox, "S-000003", "HUGE-1", "99999", "999999.99")
    done = await run(invoicing_api, kind="subscription", mode="confirm")  # fails the test if the job fails
    summary = done["summary"]
    assert (summary["invoices"], summary["requests"]) == (1, 1)
    assert Decimal(summary["totals"]["gross"]) == Decimal("33.00")
    [left] = summary["left_out"]
    assert (left["code"], left["count"], left["customers"]) == ("invoice-over-limit", 5, ["S-000002", "S-000003"])
    assert "100 000 000,00" in left["message_fi"].replace("\u00a0", " ") and "€100,000,000.00" in left["message_en"]
    issued = await sandbox.fetch("SELECT customer_number, number FROM invoices ORDER BY number")
    assert [(r[0], r[1]) for r in issued] == [("S-000001", SUBSCRIPTION_FIRST)]  # none taken for those left out
    states = await sandbox.fetch(
        "SELECT customer_number, status, count(*) FROM billing_requests WHERE customer_number <> 'S-000001' "
        "GROUP BY 1, 2 ORDER BY 1"
    )
    assert [tuple(r) for r in states] == [("S-000002", "open", 3), ("S-000003", "open", 2)]
    [record] = await read_topic(sandbox.bootstrap, sandbox.topic(topics.INVOICES.name), expect=1)
    assert json.loads(record.value)["invoice"]["customer"]["customer_number"] == "S-000001"
    pdf = await invoicing_api.get(f"/billing-runs/{done['run_id']}/summary.pdf", params={"language": "en"})
    assert "S-000003" in pdf_text(pdf.content)
    # the clerk bills the customer in parts by selecting its requests
    part = await run(invoicing_api, kind="subscription", mode="confirm", request_ids=["S-Rsubscription-2", "BIG-1"])
    assert (part["summary"]["invoices"], part["summary"]["left_out"]) == (1, [])
    numbers = [r[0] for r in await sandbox.fetch("SELECT number FROM invoices ORDER BY number")]
    assert numbers == [SUBSCRIPTION_FIRST, SUBSCRIPTION_FIRST + 1]


async def _stored(sandbox: Sandbox, customer: str, request_id: str, quantity: str, price: str) -> None:
    """A ready request written straight into the table (as intake stores one)."""
    line = {
        "product_code": "ILM-XL",
        "description": "Koko sivun ilmoitus",
        "quantity": quantity,
        "unit": "kpl",
        "unit_price": price,
        "vat_rate": "25.5",
        "vat_category": None,
        "service_period": None,
    }
    await sandbox.fetch(
        """
        INSERT INTO billing_requests (request_id, kind, customer_number, order_id, invoice_date, payment_terms_days,
                                      lines, line_count, net, content_hash, status, source)
        VALUES ($1, 'subscription', $2, 'O-' || $1, DATE '2026-11-23', 14, CAST($3 AS jsonb), 1,
                round(CAST($4 AS numeric) * CAST($5 AS numeric), 2), 'seed', 'open', 'test')
        """,
        request_id,
        customer,
        json.dumps([line]),
        quantity,
        price,
    )


async def test_an_order_cancelled_while_on_a_draft_is_not_billed_at_confirmation(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    api = invoicing_api
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.profiles(profile("D-1"), profile("D-2"), profile("D-3"), profile("D-4"))
        await inbound.requests(
            request("Q1", "D-1", order_id="O-1"),
            request("Q2", "D-1", order_id="O-2"),
            request("Q3", "D-2", order_id="O-3"),
            request("Q4", "D-3", order_id="O-4"),
            request("Q5", "D-4", lines=(("ILM-XL", "Ilmoitus", "1", "999999.99", "25.5", None),)),
        )
        await ready(api, 5)
        drafted = await run(api, kind="subscription", mode="draft")
        assert drafted["summary"]["invoices"] == 4
        # a draft cannot be edited past the invoice limit (100,000 x 999,999.99 would be ~1e11)
        d4 = await sandbox.scalar("SELECT id FROM invoices WHERE customer_number = 'D-4'")
        edited = await api.patch(f"/invoices/{d4}/lines/1", json={"quantity": "100000"})
        assert edited.status_code == 422 and edited.json()["detail"]["code"] == "amount-over-limit", edited.text
        await inbound.cancel("O-1", "D-1")
        await inbound.cancel("O-3", "D-2")
        await inbound.cancel("O-4", "D-3")
        await inbound.cancel("O-Q5", "D-4")
        await wait_for(lambda: sandbox.has("SELECT count(*) FROM cancelled_orders", 4), timeout=30)
    # a draft deleted after its order was cancelled: the request is cancelled, not ready again
    deleted = await api.delete(f"/invoices/{d4}")
    assert deleted.status_code == 200 and deleted.json()["requests_released"] == 0
    assert await sandbox.scalar("SELECT status FROM billing_requests WHERE request_id = 'Q5'") == "cancelled"
    ids = {r[0]: r[1] for r in await sandbox.fetch("SELECT customer_number, id FROM invoices")}

    # one draft, every order cancelled: refused, removed, no number
    one = await api.post(f"/invoices/{ids['D-3']}/confirm")
    assert one.status_code == 409, one.text
    assert one.json()["detail"]["code"] == "orders-cancelled" and "O-4" in one.json()["detail"]["message_fi"]

    bulk = await api.post("/invoices/confirm", json={"all_of_kind": "subscription"})
    assert bulk.status_code == 200, bulk.text
    out = bulk.json()
    assert out["confirmed"] == 1
    dropped = {d["invoice_id"]: d for d in out["dropped"]}
    assert dropped[ids["D-1"]]["whole_draft"] is False and dropped[ids["D-1"]]["request_ids"] == ["Q1"]
    assert dropped[ids["D-1"]]["code"] == "cancelled-lines-dropped" and "O-1" in dropped[ids["D-1"]]["message_en"]
    assert dropped[ids["D-2"]]["whole_draft"] is True and dropped[ids["D-2"]]["code"] == "orders-cancelled"
    [issued] = out["invoices"]
    assert issued["customer_number"] == "D-1" and issued["number"] == SUBSCRIPTION_FIRST
    assert [line["request_id"] for line in issued["lines"]] == ["Q2"]
    assert Decimal(issued["gross"]) == Decimal("33.00")
    assert await sandbox.scalar("SELECT last_value FROM invoice_series WHERE series = 'subscription'") == 1
    assert await sandbox.scalar("SELECT count(*) FROM invoices") == 1
    states = {
        r[0]: (r[1], r[2])
        for r in await sandbox.fetch(
            "SELECT request_id, status, invoice_id FROM billing_requests WHERE request_id <> 'Q5'"
        )
    }
    assert states == {
        "Q1": ("cancelled", None),
        "Q2": ("invoiced", ids["D-1"]),
        "Q3": ("cancelled", None),
        "Q4": ("cancelled", None),
    }
    [record] = await read_topic(sandbox.bootstrap, sandbox.topic(topics.INVOICES.name), expect=1)
    assert [line["request_id"] for line in json.loads(record.value)["invoice"]["lines"]] == ["Q2"]


async def test_a_record_not_keyed_by_its_customer_number_is_refused(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    topic = sandbox.topic(topics.BILLING_REQUESTS.name)
    submitted, cancelled = BillingRequestSubmitted.EVENT_TYPE, OrderCancelled.EVENT_TYPE
    async with Publisher(sandbox.bootstrap) as publisher:
        await publisher.send(topic, request("K1", "K-1"), key="K-OTHER", headers=ce_headers(submitted))
        await publisher.send(topic, cancellation("O-K2", "K-1"), key="K-OTHER", headers=ce_headers(cancelled))
        assert publisher._producer is not None
        await publisher._producer.send_and_wait(  # no key at all
            topic, json.dumps(request("K3", "K-1")).encode(), key=None, headers=ce_headers(submitted)
        )
        await publisher.send(topic, request("K2", "K-1", order_id="O-K2"), key="K-1", headers=ce_headers(submitted))
        await wait_for(lambda: sandbox.has("SELECT count(*) FROM billing_requests", 1), timeout=30)
    letters = await _dead_letters(invoicing_api, 3)
    assert [d["error_code"] for d in letters] == ["key-not-customer-number"] * 3
    assert all("customer number" in d["reason"] and "asiakasnumero" in d["reason"] for d in letters)
    # the good request is stored, and open: the mis-keyed cancellation did not cancel its order
    rows = await sandbox.fetch("SELECT request_id, status FROM billing_requests")
    assert [(r[0], r[1]) for r in rows] == [("K2", "open")]
    assert await sandbox.scalar("SELECT count(*) FROM cancelled_orders") == 0
