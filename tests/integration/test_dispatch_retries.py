"""Failures on real Kafka, PostgreSQL and SMTP: the SMTP server away (the e-mail
partitions wait and retry, other channels flow, every mail goes once it is back), one
recipient deferred (retried from the retry table without holding up the others, then
failed with the reason, re-sent by a clerk after the fix), one refused (failed at once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import documents as d
from tests.support.dispatch import dispatch_stack, publish
from tests.support.isolation import Sandbox
from tests.support.kafka import wait_for
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration


def mail(k: int, address: str | None = None) -> d.InvoiceDocument:
    data = d.PERSON.model_copy(update={"email": address or f"asiakas.{k}@example.com"})
    return d.invoice(1000000000 + k, who=d.customer(f"C-{k}", data))


async def states(sandbox: Sandbox, channel: str) -> dict[str, int]:
    rows = await sandbox.fetch("SELECT state, count(*) AS n FROM documents WHERE channel = $1 GROUP BY state", channel)
    return {r["state"]: r["n"] for r in rows}


async def test_smtp_down_the_mail_waits_other_channels_flow_and_every_mail_goes_once_it_is_back(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    emails = [mail(k) for k in range(1, 21)]
    einvoices = [d.invoice(1000000100 + k, who=d.customer(f"Y-{k}", d.COMPANY)) for k in range(1, 6)]
    sink = SmtpSink()  # not started: the mail server is away
    async with dispatch_stack(sandbox, tmp_path, smtp_port=sink.port, smtp_timeout_s=2.0) as stack:
        mailer = await stack.worker("email")
        await stack.worker("einvoice")
        await publish(sandbox, [*emails, *einvoices])
        await stack.wait_arrived(25)
        email_send = (await stack.api.post("/sending/email/send", json={"all": True})).json()
        einvoice_send = (await stack.api.post("/sending/einvoice/send", json={"all": True})).json()

        # the e-invoice channel flows while the mail server is away
        einvoice_job = await stack.job(einvoice_send["job"]["url"], timeout=60)
        assert einvoice_job["result"] == {"queued": 5, "delivered": 5, "failed": 0}

        # the e-mail partitions stop (loud: readiness down) and retry; nothing fails, nothing is lost
        await wait_for(lambda: mailer.consumer_stats[0].stalled, timeout=60)
        assert not await mailer.consumers_ready()
        unavailable = await sandbox.scalar("SELECT count(*) FROM delivery_attempts WHERE outcome = 'unavailable'")
        assert unavailable > 0
        assert (await states(sandbox, "email")).get("failed", 0) == 0
        assert (await states(sandbox, "email")).get("delivered", 0) == 0
        job = (await stack.api.get(email_send["job"]["url"])).json()
        assert (job["state"], job["done"]) == ("running", 0)

        sink.up()  # the mail server is back
        try:
            job = await stack.job(email_send["job"]["url"], timeout=90)
            assert job["result"] == {"queued": 20, "delivered": 20, "failed": 0}
            await wait_for(mailer.consumers_ready, timeout=30)  # the partitions flow again
        finally:
            sink.stop()

    ids = sink.message_ids()
    assert len(ids) == 20 and max(ids.values()) == 1  # every mail once
    retried = await sandbox.scalar(
        "SELECT count(DISTINCT document_id) FROM delivery_attempts WHERE outcome = 'unavailable'"
    )
    assert retried > 0  # some were tried while the server was away, and went later


async def test_a_deferred_recipient_is_retried_without_holding_up_the_rest_then_fails_and_is_resent(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    deferred, refused = "busy@example.com", "nobody@example.com"
    docs = [mail(k) for k in range(1, 11)] + [mail(11, deferred), mail(12, refused)]
    with SmtpSink() as sink:
        sink.refuse = {deferred: "450 4.2.1 Mailbox busy", refused: "550 5.1.1 No such user"}
        async with dispatch_stack(sandbox, tmp_path, smtp_port=sink.port, retry_max_attempts=3) as stack:
            await stack.worker("email")
            await publish(sandbox, docs)
            await stack.wait_arrived(12)
            sent = await stack.send("email", timeout=90)
            job = sent["job"]
            # 10 delivered; refused: failed at once; deferred: 3 attempts, 0.5 s and 1 s apart, then failed
            assert job["result"] == {"queued": 12, "delivered": 10, "failed": 2}
            failed = (await stack.api.get("/sending/email/documents", params={"state": "failed"})).json()["items"]
            by_code = {f["error_code"]: f for f in failed}
            assert set(by_code) == {"recipient-deferred", "address-refused"}
            assert by_code["recipient-deferred"]["attempts"] == 3
            assert by_code["address-refused"]["attempts"] == 1
            assert "busy@" not in by_code["recipient-deferred"]["error_reason"]  # no address in reasons
            detail = (await stack.api.get(f"/documents/{by_code['recipient-deferred']['id']}")).json()
            assert [a["outcome"] for a in detail["attempts_made"]] == ["retry", "retry", "failed"]
            first, last = detail["attempts_made"][0], detail["attempts_made"][-1]
            assert first["finished_at"] < last["started_at"]

            # the ten others did not wait for the retries
            delivered_at = await sandbox.scalar("SELECT max(delivered_at) FROM documents WHERE state = 'delivered'")
            gave_up = await sandbox.scalar(
                "SELECT max(finished_at) FROM delivery_attempts WHERE outcome = 'failed' AND final AND code = $1",
                "recipient-deferred",
            )
            assert delivered_at < gave_up

            # the clerk sees the reason, the mailbox frees up, the clerk re-sends it
            sink.refuse.pop(deferred)
            response = await stack.api.post(f"/documents/{by_code['recipient-deferred']['id']}/resend")
            assert response.status_code == 202
            resent = await stack.job(response.json()["job"]["url"])
            assert resent["result"] == {"queued": 1, "delivered": 1, "failed": 0}
            again = await stack.api.post(f"/documents/{by_code['recipient-deferred']['id']}/resend")
            assert again.status_code == 409  # delivered now: one send per document and channel

    recipients = [str(m["To"].addresses[0].addr_spec) for m in sink.messages()]
    assert sorted(recipients) == sorted([f"asiakas.{k}@example.com" for k in range(1, 11)] + [deferred])
