"""The clerk's request list on real Kafka and PostgreSQL (issue 16): requests refused at
intake are listed and counted per kind with their reason and the way to get them
invoiced (replay), and leave the list once replayed and stored; an order cancelled
after it was invoiced marks its row with the invoice to correct; a list longer than a
page puts every problem first, filters by reason, and pages without losing a row."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.invoicing.app import build as build_invoicing
from services.invoicing.app import http_app as invoicing_http_app
from services.invoicing.config import Settings as InvoicingSettings
from shared.events import topics
from shared.events.sales import OrderCancelled
from tests.integration.conftest import API_TOKEN
from tests.integration.test_invoicing_flow import listing, run
from tests.support.credentials import as_clerk
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, wait_for
from tests.support.sales import NOTICE_LINE, Inbound, profile, request

pytestmark = pytest.mark.integration

# A VAT table with the general rate only: a subscription's 10 % (newspapers) is "not in
# force" by it, as when a release ships a table that lacks a rate.
GENERAL_ONLY = """
[[rate]]
category = "general"
rate = "25.5"
valid_from = 2024-09-01
description_fi = "Yleinen verokanta"
description_en = "General rate"
source = "test"
"""
GENERAL_LINE = ("MAINOS", "Mainos", "1", "40.00", "25.5", None)


class Service:
    """The invoicing service in this process with a chosen VAT table, and its API."""

    def __init__(self, sandbox: Sandbox, vat_table: Path | None) -> None:
        kwargs = sandbox.settings_kwargs(daily_run_enabled=False, jobs_poll_interval_s=0.1)
        self.runtime = build_invoicing(InvoicingSettings(**kwargs, vat_table_path=vat_table))

    async def __aenter__(self) -> httpx.AsyncClient:
        await self.runtime.start()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=invoicing_http_app(self.runtime, title="invoicing (test)")),
            base_url="http://invoicing",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        )
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        await self.runtime.stop()


@pytest.fixture
async def publisher(sandbox: Sandbox) -> AsyncIterator[Inbound]:
    async with Publisher(sandbox.bootstrap) as p:
        yield Inbound(sandbox, p)


async def test_refused_requests_listed_per_kind_until_replayed_and_stored(
    sandbox: Sandbox, publisher: Inbound, tmp_path: Path
) -> None:
    table = tmp_path / "vat.toml"
    table.write_text(GENERAL_ONLY)
    broken = request("R1", "C-1")  # 10 %: refused by the short table
    bad_data = request("R3", "C-2")
    bad_data["lines"][0]["quantity"] = "-1"  # refused by the contract, whatever the table
    async with Service(sandbox, table) as api:
        await publisher.profiles(profile("C-1"), profile("C-2"))
        await publisher.requests(
            broken,
            request("R2", "C-2", lines=(GENERAL_LINE,)),
            bad_data,
            request("N1", "C-1", kind="notice", lines=(NOTICE_LINE,)),  # 25.5 % allowed, NOTICE_LINE is 25.5
            request("N2", "C-2", kind="notice", lines=(("ILM-2", "Ilmoitus", "1", "10.00", "10", None),)),
        )
        # a record nobody can read, and a refused cancellation (not a billing request)
        await publisher._send(
            topics.BILLING_REQUESTS.name, "C-9", "fi.billing.sales.billing-request-submitted.v1", b"{nope", "urn:x"
        )
        await publisher._send(
            topics.BILLING_REQUESTS.name, "C-1", OrderCancelled.EVENT_TYPE, {"customer_number": "C-1"}, "urn:x"
        )

        async def dead() -> bool:
            return (await api.get("/dead-letters")).json()["total"] == 5

        await wait_for(dead, timeout=30)

        async def stored() -> bool:
            return (await listing(api))["ready"] == 1

        await wait_for(stored, timeout=30)
        subs = await listing(api)
        # the refused rows come first, then the ready one
        assert [(r["request_id"], r["state"]) for r in subs["items"]] == [
            ("R1", "refused"),
            ("R3", "refused"),
            ("R2", "ready"),
        ]
        assert (subs["refused"], subs["total"]) == (2, 3)
        n = subs["notice"]
        assert (n["refused"], n["refused_unknown_kind"], n["errors"]) == (2, 1, 0)
        assert "2 laskutuspyyntöä hylättiin" in n["message_fi"] and "2 billing requests were refused" in n["message_en"]
        assert "1 hylätyn viestin laskutuslajia ei voi lukea" in n["message_fi"]
        assert sorted((r["state"], r["code"], r["count"]) for r in n["reasons"]) == [
            ("refused", "invalid-data", 1),
            ("refused", "vat-rate-invalid", 1),
        ]
        r1 = subs["items"][0]
        assert r1["label_fi"].startswith("virhe") and r1["customer_number"] == "C-1"
        assert r1["dead_letter_id"] is not None and r1["order_id"] == "O-R1"
        assert r1["reasons"][0]["code"] == "vat-rate-invalid"
        assert r1["reasons"][0]["message_fi"].startswith("ALV-kanta ei ole voimassa palvelupäivänä: lines[0]")
        assert r1["reasons"][0]["message_en"].startswith("VAT rate not in force on the service date: lines[0]")
        assert "uudelleen" in r1["action_fi"] and "replay" in r1["action_en"]
        only = await listing(api, state="refused", reason="vat-rate-invalid")
        assert [r["request_id"] for r in only["items"]] == ["R1"] and only["total"] == 1

        notices = await listing(api, kind="notice")
        assert [(r["request_id"], r["state"]) for r in notices["items"]] == [("N2", "refused"), ("N1", "ready")]
        assert (notices["notice"]["refused"], notices["notice"]["refused_unknown_kind"]) == (1, 1)

    # ops fix the table (a release with the full table), then replay the refused requests
    async with Service(sandbox, None) as api:
        replay = await api.post(
            "/dead-letters/replay",
            json={"ids": [subs["items"][0]["dead_letter_id"], subs["items"][1]["dead_letter_id"]]},
            headers=as_clerk("clerk-1"),
        )
        assert replay.json()["replayed"] == 2, replay.text

        async def billed() -> dict[str, Any] | None:
            body = await listing(api)
            return body if body["ready"] == 2 else None

        after = await wait_for(billed, timeout=30)
        # R1 is stored and ready; R3 was refused again (a new dead letter): listed once
        assert [(r["request_id"], r["state"]) for r in after["items"]] == [
            ("R3", "refused"),
            ("R1", "ready"),
            ("R2", "ready"),
        ]
        assert after["notice"]["refused"] == 1
        assert after["items"][0]["dead_letter_id"] != subs["items"][1]["dead_letter_id"]
        assert (await api.get("/billing-requests/R1")).json()["state"] == "ready"
        assert (await listing(api, state="refused", reason="vat-rate-invalid"))["total"] == 0


async def test_order_cancelled_after_invoicing_marks_the_row_with_its_invoice(
    sandbox: Sandbox, publisher: Inbound, invoicing: Any, invoicing_api: httpx.AsyncClient
) -> None:
    api = invoicing_api
    await publisher.profiles(profile("C-1"))
    await publisher.requests(
        request("R1", "C-1", order_id="O-1"),
        request("R2", "C-1", order_id="O-2"),
        request("R3", "C-1", order_id="O-3"),
    )
    await publisher.cancel("O-3", "C-1")  # before the run: the run reports it

    async def in_() -> bool:
        body = await listing(api)
        return body["ready"] == 2 and body["notice"] is not None and body["notice"]["cancelled_requests"] == 1

    await wait_for(in_, timeout=30)
    assert [r["request_id"] for r in (await listing(api, reason="order-cancelled"))["items"]] == ["R3"]
    confirmed = await run(api, kind="subscription", mode="confirm")
    [invoice] = (await api.get(f"/billing-runs/{confirmed['run_id']}/invoices")).json()["items"]
    await publisher.cancel("O-1", "C-1")

    async def told() -> dict[str, Any] | None:
        body = await listing(api)
        return body if body["notice"] and body["notice"]["invoiced_cancelled"] == 1 else None

    body = await wait_for(told, timeout=30)
    [row] = body["items"]
    assert (row["request_id"], row["state"], row["label_fi"]) == (
        "R1",
        "cancelled-after-invoicing",
        "peruttu laskutuksen jälkeen",
    )
    assert (row["invoice_id"], row["invoice_number"]) == (invoice["id"], invoice["number"])
    [reason] = row["reasons"]
    assert reason["code"] == "invoiced-order-cancelled"
    assert f"tee laskusta {invoice['number']} hyvityslasku" in reason["message_fi"]
    assert f"corrective invoice of invoice {invoice['number']}" in reason["message_en"]
    assert [(r["state"], r["code"], r["count"]) for r in body["notice"]["reasons"]] == [
        ("cancelled-after-invoicing", "invoiced-order-cancelled", 1)
    ]
    only = await listing(api, state="cancelled-after-invoicing")
    assert [r["request_id"] for r in only["items"]] == ["R1"]
    # R3's cancellation was reported by the run: history, no longer counted nor behind the notice's link
    assert (await listing(api, reason="order-cancelled"))["total"] == 0
    assert [r["request_id"] for r in (await listing(api, state="cancelled"))["items"]] == ["R3"]
    assert (await api.get("/billing-requests/R1")).json()["invoice_number"] == invoice["number"]

    # the corrective invoice is made: the row is history, the notice goes away
    draft = (await api.post(f"/invoices/{invoice['id']}/corrective", json={"return_mode": "non-chargeable"})).json()
    line = next(x for x in draft["lines"] if x["request_id"] == "R1" and not x.get("reversal"))
    assert (await api.patch(f"/invoices/{draft['id']}/lines/{line['line_no']}", json={"quantity": "0"})).is_success
    assert (await api.post(f"/invoices/{draft['id']}/confirm")).is_success
    after = await listing(api)
    assert (after["notice"], after["total"]) == (None, 0)
    assert (await api.get("/billing-requests/R1")).json()["state"] == "invoiced"


async def test_a_long_list_puts_problems_first_filters_by_reason_and_pages(
    sandbox: Sandbox, invoicing: Any, invoicing_api: httpx.AsyncClient
) -> None:
    """2,456 subscription requests, 75 of them of customers with bad billing data (50
    without an address, 25 with a bad e-mail) sorted among the others: seeded in the
    database (intake is tested elsewhere)."""
    api = invoicing_api
    bad = {f"C-{i:05d}": ("address-missing" if n % 3 else "email-invalid") for n, i in enumerate(range(7, 2407, 32))}
    customers = [f"C-{i:05d}" for i in range(2456)]
    lines = json.dumps([request("x", "x")["lines"][0]])
    profiles = [
        (
            c,
            c not in bad,
            json.dumps(
                [{"code": bad[c], "field": "x", "message_fi": f"fi {bad[c]}", "message_en": f"en {bad[c]}"}]
                if c in bad
                else []
            ),
        )
        for c in customers
    ]
    rows = [(f"R-{c}", c) for c in customers]
    conn = await asyncpg.connect(sandbox.plain_db_url)
    try:
        await conn.executemany(
            "INSERT INTO billing_profiles (customer_number, version, valid, errors, snapshot, consumer)"
            " VALUES ($1, 1, $2, $3::jsonb, '{}'::jsonb, true)",
            profiles,
        )
        await conn.executemany(
            "INSERT INTO billing_requests (request_id, kind, customer_number, order_id, invoice_date,"
            " payment_terms_days, lines, line_count, net, content_hash, status, source)"
            " VALUES ($1, 'subscription', $2, $1, DATE '2026-11-23', 14, $3::jsonb, 1, 30, $1, 'open', 'test')",
            [(r, c, lines) for r, c in rows],
        )
    finally:
        await conn.close()

    first = await listing(api, limit=500)
    assert (first["total"], first["errors"], first["ready"]) == (2456, 75, 2381)
    assert [r["customer_number"] for r in first["items"][:75]] == sorted(bad)
    assert all(r["state"] == "error" for r in first["items"][:75])
    assert all(r["state"] == "ready" for r in first["items"][75:])
    reasons = {(r["state"], r["code"]): r["count"] for r in first["notice"]["reasons"]}
    want = {("error", code): sum(1 for v in bad.values() if v == code) for code in set(bad.values())}
    assert reasons == want
    for (state, code), count in want.items():
        page = await listing(api, reason=code, limit=1000)  # what the notice's link asks
        assert page["total"] == count and {r["state"] for r in page["items"]} == {state}
        assert sorted(r["customer_number"] for r in page["items"]) == sorted(c for c, v in bad.items() if v == code)

    seen: list[str] = []
    for offset in range(0, 2456, 500):
        page = await listing(api, limit=500, offset=offset)
        assert page["total"] == 2456
        seen.extend(r["request_id"] for r in page["items"])
    assert len(seen) == len(set(seen)) == 2456

    assert (await api.get("/billing-requests", params={"kind": "subscription", "reason": "a b"})).status_code == 422
