"""The invoice life cycle (seed 004) and payments on real Kafka and PostgreSQL:
drafts edited, deleted and confirmed (one-way: 409 afterwards), a corrective invoice
returning the reduced quantity, payments matched by national and RF reference,
partial, full and over payment, unmatched ones allocated by hand, and bad input
dead-lettered with its reason while the next event goes through.

The corrective example (the issue's): 8 hours at 50.00 (@ 25.5 %) billed = net 400.00,
VAT 102.00, gross 502.00. Corrected to 6: reversal -8 x 50.00 = -400.00, new line
6 x 50.00 = 300.00, net -100.00, VAT -25.50, gross -125.50: a credit note; 2 hours
return as a ready request; the original's open amount 502.00 - 125.50 = 376.50.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.events import topics
from shared.runtime import Runtime
from tests.integration.test_invoicing_flow import listing, run
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, ce_headers, read_topic, wait_for
from tests.support.sales import Inbound, payment, profile, request

pytestmark = pytest.mark.integration

HOURS = ("TYO", "Toimitustyö", "8", "50.00", "25.5", None)
PAPER = ("HS-1KK", "Helsingin Sanomat 1 kk", "1", "30.00", "10", ("2026-11-01", "2026-11-30"))


async def ready(api: httpx.AsyncClient, n: int, kind: str = "subscription") -> None:
    async def check() -> bool:
        return (await listing(api, kind=kind))["ready"] == n

    await wait_for(check, timeout=30)


async def test_drafts_edit_delete_confirm_then_read_only(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    api = invoicing_api
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.profiles(profile("D-1"), profile("D-2"))
        await inbound.requests(request("Q1", "D-1", lines=(PAPER, HOURS)), request("Q2", "D-2", lines=(PAPER,)))
        await ready(api, 2)
    drafted = await run(api, kind="subscription", mode="draft")
    assert drafted["summary"]["invoices"] == 2
    assert await sandbox.scalar("SELECT last_value FROM invoice_series WHERE series = 'subscription'") == 0
    drafts = (await api.get("/invoices", params={"status": "draft"})).json()["items"]
    d1 = next(d for d in drafts if d["customer_number"] == "D-1")
    d2 = next(d for d in drafts if d["customer_number"] == "D-2")
    assert d1["number"] is None and Decimal(d1["gross"]) == Decimal("535.00")  # 33.00 + 502.00

    # 8 hours -> 5 on the draft: 250.00 + 63.75 VAT; line 1 non-chargeable: 313.75
    edited = await api.patch(f"/invoices/{d1['id']}/lines/2", json={"quantity": "5"})
    assert edited.status_code == 200, edited.text
    assert Decimal(edited.json()["gross"]) == Decimal("346.75")  # 33.00 + 313.75
    edited = await api.patch(f"/invoices/{d1['id']}/lines/1", json={"chargeable": False})
    assert Decimal(edited.json()["gross"]) == Decimal("313.75")
    assert (await api.patch(f"/invoices/{d1['id']}/lines/9", json={"quantity": "1"})).status_code == 422

    # deleting D-2's draft returns its request to ready
    deleted = await api.delete(f"/invoices/{d2['id']}")
    assert deleted.json() == {"deleted": d2["id"], "requests_released": 1}
    assert (await listing(api))["ready"] == 1

    confirmed = await api.post(f"/invoices/{d1['id']}/confirm", headers={"X-Actor": "clerk-2"})
    assert confirmed.status_code == 200, confirmed.text
    inv = confirmed.json()
    assert inv["number"] == 1000000001 and inv["confirmed_by"] == "clerk-2"
    assert [line["product_code"] for line in inv["lines"] if line["chargeable"]] == ["TYO"]
    # one-way: every write answers 409 now
    for response in (
        await api.patch(f"/invoices/{d1['id']}/lines/2", json={"quantity": "1"}),
        await api.delete(f"/invoices/{d1['id']}"),
        await api.post(f"/invoices/{d1['id']}/confirm"),
    ):
        assert response.status_code == 409, response.text
        assert response.json()["detail"]["code"] == "invoice-confirmed"
    records = await read_topic(sandbox.bootstrap, sandbox.topic(topics.INVOICES.name), expect=1)
    doc = json.loads(records[0].value)["invoice"]
    assert [(line["product_code"], line["quantity"]) for line in doc["lines"]] == [("TYO", "5.000")]
    assert doc["totals"] == {"net": "250.00", "vat": "63.75", "gross": "313.75"}


async def test_corrective_invoice_returns_the_reduced_quantity(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    api = invoicing_api
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.profiles(profile("K-1"))
        await inbound.requests(request("H1", "K-1", kind="notice", lines=(HOURS,)))
        await ready(api, 1, kind="notice")
    await run(api, kind="notice", mode="confirm")
    [original] = (await api.get("/invoices", params={"kind": "notice"})).json()["items"]
    assert (original["number"], Decimal(original["gross"])) == (2000000001, Decimal("502.00"))

    draft = await api.post(f"/invoices/{original['id']}/corrective", json={"return_mode": "ready"})
    assert draft.status_code == 201, draft.text
    corrective = draft.json()
    assert corrective["status"] == "draft" and [line["quantity"] for line in corrective["lines"]] == ["8.000"]
    assert (await api.post(f"/invoices/{original['id']}/corrective", json={})).status_code == 409  # one at a time
    assert (await api.patch(f"/invoices/{corrective['id']}/lines/1", json={"quantity": "9"})).status_code == 422
    set6 = await api.patch(f"/invoices/{corrective['id']}/lines/1", json={"quantity": "6"})
    assert Decimal(set6.json()["gross"]) == Decimal("-125.50")
    issued = (await api.post(f"/invoices/{corrective['id']}/confirm")).json()
    assert (issued["document_type"], issued["number"]) == ("credit-note", 3000000001)
    assert [(line["quantity"], line["net"], line["reversal"]) for line in issued["lines"]] == [
        ("-8.000", "-400.00", True),
        ("6.000", "300.00", False),
    ]
    assert (issued["net"], issued["vat"], issued["gross"]) == ("-100.00", "-25.50", "-125.50")

    after = (await api.get(f"/invoices/{original['id']}")).json()
    assert (after["credited"], after["open_amount"]) == ("-125.50", "376.50")
    assert after["corrective_invoices"] == [corrective["id"]]
    returned = await listing(api, kind="notice")
    [back] = returned["items"]
    assert back["request_id"] == "H1.c3000000001" and back["origin"] == "corrective"
    assert [(line["quantity"], line["unit_price"]) for line in back["lines"]] == [("2.000", "50.0000")]

    records = await read_topic(sandbox.bootstrap, sandbox.topic(topics.INVOICES.name), expect=2)
    by_type = {dict(r.headers)["ce_type"].decode(): json.loads(r.value) for r in records}
    credit = by_type["fi.billing.invoicing.corrective-invoice-issued.v1"]["invoice"]
    assert credit["original_invoice_number"] == "2000000001" and credit["totals"]["gross"] == "-125.50"

    # the returned 2 hours are billed in the next run: 100.00 + 25.50 VAT
    second = await run(api, kind="notice", mode="confirm")
    assert (second["summary"]["invoices"], second["summary"]["totals"]["gross"]) == (1, "125.50")


async def test_payments_by_reference_partial_full_over_and_by_hand(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    api = invoicing_api
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.profiles(profile("P-1"), profile("P-2"), profile("P-3"))
        await inbound.requests(*(request(f"PR{i}", f"P-{i}", lines=(PAPER,)) for i in (1, 2, 3)))
        await ready(api, 3)
        await run(api, kind="subscription", mode="confirm")
        invoices = {i["customer_number"]: i for i in (await api.get("/invoices")).json()["items"]}
        p1, p2, p3 = invoices["P-1"], invoices["P-2"], invoices["P-3"]  # 33.00 each
        await inbound.payment(payment("B1", p1["reference_printed"], "10.00"))  # printed form, spaces
        await inbound.payment(payment("B2", p1["reference_rf"], "23.00"))  # the RF form: the rest
        await inbound.payment(payment("B2", p1["reference_rf"], "23.00"))  # the bank sends it twice
        await inbound.payment(payment("B3", "00000" + p2["reference"], "40.00"))  # padded; overpaid
        await inbound.payment(payment("2026/B4", "12345672", "33.00"))  # valid, but no invoice has it
        await inbound.payment(payment("B5", "1234", "5.00"))  # not a reference at all

        async def all_in() -> bool:
            return (await api.get("/payments")).json()["total"] == 5

        await wait_for(all_in, timeout=30)
    statuses = {
        i["customer_number"]: (i["payment_status"], i["open_amount"])
        for i in (await api.get("/invoices")).json()["items"]
    }
    assert statuses == {"P-1": ("paid", "0.00"), "P-2": ("overpaid", "-7.00"), "P-3": ("open", "33.00")}
    unmatched = (await api.get("/payments", params={"status": "unmatched"})).json()["items"]
    assert sorted((p["payment_id"], p["reason"]) for p in unmatched) == [
        ("2026/B4", "reference-unknown"),
        ("B5", "reference-invalid"),
    ]
    allocated = await api.post(
        "/payments/2026/B4/allocate", json={"invoice_number": p3["number"]}, headers={"X-Actor": "clerk-3"}
    )
    assert allocated.status_code == 200, allocated.text
    assert (allocated.json()["status"], allocated.json()["allocated_by"]) == ("allocated", "clerk-3")
    assert (await api.post("/payments/2026/B4/allocate", json={"invoice_number": p3["number"]})).status_code == 409
    assert (await api.post("/payments/B5/allocate", json={"invoice_number": 1})).status_code == 404

    records = await read_topic(
        sandbox.bootstrap,
        sandbox.topic(topics.INVOICES.name),
        expect=3 + 4 + 3,
        where=lambda r: dict(r.headers)["ce_type"].decode() != "fi.billing.invoicing.invoice-issued.v1",
    )
    kinds = [(dict(r.headers)["ce_type"].decode().split(".")[3], json.loads(r.value)) for r in records]
    recorded = [(e["payment_id"], e["status"], e["open_amount"]) for k, e in kinds if k == "payment-recorded"]
    assert sorted(recorded) == [
        ("2026/B4", "paid", "0.00"),
        ("B1", "partially-paid", "23.00"),
        ("B2", "paid", "0.00"),
        ("B3", "overpaid", "-7.00"),
    ]
    settled = sorted((e["invoice_number"], e["status"]) for k, e in kinds if k == "invoice-settled")
    assert settled == sorted(
        [(str(p1["number"]), "paid"), (str(p2["number"]), "overpaid"), (str(p3["number"]), "paid")]
    )


async def test_bad_requests_are_dead_lettered_with_the_reason_and_the_next_is_stored(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    api = invoicing_api
    topic = sandbox.topic(topics.BILLING_REQUESTS.name)
    kind = "fi.billing.sales.billing-request-submitted.v1"
    negative = request("X1", "E-1", lines=(("A", "a", "-1", "10.00", "25.5", None),))
    absurd = request("X2", "E-1", lines=(("A", "a", "100001", "10.00", "25.5", None),))
    old_rate = request("X3", "E-1", invoice_date="2024-09-01", lines=(("A", "a", "1", "10.00", "24", None),))
    wrong_category = request("X4", "E-1", lines=(("A", "a", "1", "10.00", "25.5", None),))
    wrong_category["lines"][0]["vat_category"] = "periodical-subscription"
    first = request("X5", "E-1")
    reused = request("X5", "E-1", lines=(("B", "b", "2", "10.00", "25.5", None),))
    good = request("X6", "E-1")
    async with Publisher(sandbox.bootstrap) as publisher:
        for body in (negative, absurd, old_rate, wrong_category, first, reused, good, first):
            await publisher.send(topic, json.dumps(body).encode(), key="E-1", headers=ce_headers(kind))
        await publisher.send(topic, b"{not json", key="E-1", headers=ce_headers(kind))

    async def dead() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = (await api.get("/dead-letters")).json()["items"]
        return items if len(items) == 6 else None

    letters = await wait_for(dead, timeout=30)
    reasons = sorted((d["error_code"], d["reason"]) for d in letters)
    codes = [c for c, _ in reasons]
    assert codes.count("invalid-data") == 2 and codes.count("bad-json") == 1, reasons  # negative, absurd; not JSON
    assert next(r for c, r in reasons if c == "invalid-data").startswith("lines.0.quantity")  # the path, no value
    assert "request-id-reused" in codes and "vat-rate-category-mismatch" in codes and "vat-rate-invalid" in codes
    vat = next(r for c, r in reasons if c == "vat-rate-invalid")
    assert "2024-09-01" in vat and "24" in vat
    stored = await sandbox.fetch("SELECT request_id FROM billing_requests ORDER BY 1")
    assert [r[0] for r in stored] == ["X5", "X6"]  # the repeated X5 (same content) changed nothing
