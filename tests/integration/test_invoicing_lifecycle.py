"""The invoice life cycle (seed 004) and payments on real Kafka and PostgreSQL:
drafts edited, deleted and confirmed (one-way: 409 afterwards), corrective invoices
(down: a credit note returning the reduced quantity; up: the difference billed),
payments matched by national and RF reference, partial, full and over payment,
unmatched ones allocated by hand, and bad input dead-lettered with its reason while
the next event goes through.

Corrective invoices as seed 004 says: the draft has every line at quantity 0 with its
original quantity, a line needing no correction is removed, a quantity can go below or
above the original. 8 hours at 50.00 + 2 pictures at 12.10 (@ 25.5 %) billed = net
424.20, VAT 108.17, gross 532.37. Pictures removed, hours to 6: reversal -8 x 50.00 =
-400.00, new line 6 x 50.00 = 300.00, net -100.00, VAT -25.50, gross -125.50: a credit
note; 2 hours return as a ready request; the original's open amount 532.37 - 125.50 =
406.87. Then 6 -> 9 hours: +150.00, VAT 38.25, gross 188.25: a corrective invoice paid
on its own reference; the original's open amount stays.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.events import topics
from shared.runtime import Runtime
from tests.integration.test_invoicing_flow import listing, run
from tests.support.credentials import as_clerk
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, ce_headers, read_topic, wait_for
from tests.support.sales import Inbound, payment, profile, request

pytestmark = pytest.mark.integration

HOURS = ("TYO", "Toimitustyö", "8", "50.00", "25.5", None)
PAPER = ("HS-1KK", "Helsingin Sanomat 1 kk", "1", "30.00", "10", ("2026-11-01", "2026-11-30"))
PICTURE = ("KUVA", "Kuvaliite", "2", "12.10", "25.5", None)


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
    # an invoice draft's line is made non-chargeable, not removed (its request must go somewhere)
    kept = await api.delete(f"/invoices/{d1['id']}/lines/1")
    assert (kept.status_code, kept.json()["detail"]["code"]) == (422, "line-removal-not-on-invoice")

    # deleting D-2's draft returns its request to ready
    deleted = await api.delete(f"/invoices/{d2['id']}")
    assert deleted.json() == {"deleted": d2["id"], "requests_released": 1}
    assert (await listing(api))["ready"] == 1

    confirmed = await api.post(f"/invoices/{d1['id']}/confirm", headers=as_clerk("clerk-2"))
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


async def test_corrective_invoices_as_seed_004_says_down_then_up(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    api = invoicing_api
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.profiles(profile("K-1"))
        await inbound.requests(request("H1", "K-1", kind="notice", lines=(HOURS, PICTURE)))
        await ready(api, 1, kind="notice")
        await run(api, kind="notice", mode="confirm")
        [original] = (await api.get("/invoices", params={"kind": "notice"})).json()["items"]
        # 8 x 50.00 + 2 x 12.10 = 424.20 @ 25.5 %: VAT 108.171 -> 108.17, gross 532.37
        assert (original["number"], original["gross"], original["invoice_date"]) == (
            2000000001,
            "532.37",
            "2026-11-23",
        )

        # the draft: every line of the invoice at quantity 0, its original quantity shown,
        # so untouched it reverses the whole invoice
        made = await api.post(f"/invoices/{original['id']}/corrective", json={"return_mode": "ready"})
        assert made.status_code == 201, made.text
        draft = made.json()
        assert draft["status"] == "draft"
        assert [(x["line_no"], x["product_code"], x["quantity"], x["original_quantity"]) for x in draft["lines"]] == [
            (1, "TYO", "0.000", "8.000"),
            (2, "KUVA", "0.000", "2.000"),
        ]
        assert (draft["net"], draft["vat"], draft["gross"]) == ("-424.20", "-108.17", "-532.37")
        assert (await api.post(f"/invoices/{original['id']}/corrective", json={})).status_code == 409  # one at a time

        # the picture needs no correction: removed from the draft; -400.00 @ 25.5 % is left
        removed = await api.delete(f"/invoices/{draft['id']}/lines/2")
        assert removed.status_code == 200, removed.text
        assert [x["product_code"] for x in removed.json()["lines"]] == ["TYO"]
        assert (removed.json()["net"], removed.json()["vat"], removed.json()["gross"]) == (
            "-400.00",
            "-102.00",
            "-502.00",
        )
        assert (await api.delete(f"/invoices/{draft['id']}/lines/2")).status_code == 404  # gone already
        last = await api.delete(f"/invoices/{draft['id']}/lines/1")
        assert (last.status_code, last.json()["detail"]["code"]) == (409, "last-line")
        assert (await api.patch(f"/invoices/{draft['id']}/lines/1", json={"quantity": "-1"})).status_code == 422

        # 8 -> 6 hours: reversal -400.00, new 300.00: net -100.00, VAT -25.50, gross -125.50
        set6 = await api.patch(f"/invoices/{draft['id']}/lines/1", json={"quantity": "6"})
        assert set6.status_code == 200, set6.text
        assert [(x["quantity"], x["original_quantity"]) for x in set6.json()["lines"]] == [("6.000", "8.000")]
        assert set6.json()["gross"] == "-125.50"
        issued = (await api.post(f"/invoices/{draft['id']}/confirm")).json()
        assert (issued["document_type"], issued["number"]) == ("credit-note", 3000000001)
        assert [(x["product_code"], x["quantity"], x["net"], x["reversal"]) for x in issued["lines"]] == [
            ("TYO", "-8.000", "-400.00", True),
            ("TYO", "6.000", "300.00", False),
        ]
        assert (issued["net"], issued["vat"], issued["gross"]) == ("-100.00", "-25.50", "-125.50")
        after = (await api.get(f"/invoices/{original['id']}")).json()
        assert (after["credited"], after["open_amount"]) == ("-125.50", "406.87")  # 532.37 - 125.50
        assert after["corrective_invoices"] == [draft["id"]]
        [back] = (await listing(api, kind="notice"))["items"]  # the 2 hours taken off, to bill again
        assert (back["request_id"], back["origin"]) == ("H1.c3000000001", "corrective")
        assert [(x["quantity"], x["unit_price"]) for x in back["lines"]] == [("2.000", "50.0000")]
        second_run = await run(api, kind="notice", mode="confirm")  # 2 x 50.00 + 25.50 VAT
        assert (second_run["summary"]["invoices"], second_run["summary"]["totals"]["gross"]) == (1, "125.50")

        # a second correction starts from what the invoice bills now (6 hours, 2 pictures);
        # 6 -> 9 hours is more than the original: reversal -6 x 50.00 = -300.00, new
        # 9 x 50.00 = 450.00: net 150.00, VAT 38.25, gross 188.25 billed on its own
        up = (await api.post(f"/invoices/{original['id']}/corrective", json={})).json()
        assert [(x["quantity"], x["original_quantity"]) for x in up["lines"]] == [
            ("0.000", "6.000"),
            ("0.000", "2.000"),
        ]
        await api.delete(f"/invoices/{up['id']}/lines/2")
        set9 = await api.patch(f"/invoices/{up['id']}/lines/1", json={"quantity": "9"})
        assert set9.status_code == 200, set9.text  # today's 422 quantity-out-of-range is gone
        assert (set9.json()["net"], set9.json()["vat"], set9.json()["gross"]) == ("150.00", "38.25", "188.25")
        raised = (await api.post(f"/invoices/{up['id']}/confirm")).json()
        assert (raised["document_type"], raised["number"], raised["gross"]) == ("corrective", 3000000002, "188.25")
        assert [(x["quantity"], x["net"]) for x in raised["lines"]] == [("-6.000", "-300.00"), ("9.000", "450.00")]
        # payable on its own reference by the original's terms (14 days); the original is untouched
        assert raised["payment_terms_days"] == 14
        assert date.fromisoformat(raised["due_date"]) == date.fromisoformat(raised["invoice_date"]) + timedelta(14)
        assert (raised["payment_status"], raised["open_amount"]) == ("open", "188.25")
        after = (await api.get(f"/invoices/{original['id']}")).json()
        assert (after["credited"], after["open_amount"]) == ("-125.50", "406.87")
        assert (await listing(api, kind="notice"))["total"] == 0  # nothing goes back for a raised line

        await inbound.payment(payment("K-PAY", raised["reference_printed"], "188.25"))

        async def paid() -> bool:
            got = (await api.get(f"/invoices/{up['id']}")).json()
            return bool(got["payment_status"] == "paid")

        await wait_for(paid, timeout=30)

    records = await read_topic(
        sandbox.bootstrap,
        sandbox.topic(topics.INVOICES.name),
        expect=2,
        where=lambda r: dict(r.headers)["ce_type"].decode() == "fi.billing.invoicing.corrective-invoice-issued.v1",
    )
    docs = [json.loads(r.value)["invoice"] for r in records]
    assert [(d["document_type"], d["totals"]["gross"]) for d in docs] == [
        ("credit-note", "-125.50"),
        ("corrective", "188.25"),
    ]
    assert {(d["original_invoice_number"], d["original_invoice_date"]) for d in docs} == {("2000000001", "2026-11-23")}


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
        "/payments/2026/B4/allocate", json={"invoice_number": p3["number"]}, headers=as_clerk("clerk-3")
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
