"""Review H1 and M1 of issue 21's bank files, on real Kafka and PostgreSQL:

- a correction that reuses its payment's archive id (a bank may point at the original
  that way) is accepted in the same file (camt.054) and in a later file (viitesiirto),
  published under its own event id (``R:`` + archive id) naming the payment, and takes
  the payment back: the invoice is open again;
- two overlapping files imported at the same moment, their shared entries in opposite
  orders: both are imported (the entries go in sorted, so neither deadlocks; a deadlock
  would answer 503 ``bank-file-busy``, never a 500), every entry is published once.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import httpx
import pytest

from shared.events import topics
from shared.runtime import Runtime
from tests.integration.test_bank_file_import import camt054, entry, upload, viitesiirto
from tests.integration.test_invoicing_flow import run
from tests.integration.test_invoicing_lifecycle import PAPER, ready
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, read_topic, wait_for
from tests.support.sales import Inbound, profile, request

pytestmark = pytest.mark.integration


async def test_a_correction_with_its_payments_archive_id_takes_the_payment_back(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    api = invoicing_api
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.profiles(profile("K-1"), profile("K-2"))
        await inbound.requests(request("KR1", "K-1", lines=(PAPER,)), request("KR2", "K-2", lines=(PAPER,)))
        await ready(api, 2)
    await run(api, kind="subscription", mode="confirm")
    invoices = {i["customer_number"]: i for i in (await api.get("/invoices")).json()["items"]}
    k1, k2 = invoices["K-1"], invoices["K-2"]  # 33.00 each

    # the same file: a payment and its correction, one archive id
    same = camt054(
        "CAMT-K-1",
        entry("2026120400000001", k1["reference_rf"].replace(" ", ""), "33.00"),
        entry("2026120400000001", k1["reference"], "33.00", on=date(2026, 12, 4), reversal=True),
    )
    p = await api.post("/payments/files/preview", **upload(same, "k1.xml"))
    assert p.status_code == 200, p.text
    outcomes = [(e["kind"], e["outcome"]) for e in p.json()["entries"]]
    assert outcomes == [("payment", "matched"), ("reversal", "reversal")]
    done = await api.post("/payments/files", **upload(same, "k1.xml"))
    assert (done.status_code, done.json()["recorded"], done.json()["repeated"]) == (201, 2, 0), done.text

    # a later file: the correction of an earlier file's payment, with the payment's archive id
    paid = viitesiirto("202612040615-47-1", entry("261204KKKK000002", k2["reference"], "33.00", line=2))
    assert (await api.post("/payments/files", **upload(paid, "k2.txt"))).status_code == 201

    async def status_of(customer: str, want: str) -> bool:
        got = {i["customer_number"]: i["payment_status"] for i in (await api.get("/invoices")).json()["items"]}
        return got[customer] == want

    await wait_for(lambda: status_of("K-2", "paid"), timeout=30)
    corrected = viitesiirto(
        "202612050615-47-1", entry("261204KKKK000002", k2["reference"], "33.00", on=date(2026, 12, 5), reversal=True)
    )
    p2 = (await api.post("/payments/files/preview", **upload(corrected, "k3.txt"))).json()
    assert [(e["kind"], e["outcome"]) for e in p2["entries"]] == [("reversal", "reversal")]  # not "repeated"
    later = await api.post("/payments/files", **upload(corrected, "k3.txt"))
    assert (later.status_code, later.json()["recorded"], later.json()["repeated"]) == (201, 1, 0), later.text

    async def all_taken() -> bool:
        return (await api.get("/payments")).json()["total"] == 4

    await wait_for(all_taken, timeout=30)
    rows = {x["payment_id"]: x for x in (await api.get("/payments")).json()["items"]}
    assert {k: (x["kind"], x["status"], x["reverses_payment_id"]) for k, x in rows.items()} == {
        "2026120400000001": ("payment", "reversed", None),
        "R:2026120400000001": ("reversal", "reversal", "2026120400000001"),
        "261204KKKK000002": ("payment", "reversed", None),
        "R:261204KKKK000002": ("reversal", "reversal", "261204KKKK000002"),
    }
    statuses = {
        i["customer_number"]: (i["payment_status"], i["open_amount"])
        for i in (await api.get("/invoices")).json()["items"]
    }
    assert statuses == {"K-1": ("open", "33.00"), "K-2": ("open", "33.00")}
    published = await read_topic(sandbox.bootstrap, sandbox.topic(topics.REFERENCE_PAYMENTS.name), expect=4)
    by_id = {json.loads(r.value)["payment_id"]: (r.key, json.loads(r.value)) for r in published}
    assert by_id["R:261204KKKK000002"][1]["reverses_payment_id"] == "261204KKKK000002"
    # H2: both forms of K-1's reference are keyed by its national form: one partition
    assert {by_id[i][0] for i in ("2026120400000001", "R:2026120400000001")} == {k1["reference"].encode()}

    # L4: the preview shows a reversal whose payment is not known as such (it would wait)
    unknown = viitesiirto(
        "202612060615-47-1",
        entry("261206KKKK000003", k1["reference"], "33.00", on=date(2026, 12, 6), reversal=True),  # K-1's reversed
        entry("261206KKKK000004", k2["reference"], "12.00", on=date(2026, 12, 6), reversal=True),  # no such amount
        entry("261206KKKK000005", k2["reference"], "7.00", line=4),
        entry("261206KKKK000006", k2["reference"], "7.00", on=date(2026, 12, 6), reversal=True),  # in this file
    )
    p3 = (await api.post("/payments/files/preview", **upload(unknown, "k4.txt"))).json()
    assert [(e["outcome"], e["reason"]) for e in p3["entries"]] == [
        ("unmatched", "reversal-unknown"),
        ("unmatched", "reversal-unknown"),
        ("matched", None),
        ("reversal", None),
    ]


async def test_two_overlapping_files_imported_at_once_publish_each_entry_once(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    shared = [entry(f"261203M{i:09d}", "12345672", "1.00", line=i + 2) for i in range(3000)]
    a = viitesiirto("202612040615-47-A", *shared, entry("261203MA00000001", "12345672", "2.00"))
    b = viitesiirto("202612040615-47-B", *reversed(shared), entry("261203MB00000001", "12345672", "3.00"))
    answers = await asyncio.gather(
        invoicing_api.post("/payments/files", **upload(a, "a.txt")),
        invoicing_api.post("/payments/files", **upload(b, "b.txt")),
    )
    # entries go in sorted: the second waits for the first's, no deadlock, both imported
    assert [r.status_code for r in answers] == [201, 201], [r.text for r in answers]
    expect = 3000 + 2
    assert sum(r.json()["recorded"] for r in answers) == expect
    assert await sandbox.scalar("SELECT count(*) FROM bank_file_entries WHERE NOT repeated") == expect
    published = await read_topic(sandbox.bootstrap, sandbox.topic(topics.REFERENCE_PAYMENTS.name), expect=expect)
    assert len({json.loads(r.value)["payment_id"] for r in published}) == len(published) == expect
