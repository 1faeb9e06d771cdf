"""The bank's reversals of reference payments on real Kafka and PostgreSQL: a reversal
naming its payment, one found by reference and amount, one of an unmatched payment and
one whose payment is unknown; the invoice a reversed payment settled is open again
(PaymentReversed on the invoices topic, once), and a reversal sent twice counts once;
``invoicing reconcile`` rebuilds a reversal a restored database lacks from the log."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.events import topics
from shared.runtime import Runtime
from tests.integration.test_invoicing_flow import run
from tests.integration.test_invoicing_lifecycle import PAPER, ready
from tests.integration.test_invoicing_restore import reconcile
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, read_topic, wait_for
from tests.support.sales import Inbound, payment, profile, request, reversal

pytestmark = pytest.mark.integration


async def test_reversals_take_payments_back_once_and_keep_the_unknown_for_the_clerk(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    api = invoicing_api
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.profiles(profile("V-1"), profile("V-2"))
        await inbound.requests(*(request(f"VR{i}", f"V-{i}", lines=(PAPER,)) for i in (1, 2)))
        await ready(api, 2)
        await run(api, kind="subscription", mode="confirm")
        invoices = {i["customer_number"]: i for i in (await api.get("/invoices")).json()["items"]}
        v1, v2 = invoices["V-1"], invoices["V-2"]  # 33.00 each
        await inbound.payment(payment("A1", v1["reference"], "33.00"))  # settles V-1
        await inbound.payment(payment("A2", v2["reference"], "10.00"))
        await inbound.payment(payment("A3", "12345672", "7.00"))  # no invoice has it: unmatched
        await inbound.reversal(reversal("X1", v1["reference"], "33.00", reverses="A1"))
        await inbound.reversal(reversal("X1", v1["reference"], "33.00", reverses="A1"))  # sent twice
        await inbound.reversal(reversal("X2", v2["reference_rf"], "10.00"))  # no id: by reference and amount
        await inbound.reversal(reversal("X3", "12345672", "7.00"))  # the unmatched one
        await inbound.reversal(reversal("X4", v2["reference"], "99.00"))  # no such payment

        async def all_in() -> bool:
            return (await api.get("/payments")).json()["total"] == 7

        await wait_for(all_in, timeout=30)
    rows = {p["payment_id"]: p for p in (await api.get("/payments", params={"limit": 50})).json()["items"]}
    assert {k: (p["status"], p["reason"]) for k, p in rows.items()} == {
        "A1": ("reversed", None),
        "A2": ("reversed", None),
        "A3": ("reversed", "reference-unknown"),
        "X1": ("reversal", None),
        "X2": ("reversal", None),  # RF form of A2's national reference: same key, same partition
        "X3": ("reversal", None),
        "X4": ("unmatched", "reversal-unknown"),
    }
    statuses = {
        i["customer_number"]: (i["payment_status"], i["open_amount"])
        for i in (await api.get("/invoices")).json()["items"]
    }
    assert statuses == {"V-1": ("open", "33.00"), "V-2": ("open", "33.00")}
    refused = await api.post("/payments/X4/allocate", json={"invoice_number": v2["number"]})
    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "payment-is-reversal", refused.text

    records = await read_topic(
        sandbox.bootstrap,
        sandbox.topic(topics.INVOICES.name),
        expect=2 + 1 + 2,  # recorded A1 A2, settled V-1, reversed X1 X2
        where=lambda r: dict(r.headers)["ce_type"].decode() != "fi.billing.invoicing.invoice-issued.v1",
    )
    kinds = [(dict(r.headers)["ce_type"].decode().split(".")[3], json.loads(r.value)) for r in records]
    reversed_ = sorted(
        (e["payment_id"], e["reverses_payment_id"], e["amount"], e["status"], e["open_amount"])
        for k, e in kinds
        if k == "payment-reversed"
    )
    assert reversed_ == [("X1", "A1", "33.00", "open", "33.00"), ("X2", "A2", "10.00", "open", "33.00")]
    assert [e["invoice_number"] for k, e in kinds if k == "invoice-settled"] == [str(v1["number"])]


async def test_a_reversal_taken_before_its_payment_is_applied_when_the_payment_comes(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    """Review H3: files imported out of order (or an outside publisher): the reversal
    waits as ``reversal-unknown``; its payment, when it comes, is taken back at once
    (named, or by the normalised reference and amount); one the bank names wrongly is
    applied by the clerk (``POST /payments/{id}/apply``). Review L1: of two equal
    payments, the one paid on or before the reversal's date, closest to it, is taken."""
    api = invoicing_api
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.profiles(*(profile(f"O-{i}") for i in (1, 2, 3, 4)))
        await inbound.requests(*(request(f"OR{i}", f"O-{i}", lines=(PAPER,)) for i in (1, 2, 3, 4)))
        await ready(api, 4)
        await run(api, kind="subscription", mode="confirm")
        invoices = {i["customer_number"]: i for i in (await api.get("/invoices")).json()["items"]}
        o1, o2, o3, o4 = (invoices[f"O-{i}"] for i in (1, 2, 3, 4))  # 33.00 each
        await inbound.reversal(reversal("Z1", o1["reference"], "33.00", reverses="P1"))  # names P1, not known yet
        await inbound.reversal(reversal("Z2", o2["reference_rf"], "33.00"))  # names none: RF form
        await inbound.reversal(reversal("Z3", o3["reference"], "33.00", reverses="NOT-SENT"))  # named wrongly

        async def waiting() -> bool:
            return (await api.get("/payments", params={"status": "unmatched"})).json()["total"] == 3

        await wait_for(waiting, timeout=30)
        await inbound.payment(payment("P1", o1["reference"], "33.00"))
        await inbound.payment(payment("P2", o2["reference"], "33.00"))  # national form
        await inbound.payment(payment("P3", o3["reference"], "33.00"))
        # L1: two equal payments on O-4 (paid 12-01 and 12-10), then a correction dated 12-05
        await inbound.payment(payment("P4", o4["reference"], "10.00", on="2026-12-01"))
        await inbound.payment(payment("P5", o4["reference"], "10.00", on="2026-12-10"))

        async def paid_in() -> bool:
            return (await api.get("/payments")).json()["total"] == 8

        await wait_for(paid_in, timeout=30)
        await inbound.reversal(reversal("Z4", o4["reference"], "10.00", on="2026-12-05"))

        async def all_in() -> bool:
            return (await api.get("/payments")).json()["total"] == 9

        await wait_for(all_in, timeout=30)
    rows = {p["payment_id"]: p for p in (await api.get("/payments", params={"limit": 50})).json()["items"]}
    assert {k: (p["status"], p["reverses_payment_id"]) for k, p in rows.items()} == {
        "Z1": ("reversal", "P1"),
        "Z2": ("reversal", "P2"),
        "Z3": ("unmatched", "NOT-SENT"),
        "P1": ("reversed", None),
        "P2": ("reversed", None),
        "P3": ("matched", None),
        "P4": ("reversed", None),  # paid before the correction's date (P5 was received later)
        "P5": ("matched", None),
        "Z4": ("reversal", "P4"),
    }
    refused = await api.post("/payments/Z3/apply", json={"payment_id": "P4"})  # reversed already
    assert refused.status_code == 409, refused.text
    applied = await api.post("/payments/Z3/apply", json={"payment_id": "P3"})
    assert applied.status_code == 200, applied.text
    assert (applied.json()["status"], applied.json()["reverses_payment_id"]) == ("reversal", "P3")
    again = await api.post("/payments/Z3/apply", json={"payment_id": "P3"})
    assert again.status_code == 409, again.text
    statuses = {
        i["customer_number"]: (i["payment_status"], i["open_amount"])
        for i in (await api.get("/invoices")).json()["items"]
    }
    assert statuses == {
        "O-1": ("open", "33.00"),
        "O-2": ("open", "33.00"),
        "O-3": ("open", "33.00"),
        "O-4": ("partially-paid", "23.00"),
    }
    records = await read_topic(
        sandbox.bootstrap,
        sandbox.topic(topics.INVOICES.name),
        expect=5 + 3 + 4,  # recorded P1..P5, settled O-1..O-3, reversed Z1..Z4
        where=lambda r: dict(r.headers)["ce_type"].decode() != "fi.billing.invoicing.invoice-issued.v1",
    )
    kinds = [(dict(r.headers)["ce_type"].decode().split(".")[3], json.loads(r.value)) for r in records]
    assert sorted((e["payment_id"], e["reverses_payment_id"]) for k, e in kinds if k == "payment-reversed") == [
        ("Z1", "P1"),
        ("Z2", "P2"),
        ("Z3", "P3"),
        ("Z4", "P4"),
    ]


async def test_reconcile_rebuilds_a_reversal_the_restored_database_lacks(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    api = invoicing_api
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.profiles(profile("W-1"))
        await inbound.requests(request("WR1", "W-1", lines=(PAPER,)))
        await ready(api, 1)
        await run(api, kind="subscription", mode="confirm")
        (w1,) = (await api.get("/invoices")).json()["items"]
        await inbound.payment(payment("B1", w1["reference"], "33.00"))
        await wait_for(lambda: sandbox.has("SELECT payment_status FROM invoices", "paid"), timeout=30)
        await inbound.reversal(reversal("Y1", w1["reference"], "33.00", reverses="B1"))
        await wait_for(lambda: sandbox.has("SELECT payment_status FROM invoices", "open"), timeout=30)
    # the backup was taken between the payment and its reversal: the reversal is only on the log
    await sandbox.fetch("DELETE FROM payments WHERE payment_id = 'Y1'")
    await sandbox.fetch("UPDATE payments SET status = 'matched' WHERE payment_id = 'B1'")
    await sandbox.fetch("UPDATE invoices SET paid = 33.00, payment_status = 'paid', settled_on = '2026-12-01'")

    out = await reconcile(sandbox)
    assert "payments: 0 rebuilt, 1 reversal(s) rebuilt; balances refreshed on 1 invoice(s)" in out, out
    rows = await sandbox.fetch("SELECT payment_id, kind, status, reverses_payment_id FROM payments ORDER BY 1")
    assert [tuple(r) for r in rows] == [("B1", "payment", "reversed", None), ("Y1", "reversal", "reversal", "B1")]
    (inv,) = await sandbox.fetch("SELECT paid, payment_status, settled_on FROM invoices")
    assert tuple(inv) == (Decimal("0.00"), "open", None)
    again = await reconcile(sandbox)
    assert "payments: 0 rebuilt, 0 reversal(s) rebuilt; balances refreshed on 0 invoice(s)" in again, again
