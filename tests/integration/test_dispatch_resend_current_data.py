"""A refused e-mail reaches the customer, on real Kafka, PostgreSQL and SMTP: the mail
server answers 550 for the address on the invoice; the clerk fixes the customer card
(the customers service publishes a new billing profile); the re-send goes to the
customer's current address, and the attempt records where it went and who re-sent it.
A failed document can also be moved to another channel (e-mail refused → print): it
waits there, addressed to the current data, and goes into the next print batch."""

from __future__ import annotations

import csv
import email.policy
import io
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from shared.events.customers import ProfileError
from tests.support import documents as d
from tests.support.credentials import as_clerk
from tests.support.dispatch import Stack, dispatch_stack, publish, publish_profile, wait_profile
from tests.support.isolation import Sandbox
from tests.support.kafka import wait_for
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

REFUSED = "maija.vanha@example.com"
FIXED = "maija.uusi@example.com"


async def failed_mail(stack: Stack, sink: SmtpSink, doc: d.InvoiceDocument) -> dict[str, Any]:
    """Publish the invoice, send it: the mail server refuses the address (550)."""
    await publish(stack.sandbox, [doc])
    await stack.wait_arrived(1)
    sent = await stack.send("email")
    assert sent["job"]["result"] == {"queued": 1, "delivered": 0, "failed": 1}
    (failed,) = (await stack.api.get("/sending/email/documents", params={"state": "failed"})).json()["items"]
    assert failed["error_code"] == "address-refused"
    return dict(failed)


async def test_a_resend_after_the_card_is_fixed_goes_to_the_current_address(sandbox: Sandbox, tmp_path: Path) -> None:
    issued = d.PERSON.model_copy(update={"email": REFUSED})
    doc = d.invoice(1000000701, who=d.customer("C-701", issued))  # snapshot at issue: profile version 1
    with SmtpSink() as sink:
        sink.refuse = {REFUSED: "550 5.1.1 No such user"}
        async with dispatch_stack(sandbox, tmp_path, smtp_port=sink.port) as stack:
            await stack.worker("email")
            failed = await failed_mail(stack, sink, doc)

            # the card is saved with an error first: nothing is sent to it, the reason says why
            await publish_profile(
                sandbox,
                "C-701",
                2,
                issued.model_copy(update={"email": "maija.uusi@"}),
                [ProfileError(code="invalid", field="email", message_fi="Virheellinen.", message_en="Invalid.")],
            )
            await wait_profile(sandbox, "C-701", 2)
            refused = await stack.api.post(f"/documents/{failed['id']}/resend", headers=as_clerk("clerk-2"))
            assert refused.status_code == 409, refused.text
            assert refused.json()["detail"]["code"] == "customer-card-invalid"
            assert "email" in refused.json()["detail"]["message_fi"]

            # fixed: the customers service publishes the card's next version
            await publish_profile(sandbox, "C-701", 3, issued.model_copy(update={"email": FIXED}))
            await wait_profile(sandbox, "C-701", 3)
            response = await stack.api.post(f"/documents/{failed['id']}/resend", headers=as_clerk("clerk-2"))
            assert response.status_code == 202, response.text
            resent = await stack.job(response.json()["job"]["url"])
            assert resent["result"] == {"queued": 1, "delivered": 1, "failed": 0}

            detail = (await stack.api.get(f"/documents/{failed['id']}")).json()

    # the mail reached the fixed address, once
    assert [str(m["To"].addresses[0].addr_spec) for m in sink.messages()] == [FIXED]
    # each attempt says where it went and who sent it
    attempts = [(a["outcome"], a["address"], a["actor"]) for a in detail["attempts_made"]]
    assert attempts == [("failed", REFUSED, "clerk-1"), ("delivered", FIXED, "clerk-2")]
    assert (detail["state"], detail["recipient_version"], detail["queued_by"]) == ("delivered", 3, "clerk-2")
    # the refused attempt's reason in the clerk's language (fi / en / sv), with the server's code
    refused_attempt = detail["attempts_made"][0]
    assert refused_attempt["code"] == "address-refused"
    assert "SMTP 550" in refused_attempt["message_fi"] and "sähköpostiosoite" in refused_attempt["message_fi"]
    assert "e-mail address" in refused_attempt["message_en"] and "e-postadress" in refused_attempt["message_sv"]
    assert REFUSED not in refused_attempt["message_fi"]
    # the document's record stays as issued
    kept = await sandbox.scalar(
        "SELECT payload->'customer'->'data'->>'email' FROM documents WHERE id = $1", failed["id"]
    )
    assert kept == REFUSED


async def test_send_all_failed_again_takes_each_customers_current_data(sandbox: Sandbox, tmp_path: Path) -> None:
    """The channel's "send all failed again": the customer whose card was fixed gets the
    mail at the new address; the one whose card was not is refused again at the old one.
    A profile older than the one dispatch has (a replay) changes nothing."""
    other = "pekka.vanha@example.com"
    fixed_doc = d.invoice(1000000711, who=d.customer("C-711", d.PERSON.model_copy(update={"email": REFUSED})))
    unfixed_doc = d.invoice(1000000712, who=d.customer("C-712", d.PERSON.model_copy(update={"email": other})))
    with SmtpSink() as sink:
        sink.refuse = {REFUSED: "550 5.1.1 No such user", other: "550 5.1.1 No such user"}
        async with dispatch_stack(sandbox, tmp_path, smtp_port=sink.port) as stack:
            await stack.worker("email")
            await publish(sandbox, [fixed_doc, unfixed_doc])
            await stack.wait_arrived(2)
            first = await stack.send("email")
            assert first["job"]["result"] == {"queued": 2, "delivered": 0, "failed": 2}

            await publish_profile(sandbox, "C-711", 4, d.PERSON.model_copy(update={"email": FIXED}))
            await wait_profile(sandbox, "C-711", 4)
            # a replayed older profile (version 3, the refused address) arrives after it
            await publish_profile(sandbox, "C-711", 3, d.PERSON.model_copy(update={"email": REFUSED}))
            profiles = stack.service.consumer_stats[-1]
            await wait_for(lambda: profiles.handled >= 2, timeout=60)

            # a preview of the re-send shows where each would go now, and sends nothing
            preview = await stack.send("email", resend_failed=True, preview=True)
            job_id = preview["job"]["id"]
            items = (await stack.api.get(f"/sending/previews/{job_id}")).json()["items"]
            to = {}
            for item in items:
                sample = await stack.api.get(f"/sending/previews/{job_id}/{item['document_id']}")
                mail = message_from_bytes(sample.content, policy=email.policy.default)
                to[item["document_id"]] = str(mail["To"].addresses[0].addr_spec)
            assert sorted(to.values()) == sorted([FIXED, other])
            assert sink.count() == 0

            again = await stack.send("email", resend_failed=True)
            assert again["job"]["result"] == {"queued": 2, "delivered": 1, "failed": 1}
            documents = (
                await stack.api.get("/sending/email/documents", params={"state": ["delivered", "failed"]})
            ).json()

    by_number = {doc["number"]: doc for doc in documents["items"]}
    assert by_number["1000000711"]["state"] == "delivered" and by_number["1000000711"]["recipient_version"] == 4
    assert by_number["1000000712"]["state"] == "failed" and by_number["1000000712"]["recipient_version"] is None
    assert [str(m["To"].addresses[0].addr_spec) for m in sink.messages()] == [FIXED]
    kept = await sandbox.scalar("SELECT version FROM billing_profiles WHERE customer_number = 'C-711'")
    assert kept == 4


async def test_a_refused_mail_moved_to_print_goes_into_the_next_print_batch(sandbox: Sandbox, tmp_path: Path) -> None:
    no_street = d.PERSON.model_copy(update={"email": REFUSED, "address": None})
    doc = d.invoice(1000000702, who=d.customer("C-702", no_street))
    folder = tmp_path / "print"
    with SmtpSink() as sink:
        sink.refuse = {REFUSED: "550 5.1.1 No such user"}
        async with dispatch_stack(sandbox, tmp_path, smtp_port=sink.port) as stack:
            await stack.worker("email")
            await stack.worker("print")
            failed = await failed_mail(stack, sink, doc)
            move = f"/documents/{failed['id']}/move"

            # the card has no postal address: print cannot take it
            lacking = await stack.api.post(move, json={"channel": "print"}, headers=as_clerk("clerk-3"))
            assert lacking.status_code == 409, lacking.text
            assert lacking.json()["detail"]["code"] == "no-postal-address"
            assert "postiosoite" in lacking.json()["detail"]["message_fi"]
            assert (await stack.api.post(move, json={"channel": "email"})).status_code == 409  # already there
            assert (await stack.api.post(move, json={"channel": "fax"})).status_code == 422

            # the clerk adds the address on the card; the document moves to print
            await publish_profile(sandbox, "C-702", 2, d.PERSON.model_copy(update={"email": REFUSED}))
            await wait_profile(sandbox, "C-702", 2)
            moved = await stack.api.post(move, json={"channel": "print"}, headers=as_clerk("clerk-3"))
            assert moved.status_code == 201, moved.text
            new = moved.json()["document"]
            assert (new["channel"], new["state"], new["moved_from"]) == ("print", "waiting", failed["id"])
            old = (await stack.api.get(f"/documents/{failed['id']}")).json()
            assert (old["state"], old["moved_to"], old["moved_by"]) == ("moved", new["id"], "clerk-3")
            assert (await stack.api.post(f"/documents/{failed['id']}/resend")).status_code == 409  # never again
            assert (await stack.api.post(move, json={"channel": "print"})).status_code == 409

            # a redelivered invoice event adds nothing: the e-mail document is still the moved one
            invoices = stack.service.consumer_stats[0]  # its first subscriber: invoicing.invoices.v1
            handled = invoices.handled
            await publish(sandbox, [doc])
            await wait_for(lambda: invoices.handled > handled, timeout=60)
            counts = await stack.counts()
            assert (counts["email"]["moved"], counts["email"]["failed"], counts["print"]["waiting"]) == (1, 0, 1)

            sent = await stack.send("print", document_ids=[new["id"]])
            assert sent["job"]["result"] == {"queued": 1, "delivered": 1, "failed": 0}
            printed = (await stack.api.get(f"/documents/{new['id']}")).json()

    batch = f"print-send-{sent['job']['id']}"
    rows = list(csv.DictReader(io.StringIO((folder / f"{batch}.csv").read_text()), delimiter=";"))
    assert [(r["document_id"], r["document_number"]) for r in rows] == [(new["id"], "1000000702")]
    (attempt,) = printed["attempts_made"]
    assert attempt["address"] == "Maija Meikäläinen, Kotikatu 2 B 5, 33100 Tampere"
    assert attempt["actor"] == "clerk-1"
    assert sink.messages() == []
