"""The bank's payment files imported through the API on real Kafka and PostgreSQL, with
the reminders service beside invoicing (its own database, as in production):

- a viitesiirto file previewed (nothing recorded) and imported: one event per entry on
  ``bank.reference-payments.v1``, the payments matched to the confirmed invoices
  (PaymentRecorded), the unmatched one kept for the clerk;
- the same file again: "already imported", nothing recorded or published twice;
- a second file repeating an entry and carrying a correction: the repeat is not
  published, the correction reverses its payment, the invoice is open again and the
  reminders projection sees it open;
- a malformed file: 422 with where, nothing recorded; an upload over the limit: 413;
  an upload that is not the previewed file: 409.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import asyncpg
import httpx
import pytest

from services.invoicing.bank_files import MAX_BANK_FILE_BYTES, BankFile, BankFileEntry
from services.invoicing.bank_files.writers import write_camt054, write_viitesiirto
from shared.events import topics
from shared.runtime import Runtime
from tests.integration.test_invoicing_flow import run
from tests.integration.test_invoicing_lifecycle import PAPER, ready
from tests.support.credentials import as_clerk, credentials
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, read_topic, wait_for
from tests.support.reminders_runtime import running
from tests.support.sales import Inbound, profile, request

pytestmark = pytest.mark.integration

ACCOUNT = "FI2112345600000785"


def entry(
    archive_id: str, reference: str, amount: str, *, on: date = date(2026, 12, 3), reversal: bool = False, line: int = 0
) -> BankFileEntry:
    return BankFileEntry(
        archive_id=archive_id,
        reference=reference,
        amount=Decimal(amount),
        booking_date=on,
        payment_date=on,
        payer_name=None if reversal else "MAKSAJA MATT",
        reversal=reversal,
        reverses_archive_id=None,
        location=f"line {line}",
    )


def viitesiirto(file_id: str, *entries: BankFileEntry) -> bytes:
    return write_viitesiirto(
        BankFile(
            format="viitesiirto",
            file_id=file_id,
            created_at=datetime(2026, 12, 4, 6, 15),
            account=ACCOUNT,
            entries=entries,
        )
    )


def camt054(file_id: str, *entries: BankFileEntry, version: Literal["02", "08"] = "02") -> bytes:
    return write_camt054(
        BankFile(
            format="camt.054",
            file_id=file_id,
            created_at=datetime(2026, 12, 4, 6, 15),
            account=ACCOUNT,
            entries=entries,
        ),
        version,
    )


def upload(data: bytes, name: str = "viitteet.txt", **form: str) -> dict[str, Any]:
    return {"files": {"file": (name, data, "application/octet-stream")}, "data": form}


@pytest.fixture
async def reminders_db(sandbox: Sandbox) -> AsyncIterator[str]:
    url = await sandbox.own_database("reminders")
    async with running(sandbox, database_url=url):
        yield url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def reminders_item(db: str, invoice_id: int) -> Any:
    conn = await asyncpg.connect(db)
    try:
        return await conn.fetchrow(
            "SELECT status, open_amount, settled_on FROM open_items WHERE invoice_id = $1", str(invoice_id)
        )
    finally:
        await conn.close()


async def test_viitesiirto_files_import_once_match_reverse_and_refuse_the_malformed(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient, reminders_db: str
) -> None:
    api = invoicing_api
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.profiles(profile("F-1"), profile("F-2"))
        await inbound.requests(*(request(f"FR{i}", f"F-{i}", lines=(PAPER,)) for i in (1, 2)))
        await ready(api, 2)
    await run(api, kind="subscription", mode="confirm")
    invoices = {i["customer_number"]: i for i in (await api.get("/invoices")).json()["items"]}
    f1, f2 = invoices["F-1"], invoices["F-2"]  # 33.00 each
    first = viitesiirto(
        "202612040615-47-123456789",
        entry("261203ABCD000001", f1["reference"], "33.00"),
        entry("261203ABCD000002", f2["reference_rf"], "10.00"),
        entry("261203ABCD000003", "12345672", "7.00"),  # a valid reference no invoice has
    )

    previewed = await api.post("/payments/files/preview", **upload(first), headers=as_clerk("clerk-7"))
    assert previewed.status_code == 200, previewed.text
    p = previewed.json()
    assert (p["format"], p["already_imported_as"], p["count"], p["amount"]) == ("viitesiirto", None, 3, "50.00")
    assert [(e["archive_id"], e["outcome"], e["invoice_number"], e["reason"]) for e in p["entries"]] == [
        ("261203ABCD000001", "matched", f1["number"], None),
        ("261203ABCD000002", "matched", f2["number"], None),
        ("261203ABCD000003", "unmatched", None, "reference-unknown"),
    ]
    assert await sandbox.scalar("SELECT count(*) FROM bank_files") == 0  # a preview records nothing
    reader = {"Authorization": f"Bearer {credentials().only('invoicing:read')}"}
    for path in ("/payments/files/preview", "/payments/files"):  # the scope of allocating payments
        forbidden = await api.post(path, **upload(first), headers=reader)
        assert forbidden.status_code == 403 and forbidden.json()["detail"]["code"] == "forbidden", forbidden.text
    assert (await api.get("/payments/files", headers=reader)).json()["total"] == 0

    imported = await api.post("/payments/files", **upload(first, sha256=p["sha256"]), headers=as_clerk("clerk-7"))
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert (body["recorded"], body["repeated"], body["already_imported"], body["file_id"]) == (
        3, 0, False, p["file_id"],
    )  # fmt: skip

    async def taken(n: int) -> bool:
        return (await api.get("/payments")).json()["total"] == n

    await wait_for(lambda: taken(3), timeout=30)
    again = await api.post("/payments/files", **upload(first, name="sama.txt"))
    assert again.status_code == 200, again.text
    assert (again.json()["already_imported"], again.json()["id"], again.json()["recorded"]) == (True, body["id"], 0)
    statuses = {
        i["customer_number"]: (i["payment_status"], i["open_amount"])
        for i in (await api.get("/invoices")).json()["items"]
    }
    assert statuses == {"F-1": ("paid", "0.00"), "F-2": ("partially-paid", "23.00")}
    await wait_for(lambda: _item_status(reminders_db, f1["id"], "paid"), timeout=30)

    # a later file: the first payment again (the bank sent it twice), and its correction
    second = viitesiirto(
        "202612050615-47-123456789",
        entry("261203ABCD000001", f1["reference"], "33.00"),
        entry("261205ABCD000009", f1["reference"], "33.00", on=date(2026, 12, 5), reversal=True),
    )
    p2 = (await api.post("/payments/files/preview", **upload(second))).json()
    assert [(e["outcome"], e["kind"]) for e in p2["entries"]] == [("repeated", "payment"), ("reversal", "reversal")]
    changed = await api.post("/payments/files", **upload(second, sha256=p["sha256"]))
    assert changed.status_code == 409 and changed.json()["detail"]["code"] == "bank-file-changed", changed.text
    done = await api.post("/payments/files", **upload(second, sha256=p2["sha256"]), headers=as_clerk("clerk-8"))
    assert done.status_code == 201, done.text
    assert (done.json()["recorded"], done.json()["repeated"], done.json()["reversals"]) == (1, 1, 1)
    await wait_for(lambda: taken(4), timeout=30)

    payments = {x["payment_id"]: x["status"] for x in (await api.get("/payments")).json()["items"]}
    assert payments == {
        "261203ABCD000001": "reversed",
        "261203ABCD000002": "matched",
        "261203ABCD000003": "unmatched",
        "R:261205ABCD000009": "reversal",  # a reversal's event id: R: + its archive id
    }
    invoice = (await api.get("/invoices")).json()["items"]
    assert {i["customer_number"]: (i["payment_status"], i["open_amount"]) for i in invoice}["F-1"] == ("open", "33.00")
    await wait_for(lambda: _item_status(reminders_db, f1["id"], "open"), timeout=30)
    item = await reminders_item(reminders_db, f1["id"])
    assert (item["open_amount"], item["settled_on"]) == (Decimal("33.00"), None)

    listing = (await api.get("/payments/files")).json()
    assert listing["total"] == 2
    assert [
        (
            i["id"],
            i["imported_by"],
            i["count"],
            i["reversals"],
            i["matched"],
            i["unmatched"],
            i["reversed"],
            i["pending"],
            i["repeated"],
        )
        for i in listing["items"]
    ] == [  # the second file: its reversal; the first: F-2's payment, the unknown one, F-1's reversed one
        (done.json()["id"], "clerk-8", 1, 1, 0, 0, 1, 0, 1),
        (body["id"], "clerk-7", 3, 0, 1, 1, 1, 0, 0),
    ]
    detail = (await api.get(f"/payments/files/{done.json()['id']}")).json()
    assert [(e["archive_id"], e["repeated"], e["status"]) for e in detail["entries"]] == [
        ("261203ABCD000001", True, "reversed"),
        ("261205ABCD000009", False, "reversal"),
    ]
    assert (await api.get("/payments/files/999999")).status_code == 404

    # exactly one event per entry ever published: 3 + 1, none twice
    published = await read_topic(sandbox.bootstrap, sandbox.topic(topics.REFERENCE_PAYMENTS.name), expect=4)
    assert sorted(json.loads(r.value)["payment_id"] for r in published) == [
        "261203ABCD000001", "261203ABCD000002", "261203ABCD000003", "R:261205ABCD000009",
    ]  # fmt: skip
    kinds = [
        (dict(r.headers)["ce_type"].decode().split(".")[3], json.loads(r.value))
        for r in await read_topic(
            sandbox.bootstrap,
            sandbox.topic(topics.INVOICES.name),
            expect=2 + 1 + 1,
            where=lambda r: dict(r.headers)["ce_type"].decode() != "fi.billing.invoicing.invoice-issued.v1",
        )
    ]
    assert sorted((k, e["payment_id"]) for k, e in kinds if k.startswith("payment")) == [
        ("payment-recorded", "261203ABCD000001"),
        ("payment-recorded", "261203ABCD000002"),
        ("payment-reversed", "R:261205ABCD000009"),
    ]

    # a malformed file: the sum record's payment count changed -> refused whole
    lines = first.split(b"\r\n")
    lines[-2] = lines[-2][:1] + b"000004" + lines[-2][7:]
    bad = b"\r\n".join(lines)
    for path in ("/payments/files/preview", "/payments/files"):
        refused = await api.post(path, **upload(bad))
        assert refused.status_code == 422, refused.text
        detail = refused.json()["detail"]
        assert detail["code"] == "bank-file-invalid" and detail["where"] == "line 5", detail
        assert detail["message_fi"] and detail["message_en"]
    too_large = await api.post("/payments/files", **upload(b"0" * (MAX_BANK_FILE_BYTES + 1)))
    assert too_large.status_code == 413 and too_large.json()["detail"]["code"] == "bank-file-too-large"
    missing = await api.post("/payments/files", data={"sha256": "x"})
    assert missing.status_code == 422, missing.text
    assert await sandbox.scalar("SELECT count(*) FROM bank_files") == 2
    assert await sandbox.scalar("SELECT count(*) FROM bank_file_entries") == 5


async def _item_status(db: str, invoice_id: int, status: str) -> bool:
    item = await reminders_item(db, invoice_id)
    return item is not None and item["status"] == status


async def test_camt054_files_match_by_rf_reference_and_a_reversal_opens_the_invoice_again(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    api = invoicing_api
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.profiles(profile("G-1"))
        await inbound.requests(request("GR1", "G-1", lines=(PAPER,)))
        await ready(api, 1)
    await run(api, kind="subscription", mode="confirm")
    (g1,) = (await api.get("/invoices")).json()["items"]
    rf = g1["reference_rf"].replace(" ", "")
    paid = camt054("CAMT-20261204-1", entry("2026120412345001", rf, "33.00"), version="08")
    p = (await api.post("/payments/files/preview", **upload(paid, "camt054.xml"))).json()
    assert (p["format"], p["file_id"], p["count"], p["amount"]) == ("camt.054", "CAMT-20261204-1", 1, "33.00")
    assert [(e["outcome"], e["invoice_number"], e["reference"]) for e in p["entries"]] == [
        ("matched", g1["number"], rf)
    ]
    first = await api.post("/payments/files", **upload(paid, "camt054.xml", sha256=p["sha256"]))
    assert first.status_code == 201 and first.json()["recorded"] == 1, first.text

    async def status_is(want: str) -> bool:
        return bool((await api.get(f"/invoices/{g1['id']}")).json()["payment_status"] == want)

    await wait_for(lambda: status_is("paid"), timeout=30)
    taken_back = camt054("CAMT-20261205-1", entry("2026120512345009", rf, "33.00", on=date(2026, 12, 5), reversal=True))
    second = await api.post("/payments/files", **upload(taken_back, "camt054-2.xml"))
    assert (second.status_code, second.json()["reversals"], second.json()["recorded"]) == (201, 1, 1), second.text
    await wait_for(lambda: status_is("open"), timeout=30)
    got = (await api.get(f"/invoices/{g1['id']}")).json()
    assert got["open_amount"] == "33.00"
    rows = {x["payment_id"]: (x["status"], x["kind"]) for x in (await api.get("/payments")).json()["items"]}
    assert rows == {"2026120412345001": ("reversed", "payment"), "R:2026120512345009": ("reversal", "reversal")}
    again = await api.post("/payments/files", **upload(taken_back, "camt054-2.xml"))
    assert (again.status_code, again.json()["already_imported"]) == (200, True)
    assert await sandbox.scalar("SELECT count(*) FROM bank_file_entries") == 2


async def test_a_large_file_imports_in_one_transaction(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    """4,000 entries: more than one statement's parameters (32,767) would hold as a
    multi-row insert or an IN list; then the same entries again in a second file."""
    n = 4_000
    entries = [entry(f"261203L{i:09d}", "12345672", "1.00", line=i + 2) for i in range(n)]
    big = viitesiirto("202612040615-47-123456789", *entries)
    done = await invoicing_api.post("/payments/files", **upload(big, "iso.txt"))
    assert done.status_code == 201, done.text
    assert (done.json()["count"], done.json()["amount"], done.json()["recorded"]) == (n, "4000.00", n)
    overlap = viitesiirto("202612050615-47-123456789", *entries[-10:], entry("261205L000000001", "12345672", "2.00"))
    again = await invoicing_api.post("/payments/files", **upload(overlap, "iso2.txt"))
    assert (again.json()["recorded"], again.json()["repeated"]) == (1, 10), again.text
    assert await sandbox.scalar("SELECT count(*) FROM bank_file_entries WHERE NOT repeated") == n + 1
    published = await read_topic(sandbox.bootstrap, sandbox.topic(topics.REFERENCE_PAYMENTS.name), expect=n + 1)
    assert len({json.loads(r.value)["payment_id"] for r in published}) == len(published) == n + 1


async def test_the_specifications_sample_files_import_and_their_corrections_reverse_their_payments(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    """The sample files of tests/data/bank_files (built from the specifications; no invoice
    has their references): every entry recorded once, each correction taking back the
    payment of its reference and amount, and the one whose payment never came kept for
    the clerk."""
    samples = Path(__file__).resolve().parents[1] / "data" / "bank_files"
    recorded = {}
    for name in ("viitesiirto_sample.txt", "camt054_001_02_sample.xml", "camt054_001_08_sample.xml"):
        done = await invoicing_api.post("/payments/files", **upload((samples / name).read_bytes(), name))
        assert done.status_code == 201, done.text
        recorded[name] = (done.json()["format"], done.json()["recorded"], done.json()["reversals"])
    assert recorded == {
        "viitesiirto_sample.txt": ("viitesiirto", 4, 1),
        "camt054_001_02_sample.xml": ("camt.054", 4, 1),
        "camt054_001_08_sample.xml": ("camt.054", 2, 1),
    }

    async def all_taken() -> bool:
        return (await invoicing_api.get("/payments")).json()["total"] == 10

    await wait_for(all_taken, timeout=30)
    got = {p["payment_id"]: (p["status"], p["reason"]) for p in (await invoicing_api.get("/payments")).json()["items"]}
    unknown = ("unmatched", "reference-unknown")
    assert got == {
        "261203ABCD000001": ("reversed", "reference-unknown"),
        "261203ABCD000002": unknown,
        "261204ABCD000003": unknown,
        "R:261204ABCD000009": ("reversal", None),
        "261203ABCD000101": ("reversed", "reference-unknown"),
        "261203ABCD000102": unknown,
        "261204ABCD000103": unknown,
        "R:261204ABCD000109": ("reversal", None),
        "261205EFGH000001": unknown,
        "R:261205EFGH000002": ("unmatched", "reversal-unknown"),
    }
    listing = (await invoicing_api.get("/payments/files")).json()["items"]
    counts = sorted((i["file_name"], i["matched"], i["unmatched"], i["reversed"], i["pending"]) for i in listing)
    assert counts == [
        ("camt054_001_02_sample.xml", 0, 2, 2, 0),
        ("camt054_001_08_sample.xml", 0, 2, 0, 0),
        ("viitesiirto_sample.txt", 0, 2, 2, 0),
    ]


async def test_the_forms_text_parts_refuse_unstorable_text_and_a_sha256_that_is_not_one(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient
) -> None:
    """A multipart form is not JSON, so the service-wide unstorable-text check does not
    see it: the upload route checks its own text parts (the file's name, ``sha256``)."""
    good = viitesiirto("202612040615-47-123456789", entry("261203U000000001", "12345672", "7.00"))
    raw = (  # by hand: httpx percent-encodes a control character in a file name
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="viitteet\x01.txt"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + good + b"\r\n--B--\r\n"
    )
    for path in ("/payments/files/preview", "/payments/files"):
        form_type = {"content-type": "multipart/form-data; boundary=B"}
        answer = await invoicing_api.post(path, content=raw, headers=form_type)
        assert answer.status_code == 422, (path, answer.text)
        assert [(d["loc"], d["type"]) for d in answer.json()["detail"]] == [
            (["body", "file", "filename"], "invalid_character")
        ]
    for name, form, loc, kind in (
        ("viitteet.txt", {"sha256": "a\x01b"}, ["body", "sha256"], "invalid_character"),
        ("viitteet.txt", {"sha256": "ABC"}, ["body", "sha256"], "string_pattern_mismatch"),
    ):
        for path in ("/payments/files/preview", "/payments/files"):
            answer = await invoicing_api.post(path, **upload(good, name, **form))
            assert answer.status_code == 422, (path, name, form, answer.text)
            assert [(d["loc"], d["type"]) for d in answer.json()["detail"]] == [(loc, kind)]
    assert await sandbox.scalar("SELECT count(*) FROM bank_files") == 0
