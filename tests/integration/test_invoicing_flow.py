"""The Billing tab on real Kafka and PostgreSQL (seed steps 7-16): requests, profiles
and a cancellation come in through their topics; the list shows the errors and the
notice; fixed profiles make the requests ready; a preview persists nothing and equals
the confirmed run that follows; the run issues numbered invoices and their events; the
same run again issues nothing.

Hand-computed amounts (VAT per invoice per rate, rounded half away from zero):
- C-1: R1 (1 x 30.00 @ 10 %) + R2 (1 x 30.00 @ 10 %, 2 x 12.10 @ 25.5 %), one invoice:
  10 %: net 60.00, VAT 6.00; 25.5 %: net 24.20, VAT 6.171 -> 6.17; gross 96.37;
  terms 14 and 21 days -> the longer: due 2026-11-23 + 21 = 2026-12-14.
- C-2, C-3, C-4: 1 x 30.00 @ 10 % each: net 30.00, VAT 3.00, gross 33.00.
- The run: 10 %: net 150.00, VAT 15.00, gross 165.00; 25.5 %: 24.20 / 6.17 / 30.37;
  gross 195.37; channels: e-mail 3 (persons), e-invoice 1 (the company C-3).
- First number of the subscription series 1 000 000 001; its reference: base digits
  from the right 1,0,...,0,1 weighted 7,3,1,...: 1*7 + 1*7 = 14 -> check 6 -> 10000000016.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from shared.events import topics
from shared.references import is_valid_rf
from shared.runtime import Runtime
from tests.support.credentials import as_clerk
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, read_topic, wait_for
from tests.support.sales import SUBSCRIPTION_LINE, Inbound, profile, request

pytestmark = pytest.mark.integration

SUPPLEMENT = ("KUVA", "Kuvaliite", "2", "12.10", "25.5", None)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def finished(api: httpx.AsyncClient, job_url: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        job: dict[str, Any] = (await api.get(job_url)).json()
        assert job["state"] != "failed", job
        return job if job["state"] == "done" else None

    result: dict[str, Any] = await wait_for(done, timeout=60)
    return result


async def run(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    started = await api.post("/billing-runs", json=body, headers=as_clerk("clerk-1"))
    assert started.status_code == 202, started.text
    job = await finished(api, started.headers["Location"])
    got = (await api.get(f"/billing-runs/{job['id']}")).json()
    return {"job": job, **got}


async def listing(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await api.get("/billing-requests", params={"kind": "subscription", **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_fetch_fix_preview_run_and_rerun(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    api = invoicing_api
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.profiles(profile("C-1"), profile("C-2", valid=False), profile("C-3", company=True))
        await inbound.requests(
            request("R1", "C-1"),
            request("R2", "C-1", terms=21, lines=(SUBSCRIPTION_LINE, SUPPLEMENT)),
            request("R3", "C-2"),
            request("R4", "C-3", order_id="O-A"),
            request("R5", "C-3", order_id="O-B"),
            request("R7", "C-4"),
            request("N1", "C-1", kind="notice", lines=(SUPPLEMENT,)),
        )
        await inbound.cancel("O-B", "C-3")
        await inbound.requests(request("R6", "C-3", order_id="O-B"))  # after its order was cancelled

        async def all_in() -> bool:
            body = await listing(api)
            # 2 in error, 2 cancelled (listed first, with the errors), 3 ready
            return body["total"] == 7 and body["notice"] is not None and body["notice"]["cancelled_requests"] == 2

        await wait_for(all_in, timeout=30)
        body = await listing(api)
        assert (body["ready"], body["errors"]) == (3, 2)
        notice = body["notice"]
        assert (notice["errors"], notice["cancelled_orders"], notice["cancelled_requests"]) == (2, 1, 2)
        assert notice["message_fi"].startswith("Virhe: 2 laskutuspyynnössä")
        assert sorted((r["state"], r["code"], r["count"]) for r in notice["reasons"]) == [
            ("cancelled", "order-cancelled", 2),
            ("error", "address-missing", 1),
            ("error", "no-billing-profile", 1),
        ]
        rows = {r["request_id"]: r for r in body["items"]}
        assert rows["R3"]["state"] == "error" and rows["R3"]["label_fi"] == "virhe"
        assert rows["R3"]["reasons"][0]["message_en"] == "The address is missing."
        assert rows["R3"]["customer_url"] == "/customers/C-2"
        assert rows["R7"]["reasons"][0]["code"] == "no-billing-profile"
        assert rows["R1"]["state"] == "ready"
        assert "N1" not in rows  # the other kind
        cancelled = await listing(api, state="cancelled")
        assert sorted(r["request_id"] for r in cancelled["items"]) == ["R5", "R6"]

        # seed step 10-12: the customers are fixed; their requests become ready
        await inbound.profiles(profile("C-2", version=2), profile("C-4"))

        async def fixed() -> bool:
            b = await listing(api)
            return b["errors"] == 0 and b["ready"] == 5

        await wait_for(fixed, timeout=10, interval=0.05)
        assert (await listing(api))["notice"]["errors"] == 0

    preview = await run(api, kind="subscription", mode="preview")
    summary = preview["summary"]
    assert (summary["invoices"], summary["requests"]) == (4, 5)
    assert Decimal(summary["totals"]["gross"]) == Decimal("195.37")
    rates = {Decimal(r["rate"]): (Decimal(r["net"]), Decimal(r["vat"])) for r in summary["by_vat_rate"]}
    assert rates == {
        Decimal(10): (Decimal("150.00"), Decimal("15.00")),
        Decimal("25.5"): (Decimal("24.20"), Decimal("6.17")),
    }
    assert summary["by_channel"] == {"email": 3, "einvoice": 1}
    assert [(lo["code"], lo["count"]) for lo in summary["left_out"]] == [("order-cancelled", 2)]
    # a preview persists nothing: no invoice, no number, no request changed
    assert await sandbox.scalar("SELECT count(*) FROM invoices") == 0
    assert await sandbox.scalar("SELECT last_value FROM invoice_series WHERE series = 'subscription'") == 0
    assert (
        await sandbox.scalar("SELECT count(*) FROM billing_requests WHERE status = 'open' AND kind = 'subscription'")
        == 5
    )
    previewed = (await api.get(f"/billing-runs/{preview['run_id']}/invoices")).json()["items"]

    confirmed = await run(api, kind="subscription", mode="confirm")
    assert confirmed["summary"]["invoices"] == 4
    assert confirmed["summary"]["totals"] == summary["totals"]
    assert confirmed["summary"]["by_vat_rate"] == summary["by_vat_rate"]
    issued = (await api.get(f"/billing-runs/{confirmed['run_id']}/invoices")).json()["items"]
    assert [i["number"] for i in issued] == [1000000001, 1000000002, 1000000003, 1000000004]
    assert issued[0]["reference"] == "10000000016" and issued[0]["reference_printed"] == "1 00000 00016"
    assert all(is_valid_rf(i["reference_rf"]) for i in issued)
    first = issued[0]
    assert (first["customer_number"], Decimal(first["gross"]), first["due_date"]) == (
        "C-1",
        Decimal("96.37"),
        "2026-12-14",
    )
    # the preview, field by field and in the same shape, is what the run created
    # (what only issuing gives aside: id, number, references, the run, the confirmation)
    assert len(previewed) == len(issued)
    issuing = {"id", "status", "number", "run_id", "created_at", "confirmed_at", "confirmed_by"}
    issuing |= {"reference", "reference_printed", "reference_rf", "reference_rf_printed"}
    for p, i in zip(previewed, issued, strict=True):
        assert set(p) == set(i)
        assert p["status"] == "preview" and p["id"] is None and p["number"] is None
        assert {k: v for k, v in p.items() if k not in issuing} == {k: v for k, v in i.items() if k not in issuing}
    assert previewed[0]["lines"][0]["quantity"] == issued[0]["lines"][0]["quantity"] == "1.000"
    # every invoice of the run is dated 23.11.2026: the summary says so (not "several")
    assert confirmed["summary"]["invoice_date"] == summary["invoice_date"] == "2026-11-23"

    # seed step 16: the summary as a PDF, in Finnish and English
    pdf = await api.get(f"/billing-runs/{confirmed['run_id']}/summary.pdf", params={"language": "fi"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "195,37" in text and "1000000004" in text and "ESIKATSELU" not in text
    assert "Laskupäivä 23.11.2026" in " ".join(text.split()) and "useita" not in text
    text = pdf_text(
        (await api.get(f"/billing-runs/{preview['run_id']}/summary.pdf", params={"language": "en"})).content
    )
    assert "PREVIEW" in text and "195.37" in text

    records = await read_topic(sandbox.bootstrap, sandbox.topic(topics.INVOICES.name), expect=4)
    docs = [json.loads(r.value)["invoice"] for r in records]
    assert sorted(d["invoice_number"] for d in docs) == ["1000000001", "1000000002", "1000000003", "1000000004"]
    assert {r.key.decode() for r in records} == {"C-1", "C-2", "C-3", "C-4"}
    c1 = next(d for d in docs if d["customer"]["customer_number"] == "C-1")
    assert len(c1["lines"]) == 3 and c1["totals"]["gross"] == "96.37" and c1["seller"]["iban"] == "FI2112345600000785"
    assert c1["customer"]["data"]["delivery_channel"] == "email" and c1["customer"]["consumer"] is True
    runs = await read_topic(sandbox.bootstrap, sandbox.topic(topics.BILLING_RUNS.name), expect=1)
    assert [json.loads(r.value)["invoices"] for r in runs] == [4]  # the preview published nothing

    # the list is empty, the notice is gone (the cancelled orders were reported by the run)
    after = await listing(api)
    assert (after["total"], after["notice"]) == (0, None)
    again = await run(api, kind="subscription", mode="confirm")
    assert again["summary"]["invoices"] == 0
    assert again["summary"]["left_out"] == []  # nothing left out either: no zero-count entry
    assert await sandbox.scalar("SELECT count(*) FROM invoices") == 4
    assert await sandbox.scalar("SELECT last_value FROM invoice_series WHERE series = 'subscription'") == 4

    # an order cancelled after it was invoiced: the invoice stands, the clerk is told
    async with Publisher(sandbox.bootstrap) as publisher:
        await Inbound(sandbox, publisher).cancel("O-A", "C-3")

    async def told() -> dict[str, Any] | None:
        n: dict[str, Any] | None = (await listing(api))["notice"]
        return n if n and n["invoiced_cancelled"] == 1 else None

    notice = await wait_for(told, timeout=30)
    assert "tee hyvityslasku" in notice["message_fi"] and "corrective" in notice["message_en"]
    assert await sandbox.scalar("SELECT status FROM billing_requests WHERE request_id = 'R4'") == "invoiced"
