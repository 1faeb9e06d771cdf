"""The Sending tab's e-mail channel on real Kafka, PostgreSQL and a real SMTP server
(aiosmtpd sink): documents arrive from issued-document events, a preview delivers
nothing, the send delivers every mail once with a PDF that says what to pay, and the
delivery results are published."""

from __future__ import annotations

import email.policy
import io
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

import pytest
from pypdf import PdfReader

from shared.events.dispatch import DeliveryFailed, DocumentDelivered
from shared.events.topics import DELIVERIES
from tests.support import documents as d
from tests.support.dispatch import dispatch_stack, publish
from tests.support.isolation import Sandbox
from tests.support.kafka import read_topic
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

IBAN_PRINTED = "FI21 1234 5600 0007 85"  # FI2112345600000785 in groups of four


def person(n: int, **changes: object) -> d.Customer:
    data = d.PERSON.model_copy(update={"email": f"maija.{n}@example.com", **changes})
    return d.customer(f"C-{n}", data)


def pdf_text(mail: EmailMessage) -> str:
    (attachment,) = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    pdf = attachment.get_content()
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def the_documents() -> tuple[list[d.InvoiceDocument | d.ReminderDocument], dict[str, tuple[str, ...]]]:
    """Eight e-mail documents (one without an address), two e-invoices, one print; and
    per e-mail recipient what its PDF must show."""
    invoices = [d.invoice(1000000000 + k, who=person(k)) for k in range(1, 6)]
    credit = d.credit_note(invoices[0])  # full credit of invoice 1000000001
    reminder = d.reminder(invoices[1], level=1)  # of invoice 1000000002
    no_address = d.invoice(1000000006, who=person(6, email=None))
    einvoices = [d.invoice(1000000100 + k, who=d.customer(f"Y-{k}", d.COMPANY)) for k in (1, 2)]
    printed = d.invoice(1000000200, who=person(200, delivery_channel="print"))
    docs = [*invoices, credit, reminder, no_address, *einvoices, printed]
    # Every invoice has the default lines: gross 63.37, issued 2.11.2026, due +14 days =
    # 16.11.2026. Reference of 10000000k0..: base 100000000k weighted 7-3-1 from the right
    # sums to 7k + 7, check digit (10 - (7k + 7) mod 10) mod 10: k=1 -> 6, 3 -> 2, 4 -> 5, 5 -> 8.
    expected = {
        "maija.1@example.com": ("1000000001", "1 00000 00016", "16.11.2026", "63,37", IBAN_PRINTED),
        "maija.3@example.com": ("1000000003", "1 00000 00032", "16.11.2026", "63,37", IBAN_PRINTED),
        "maija.4@example.com": ("1000000004", "1 00000 00045", "16.11.2026", "63,37", IBAN_PRINTED),
        "maija.5@example.com": ("1000000005", "1 00000 00058", "16.11.2026", "63,37", IBAN_PRINTED),
    }
    return docs, expected


async def test_preview_delivers_nothing_then_the_send_delivers_every_mail_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    docs, expected = the_documents()
    with SmtpSink() as sink:
        async with dispatch_stack(sandbox, tmp_path, smtp_port=sink.port) as stack:
            await stack.worker("email")
            await publish(sandbox, docs)
            await stack.wait_arrived(len(docs))

            counts = await stack.counts()
            assert (counts["email"]["waiting"], counts["einvoice"]["waiting"], counts["print"]["waiting"]) == (8, 2, 1)
            reminders = (await stack.api.get("/sending/email/documents", params={"kind": "reminder"})).json()
            assert reminders["total"] == 1
            assert (reminders["items"][0]["number"], reminders["items"][0]["reminder_level"]) == ("1000000002", 1)
            assert reminders["items"][0]["amount"] == "68.37"  # 63.37 open + 5.00 fee

            # seed step 22: preview on -> everything rendered, nothing sent, nothing changed
            preview = await stack.send("email", preview=True)
            assert preview["answer"]["selected"] == 8
            assert preview["answer"]["message_en"].startswith("Preview: 8 documents")
            job = preview["job"]
            assert (job["state"], job["done"], job["total"], job["failures"]) == ("done", 8, 8, 1)
            assert job["result"] == {"rendered": 7, "problems": 1}
            assert sink.count() == 0
            assert (await stack.counts())["email"]["waiting"] == 8
            page = (await stack.api.get(f"/sending/previews/{job['id']}", params={"problems_only": True})).json()
            (problem,) = page["items"]
            assert problem["code"] == "no-email-address"
            samples = (await stack.api.get(f"/sending/previews/{job['id']}")).json()["items"]
            sample = next(s for s in samples if s["downloadable"])
            eml = await stack.api.get(f"/sending/previews/{job['id']}/{sample['document_id']}")
            assert eml.headers["content-type"].startswith("message/rfc822")
            previewed = message_from_bytes(eml.content, policy=email.policy.default)
            assert isinstance(previewed, EmailMessage)
            number = next(
                i["number"]
                for i in (await stack.api.get("/sending/email/documents")).json()["items"]
                if i["id"] == sample["document_id"]
            )
            assert number in pdf_text(previewed)  # the sample is the mail with its readable PDF
            assert await sandbox.scalar("SELECT count(*) FROM delivery_attempts") == 0

            # seed steps 23-24: preview off, send
            sent = await stack.send("email")
            assert sent["answer"]["selected"] == 8
            assert sent["answer"]["message_fi"].startswith("8 asiakirjaa lähetetään sähköpostilla")
            job = sent["job"]
            assert (job["state"], job["done"], job["total"], job["failures"]) == ("done", 8, 8, 1)
            assert job["result"] == {"queued": 8, "delivered": 7, "failed": 1}
            assert job["actor"] == "clerk-1"

            await sink.wait_for(7)
            counts = await stack.counts()
            assert (counts["email"]["delivered"], counts["email"]["failed"], counts["email"]["waiting"]) == (7, 1, 0)
            assert (counts["einvoice"]["waiting"], counts["print"]["waiting"]) == (2, 1)  # other channels wait

            failed = (await stack.api.get("/sending/email/documents", params={"state": "failed"})).json()["items"]
            assert [(f["number"], f["error_code"]) for f in failed] == [("1000000006", "no-email-address")]

            # nothing left to send: a second send selects nothing and sends nothing
            again = await stack.send("email")
            assert again["answer"]["selected"] == 0
            assert again["job"]["result"].get("queued", 0) == 0

        deliveries = await read_topic(sandbox.bootstrap, sandbox.topic(DELIVERIES.name), expect=8, settle=1.0)

    mails = sink.messages()
    assert len(mails) == 7
    assert len(sink.message_ids()) == 7  # every Message-ID once: no mail twice
    assert all(str(m["Message-ID"]).endswith("@billing.test>") for m in mails)
    recipients = sorted(str(m["To"].addresses[0].addr_spec) for m in mails)
    # invoices 1-5, the credit note of invoice 1 (to customer 1) and the reminder of invoice 2 (to customer 2)
    assert recipients == sorted([f"maija.{k}@example.com" for k in (1, 1, 2, 2, 3, 4, 5)])
    for mail in mails:
        assert mail.get_content_type() == "multipart/mixed"
        body = mail.get_body(preferencelist=("plain",))
        html = mail.get_body(preferencelist=("html",))
        assert body is not None and html is not None
    texts = {id(m): pdf_text(m) for m in mails}
    for recipient, must_show in expected.items():
        (mail,) = [m for m in mails if m["To"].addresses[0].addr_spec == recipient and must_show[1] in texts[id(m)]]
        for piece in must_show:
            assert piece in texts[id(mail)], (recipient, piece)
    (reminder_text,) = [texts[id(m)] for m in mails if "68,37" in texts[id(m)]]
    # reminder #1 of invoice 1000000002: 63.37 + 5.00 fee = 68.37, new due 1.12.2026 + 14 = 15.12.2026,
    # v4 bar code: 4 | IBAN digits | 000068 37 | 000 | reference 10000000029 in 20 | 261215
    barcode = "4" + "2112345600000785" + "000068" + "37" + "000" + "00000000010000000029" + "261215"
    for piece in ("1000000002", "15.12.2026", "1 00000 00029", barcode):
        assert piece in reminder_text, piece

    def of_type(kind: bytes) -> list[bytes]:
        return [r.value for r in deliveries if kind in dict(r.headers)["ce_type"]]

    delivered = [DocumentDelivered.model_validate_json(v) for v in of_type(b"document-delivered")]
    failed_events = [DeliveryFailed.model_validate_json(v) for v in of_type(b"delivery-failed")]
    assert len(delivered) == 7 and len({e.document_id for e in delivered}) == 7
    assert {e.receipt for e in delivered} == {str(m["Message-ID"]) for m in mails}
    (failure,) = failed_events
    assert (failure.code, failure.final, failure.channel) == ("no-email-address", True, "email")
    assert sorted(e.document_kind for e in delivered) == [
        "credit-note",
        "invoice",
        "invoice",
        "invoice",
        "invoice",
        "invoice",
        "reminder",
    ]
