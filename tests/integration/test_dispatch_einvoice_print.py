"""The e-invoice and print channels on real Kafka and PostgreSQL: every e-invoice file in
the drop folder validates against the official Finvoice 3.0 XSD and its totals add up;
an invalid one never leaves; the print send is one batch (PDF + manifest) with the
right bar codes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader

from services.dispatch.finvoice.frame import split
from tests.support import documents as d
from tests.support.dispatch import dispatch_stack, publish
from tests.support.isolation import Sandbox

pytestmark = pytest.mark.integration

XSD = Path(__file__).resolve().parents[2] / "services/dispatch/finvoice/schema/Finvoice3.0.xsd"


def amount(tree: etree._Element, path: str) -> Decimal:
    return Decimal(tree.findtext(path).replace(",", "."))  # type: ignore[union-attr]


def amounts(tree: etree._Element, path: str) -> list[Decimal]:
    return [Decimal(e.text.replace(",", ".")) for e in tree.iterfind(path)]  # type: ignore[union-attr]


async def test_einvoices_validate_and_add_up_and_an_invalid_one_never_leaves(sandbox: Sandbox, tmp_path: Path) -> None:
    inv1 = d.invoice(1000000301, who=d.customer("Y-1", d.COMPANY))
    # 3 x 100.00 at 25.5 %: net 300.00, VAT 76.50, gross 376.50
    inv2 = d.invoice(1000000302, who=d.customer("Y-2", d.COMPANY), spec=(("ILM", "Ilmoitus", "3", "100.00", "25.5"),))
    credit = d.credit_note(inv1, 3000000301)  # full credit: -63.37
    reminder = d.reminder(inv2, level=1, fee="5.00")  # 376.50 + 5.00 = 381.50
    no_address = d.invoice(1000000303, who=d.customer("Y-3", d.COMPANY.model_copy(update={"einvoice_address": None})))
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    folder = tmp_path / "einvoice"

    async with dispatch_stack(sandbox, tmp_path) as stack:
        await stack.worker("einvoice")
        await publish(sandbox, [inv1, inv2, credit, reminder, no_address])
        await stack.wait_arrived(5)
        sent = await stack.send("einvoice")
        job = sent["job"]
        assert (job["state"], job["done"], job["total"], job["failures"]) == ("done", 5, 5, 1)
        assert job["result"] == {"queued": 5, "delivered": 4, "failed": 1}
        documents = (
            await stack.api.get("/sending/einvoice/documents", params={"state": ["delivered", "failed"]})
        ).json()

    by_number = {(doc["kind"], doc["number"]): doc for doc in documents["items"]}
    failed = by_number[("invoice", "1000000303")]
    assert (failed["state"], failed["error_code"]) == ("failed", "no-einvoice-address")
    files = sorted(p.name for p in folder.iterdir())
    assert all(not name.startswith(".") for name in files)  # no temporary file left behind
    delivered = {k: v for k, v in by_number.items() if v["state"] == "delivered"}
    assert files == sorted(f"finvoice-{doc['id']}.xml" for doc in delivered.values())

    trees = {}
    for key, doc in delivered.items():
        frame, body = split((folder / f"finvoice-{doc['id']}.xml").read_bytes())
        assert frame is not None and b"ProcessInvoice" in frame
        tree = etree.fromstring(body.lstrip())
        schema.assertValid(tree)  # the official XSD, not the service's own check
        trees[key] = tree
        # totals are the sums of the rows and of the VAT breakdown (what the XSD does not check)
        rows = amounts(tree, "InvoiceRow/RowVatExcludedAmount")
        if rows:
            assert sum(rows) == amount(tree, "InvoiceDetails/RowsTotalVatExcludedAmount")
        vat = amounts(tree, "InvoiceDetails/VatSpecificationDetails/VatRateAmount")
        assert sum(vat) == amount(tree, "InvoiceDetails/InvoiceTotalVatAmount")
        assert amount(tree, "InvoiceDetails/InvoiceTotalVatExcludedAmount") + sum(vat) == amount(
            tree, "InvoiceDetails/InvoiceTotalVatIncludedAmount"
        )

    first = trees[("invoice", "1000000301")]
    assert first.findtext("InvoiceDetails/InvoiceTypeCode") == "INV01"
    assert amount(first, "InvoiceDetails/InvoiceTotalVatIncludedAmount") == Decimal("63.37")
    # reference of 1000000301: weights 7-3-1 from the right: 1*7 + 0*3 + 3*1 + ... + 1*7 = 17 -> check 3
    assert first.findtext("EpiDetails/EpiPaymentInstructionDetails/EpiRemittanceInfoIdentifier") == "10000003013"
    second = trees[("invoice", "1000000302")]
    assert amount(second, "InvoiceDetails/InvoiceTotalVatExcludedAmount") == Decimal("300.00")
    assert amount(second, "InvoiceDetails/InvoiceTotalVatAmount") == Decimal("76.50")
    assert amount(second, "InvoiceDetails/InvoiceTotalVatIncludedAmount") == Decimal("376.50")
    note = trees[("credit-note", "3000000301")]
    assert note.findtext("InvoiceDetails/InvoiceTypeCode") == "INV02"
    assert note.findtext("InvoiceDetails/OriginalInvoiceNumber") == "1000000301"
    assert amount(note, "InvoiceDetails/InvoiceTotalVatIncludedAmount") == Decimal("-63.37")
    remind = trees[("reminder", "1000000302")]
    assert remind.findtext("InvoiceDetails/InvoiceTypeCode") == "INV08"
    assert amount(remind, "EpiDetails/EpiPaymentInstructionDetails/EpiInstructedAmount") == Decimal("381.50")


async def test_a_print_send_is_one_batch_with_its_manifest_and_bar_codes(sandbox: Sandbox, tmp_path: Path) -> None:
    def printed(n: int, **changes: object) -> d.Customer:
        return d.customer(f"P-{n}", d.PERSON.model_copy(update={"delivery_channel": "print", **changes}))

    invoices = [d.invoice(1000000400 + k, who=printed(k)) for k in (1, 2, 3)]
    homeless = d.invoice(1000000404, who=printed(4, address=None))
    folder = tmp_path / "print"
    async with dispatch_stack(sandbox, tmp_path) as stack:
        await stack.worker("print")
        await publish(sandbox, [*invoices, homeless])
        await stack.wait_arrived(4)
        sent = await stack.send("print")
        job = sent["job"]
        assert (job["state"], job["done"], job["total"], job["failures"]) == ("done", 4, 4, 1)
        assert job["result"] == {"queued": 4, "delivered": 3, "failed": 1}
        items = (await stack.api.get("/sending/print/documents", params={"state": "delivered"})).json()["items"]
        failed = (await stack.api.get("/sending/print/documents", params={"state": "failed"})).json()["items"]

    batch = f"print-send-{job['id']}"
    assert sorted(p.name for p in folder.iterdir()) == [".staging", f"{batch}.csv", f"{batch}.json", f"{batch}.pdf"]
    assert list((folder / ".staging").iterdir()) == []  # staged PDFs removed once the batch is out
    assert [f["error_code"] for f in failed] == ["no-postal-address"]
    assert {i["receipt"] for i in items} == {f"{batch}.pdf"}

    rows = list(csv.DictReader(io.StringIO((folder / f"{batch}.csv").read_text()), delimiter=";"))
    assert [r["document_id"] for r in rows] == [i["id"] for i in items]  # arrival order
    assert sorted(r["document_number"] for r in rows) == ["1000000401", "1000000402", "1000000403"]
    manifest = json.loads((folder / f"{batch}.json").read_text())
    pdf = PdfReader(folder / f"{batch}.pdf")
    assert len(pdf.pages) == sum(int(r["page_count"]) for r in rows)
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert manifest["pdf_sha256"] == hashlib.sha256((folder / f"{batch}.pdf").read_bytes()).hexdigest()
    assert [e["document_id"] for e in manifest["documents"]] == [r["document_id"] for r in rows]
    # invoice 100000040k: reference base digits from the right 1-weighted: k*7 + 4*1 + 1*7:
    # k=1 -> 18 -> check 2; k=2 -> 25 -> 5; k=3 -> 32 -> 8. Amount 63.37, due 16.11.2026.
    for k, check in ((1, 2), (2, 5), (3, 8)):
        reference = f"100000040{k}{check}".zfill(20)
        barcode = "4" + "2112345600000785" + "000063" + "37" + "000" + reference + "261116"
        assert barcode in text, k
