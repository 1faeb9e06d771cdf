"""Each e-mail rendered once, on real Kafka, PostgreSQL and SMTP: two workers render the
waiting documents ahead without rendering any twice, the send then only reads the
stored mails (nothing rendered on the sending path, every mail once); without the
render ahead, a retried document is rendered by its first attempt only; a render is
gone once its document is delivered or failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.dispatch.runtime import DispatchRuntime
from tests.support import documents as d
from tests.support.dispatch import dispatch_stack, publish
from tests.support.isolation import Sandbox
from tests.support.kafka import wait_for
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration


def mail(k: int, address: str | None = None) -> d.InvoiceDocument:
    data = d.PERSON.model_copy(update={"email": address or f"asiakas.{k}@example.com"})
    return d.invoice(1000000000 + k, who=d.customer(f"C-{k}", data))


def renders(workers: list[DispatchRuntime], where: str) -> int:
    total = 0.0
    for w in workers:
        labels = {"service": "dispatch", "channel": "email", "where": where}
        total += w.metrics.registry.get_sample_value("billing_dispatch_renders_total", labels) or 0.0
    return int(total)


async def test_two_workers_render_the_waiting_mails_ahead_once_and_the_send_only_reads_them(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    n = 90
    with SmtpSink() as sink:
        async with dispatch_stack(sandbox, tmp_path, smtp_port=sink.port, render_ahead_interval_s=0.2) as stack:
            workers = [await stack.worker("email", render_ahead_batch=8) for _ in range(2)]
            await publish(sandbox, [mail(k) for k in range(1, n + 1)])
            await stack.wait_arrived(n)

            async def rendered() -> bool:
                return await sandbox.scalar("SELECT count(*) FROM document_renders") == n

            await wait_for(rendered, timeout=90)
            assert await sandbox.scalar("SELECT count(*) FROM documents WHERE state = 'waiting'") == n
            assert renders(workers, "ahead") == n  # SKIP LOCKED: no document rendered by both

            sent = await stack.send("email", timeout=120)
            assert sent["job"]["result"] == {"queued": n, "delivered": n, "failed": 0}
            await sink.wait_for(n)
            assert renders(workers, "sending") == 0  # the sending path read the stored mails
            assert renders(workers, "ahead") == n

    ids = sink.message_ids()
    assert len(ids) == n and max(ids.values()) == 1  # every mail once
    mails = sink.messages()
    assert all(m["Date"] is not None for m in mails)  # dated when sent
    assert await sandbox.scalar("SELECT count(*) FROM document_renders") == 0  # delivered: render gone


async def test_without_render_ahead_a_retried_mail_is_rendered_by_its_first_attempt_only(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    deferred = "busy@example.com"
    docs = [mail(k) for k in range(1, 5)] + [mail(5, deferred)]
    with SmtpSink() as sink:
        sink.refuse = {deferred: "450 4.2.1 Mailbox busy"}
        async with dispatch_stack(
            sandbox, tmp_path, smtp_port=sink.port, retry_max_attempts=3, render_ahead_interval_s=0
        ) as stack:
            worker = await stack.worker("email")
            await publish(sandbox, docs)
            await stack.wait_arrived(len(docs))
            assert await sandbox.scalar("SELECT count(*) FROM document_renders") == 0  # nothing ahead

            sent = await stack.send("email", timeout=90)
            assert sent["job"]["result"] == {"queued": 5, "delivered": 4, "failed": 1}
            attempts = await sandbox.scalar(
                "SELECT count(*) FROM delivery_attempts a JOIN documents d ON d.id = a.document_id"
                " WHERE d.state = 'failed'"
            )
            assert attempts == 3  # the deferred mail: three attempts ...
            assert renders([worker], "sending") == len(docs)  # ... and one render, like every other mail
            assert renders([worker], "ahead") == 0

    assert sink.count() == 4
    assert await sandbox.scalar("SELECT count(*) FROM document_renders") == 0  # delivered or failed: gone
