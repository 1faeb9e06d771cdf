"""The checks across the whole system after the clerk's day: nothing duplicated
anywhere, every document delivered exactly once on its channel, every Finvoice valid and
consistent with its invoice, every PDF readable with the right number, amount and
reference, the totals of invoicing, reminders and dispatch in agreement, and no personal
data in any process's log. Expected values come from ``tests/e2e/dataset.py``."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

from tests.e2e import dataset as ds
from tests.e2e.clerk import D, amount_fi, documents, fi_amount, ok
from tests.e2e.system import CHANNELS, System
from tests.support import finvoice as fv
from tests.support import pdf as pdfs
from tests.support.servers import REPO

XSD = REPO / "services/dispatch/finvoice/schema/Finvoice3.0.xsd"


def expected_documents() -> Counter[tuple[str, str, int | None, str, str, Decimal]]:
    """(channel, kind, reminder level, customer, document date, amount) of every
    document the day must have delivered, from the data set alone."""
    out: Counter[tuple[str, str, int | None, str, str, Decimal]] = Counter()
    for c, day in ds.HISTORY_DATES.items():
        out[(ds.CHANNEL[c], "invoice", None, c, day, D("33.00"))] += 1
    for c, amount in ds.HISTORY_REMINDERS.items():
        out[(ds.CHANNEL[c], "reminder", 1, c, ds.HISTORY_REMINDER_DAY, amount)] += 1
    for level, table in ((1, ds.REMINDER1), (2, ds.REMINDER2)):
        for c, amount in table.items():
            out[(ds.CHANNEL[c], "reminder", level, c, ds.TODAY, amount)] += 1
    for c in ds.SUBSCRIBERS:
        if c != "Y05":  # its only order was cancelled
            out[(ds.CHANNEL[c], "invoice", None, c, ds.TODAY, ds.gross_of_subscription(c))] += 1
    for c in ds.NOTICE_CUSTOMERS:
        out[(ds.CHANNEL[c], "invoice", None, c, ds.TODAY, D("30.37"))] += 1
    return out


async def check_no_duplicates(system: System) -> None:
    # invoice numbers unique and gap-free per series
    rows = await system.fetch("invoicing", "SELECT series, number FROM invoices WHERE status = 'confirmed'")
    numbers: dict[str, list[int]] = {}
    for r in rows:
        numbers.setdefault(r["series"], []).append(r["number"])
    assert {s: sorted(n) for s, n in numbers.items()} == {
        "subscription": list(range(1_000_000_001, 1_000_000_032)),  # 12 history + 19 today
        "notice": list(range(2_000_000_001, 2_000_000_007)),
    }
    # one invoice per billing request
    per_request = await system.fetch(
        "invoicing",
        "SELECT invoice_id, count(*) AS n FROM billing_requests WHERE status = 'invoiced' GROUP BY invoice_id",
    )
    assert len(per_request) == 12 + 19 + 6 and {r["n"] for r in per_request} == {1}
    # one reminder per invoice and level
    reminders = await system.fetch("reminders", "SELECT invoice_id, level FROM reminders")
    assert len(reminders) == 11 and len({(r["invoice_id"], r["level"]) for r in reminders}) == 11
    # one document per source and channel, one final delivery each, in the dispatch database
    docs = await system.fetch("dispatch", "SELECT id, source, source_id, channel, state FROM documents")
    assert len(docs) == sum(ds.WAITING.values()) == 48
    assert len({(d["source"], d["source_id"], d["channel"]) for d in docs}) == 48
    delivered = await system.fetch(
        "dispatch", "SELECT document_id, count(*) AS n FROM delivery_attempts WHERE outcome = 'delivered' GROUP BY 1"
    )
    assert len(delivered) == 48 and {r["n"] for r in delivered} == {1}
    # at the receivers: each mail once (Message-ID), one Finvoice file per e-invoice
    # document, one print-batch row per print document
    mail_ids = system.sink.message_ids()
    assert len(mail_ids) == ds.WAITING["email"] and set(mail_ids.values()) == {1}
    files = sorted(p.name for p in system.einvoice_folder.iterdir() if not p.name.startswith("."))
    einvoice_docs = [d["id"] for d in docs if d["channel"] == "einvoice"]
    assert files == sorted(f"finvoice-{i}.xml" for i in einvoice_docs)
    rows_ = print_rows(system.print_folder)
    print_docs = [d["id"] for d in docs if d["channel"] == "print"]
    assert sorted(r["document_id"] for r in rows_) == sorted(print_docs)


def print_rows(folder: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for manifest in sorted(folder.glob("print-send-*.csv")):
        rows += list(csv.DictReader(io.StringIO(manifest.read_text()), delimiter=";"))
    return rows


async def check_documents_delivered_once(system: System) -> None:
    got: Counter[tuple[str, str, int | None, str, str, Decimal]] = Counter()
    for channel in CHANNELS:
        items = await documents(system, channel)
        assert {d["state"] for d in items} == {"delivered"}
        for d in items:
            got[
                (d["channel"], d["kind"], d["reminder_level"], d["customer_number"], d["document_date"], D(d["amount"]))
            ] += 1
    assert got == expected_documents()


async def _document_index(system: System) -> dict[str, dict[str, Any]]:
    """Dispatch's documents by id, with what the invoice or reminder says to pay."""
    index: dict[str, dict[str, Any]] = {}
    for channel in CHANNELS:
        for d in await documents(system, channel):
            index[d["id"]] = d
    invoices = await system.fetch("invoicing", "SELECT number, reference, gross, net, vat FROM invoices")
    by_number = {str(r["number"]): r for r in invoices}
    for d in index.values():
        inv = by_number[d["number"]]  # a reminder carries its invoice's number and reference
        d["reference"] = inv["reference"]
        d["invoice"] = inv
    return index


async def check_finvoices(system: System) -> None:
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    index = await _document_index(system)
    seen = 0
    for path in sorted(system.einvoice_folder.glob("finvoice-*.xml")):
        doc = index[path.name.removeprefix("finvoice-").removesuffix(".xml")]
        _, root = fv.parts(path.read_bytes())
        schema.assertValid(root)  # the official Finvoice 3.0 XSD
        # a reminder's own number is its invoice's number and its level (1000000009-1)
        level = doc["reminder_level"]
        assert fv.one(root, "InvoiceDetails/InvoiceNumber") == doc["number"] + (f"-{level}" if level else "")
        assert fv.one(root, "EpiDetails/EpiPaymentInstructionDetails/EpiRemittanceInfoIdentifier") == doc["reference"]
        instructed = fi_amount(fv.one(root, "EpiDetails/EpiPaymentInstructionDetails/EpiInstructedAmount"))
        assert instructed == D(doc["amount"])
        # to the customer's own e-invoice address, through its operator (B02's as fixed)
        customer = ds.CUSTOMERS[doc["customer_number"]]
        fixed = {**customer, **ds.FIXES.get(doc["customer_number"], {})}
        assert fv.one(root, "BuyerPartyDetails/BuyerPartyIdentifier") == customer["business_id"]
        assert fv.one(root, ".//MessageReceiverDetails/ToIdentifier") == customer["einvoice_address"]
        assert fv.one(root, ".//MessageReceiverDetails/ToIntermediator") == fixed["einvoice_operator"] == ds.OPERATOR
        if doc["kind"] == "invoice":
            inv = doc["invoice"]
            assert fv.one(root, "InvoiceDetails/InvoiceTypeCode") == "INV01"
            assert fi_amount(fv.one(root, "InvoiceDetails/InvoiceTotalVatIncludedAmount")) == inv["gross"]
            assert fi_amount(fv.one(root, "InvoiceDetails/InvoiceTotalVatExcludedAmount")) == inv["net"]
            assert fi_amount(fv.one(root, "InvoiceDetails/InvoiceTotalVatAmount")) == inv["vat"]
            rates = {fi_amount(t) for t in fv.texts(root, "InvoiceDetails/VatSpecificationDetails/VatRatePercent")}
            assert rates == ({D("25.5")} if doc["number"].startswith("2") else {D("10")})
        else:
            assert fv.one(root, "InvoiceDetails/InvoiceTypeCode") == "INV08"
        seen += 1
    assert seen == ds.WAITING["einvoice"]


async def check_pdfs(system: System) -> None:
    index = await _document_index(system)
    # e-mail: each mail's PDF says its number, amount and reference
    mails = system.sink.messages()
    assert len(mails) == ds.WAITING["email"]
    by_receipt = {d["receipt"]: d for d in index.values() if d["channel"] == "email"}
    for mail in mails:
        doc = by_receipt[str(mail["Message-ID"])]
        customer = doc["customer_number"]
        assert mail["To"].addresses[0].addr_spec == f"{customer.lower()}@example.com"  # B01's as fixed
        (attachment,) = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
        text = pdfs.text(attachment.get_content())
        _assert_pdf_says(text, doc)
    # print: each document's pages in the batch PDF say the same
    printed = 0
    for manifest in sorted(system.print_folder.glob("print-send-*.json")):
        meta = json.loads(manifest.read_text())
        pdf = manifest.with_suffix(".pdf").read_bytes()
        pages = pdfs.page_texts(pdf)
        rows = list(csv.DictReader(io.StringIO(manifest.with_suffix(".csv").read_text()), delimiter=";"))
        assert [e["document_id"] for e in meta["documents"]] == [r["document_id"] for r in rows]
        at = 0
        for r in rows:
            count = int(r["page_count"])
            doc = index[r["document_id"]]
            assert r["customer_number"] == doc["customer_number"]
            text = "\n".join(pages[at : at + count])
            _assert_pdf_says(text, doc)
            street = ds.CUSTOMERS[doc["customer_number"]]["address"]["street_lines"][0]
            assert street in text  # the address block of the customer's own card
            if doc["customer_number"] == "B03":
                assert "33100 Tampere" in " ".join(text.split())  # the postal code the clerk added
            at += count
            printed += 1
        assert at == len(pages)
    assert printed == ds.WAITING["print"]


def _assert_pdf_says(text: str, doc: dict[str, Any]) -> None:
    flat = " ".join(text.split())
    assert doc["number"] in flat, doc["id"]
    assert amount_fi(D(doc["amount"])) in flat, (doc["id"], doc["amount"])
    reference = doc["reference"]
    grouped = " ".join(reversed([reference[max(0, i - 5) : i] for i in range(len(reference), 0, -5)]))
    assert grouped in flat, (doc["id"], grouped)


async def check_totals_agree(system: System, history: dict[str, dict[str, Any]]) -> None:
    # invoicing: every invoice's gross, what is still open after the payments
    invoiced = await system.scalar("invoicing", "SELECT sum(gross) FROM invoices WHERE status = 'confirmed'")
    open_in_invoicing = await system.scalar("invoicing", "SELECT sum(gross - paid - credited) FROM invoices")
    assert (invoiced, open_in_invoicing) == (ds.INVOICES_GROSS, ds.OPEN_AFTER_PAYMENTS)
    listed = await ok(await system.api("invoicing").get("/invoices", params={"limit": 500}))
    assert listed["total"] == 12 + 19 + 6
    assert sum(D(i["open_amount"]) for i in listed["items"]) == ds.OPEN_AFTER_PAYMENTS
    # reminders: its projection of the same invoices, and the reminders it made
    projected = await system.fetch("reminders", "SELECT sum(gross) AS g, sum(open_amount) AS o FROM open_items")
    assert (projected[0]["g"], projected[0]["o"]) == (ds.INVOICES_GROSS, ds.OPEN_AFTER_PAYMENTS)
    reminded = await system.scalar("reminders", "SELECT sum(total_due) FROM reminders")
    assert reminded == ds.REMINDERS_TOTAL
    # dispatch: the documents it delivered carry the same amounts
    docs = await system.fetch("dispatch", "SELECT kind, sum(amount) AS s FROM documents GROUP BY kind")
    assert {r["kind"]: r["s"] for r in docs} == {
        "invoice": ds.INVOICES_GROSS,
        "reminder": ds.REMINDERS_TOTAL,
    }
    # one spot check across all three for an invoice paid in part and reminded twice
    p01 = history["P01"]
    item = await ok(await system.api("reminders").get(f"/invoices/{p01['id']}"))
    assert (D(item["open_amount"]), [r["level"] for r in item["reminders"]]) == (D("23.00"), [1, 2])


def check_no_personal_data_in_logs(system: System) -> None:
    """Section 4: names, addresses and e-mail addresses never reach a log."""
    logs = sorted((system.folder / "logs").glob("*.log"))
    assert len(logs) == 7  # four services, three workers
    for log in logs:
        text = log.read_text(errors="replace")
        for personal in ("Testi Henkilö", "Testiyhtiö", "@example.com", "Kotikatu", "Teollisuustie"):
            assert personal not in text, (log.name, personal)
