"""The e-mail worker's sending path, its parts on real servers:

- a group of mixed outcomes recorded in one statement on real PostgreSQL: each
  document takes its attempt's outcome only while that attempt is still its current
  one (else the attempt is ``superseded``), and the stored render goes with a
  delivered or failed document, never with one another attempt will follow;
- a worker (a real process, e-mail results grouped) killed right after the SMTP server
  took a mail: the mails sent twice are exactly those the server had taken and the
  worker had not recorded, at most the worker's concurrency, each with one Message-ID;
- mails over ONE real SMTP connection (aiosmtpd) with a refused and a deferred
  recipient between accepted ones: an accepted mail arrives whole and is Delivered
  only after the server's 250, a 5xx fails its document for good, a 4xx for now, and
  the connection goes on to the next mail; the SIZE the client declares is the size
  the server receives."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from services.dispatch.channels.mail import EmailChannel
from services.dispatch.config import Settings
from services.dispatch.domain.documents import State
from services.dispatch.domain.outcomes import Delivered, Failed
from services.dispatch.prerender import Prepared
from services.dispatch.records import Claim, Result
from services.dispatch.repositories import DocumentRepository
from tests.support import documents as d
from tests.support.dispatch import WorkerProcess, dispatch_stack, publish
from tests.support.isolation import Sandbox
from tests.support.smtp_sink import SmtpSink, free_port

pytestmark = pytest.mark.integration

_DOCUMENT = """
INSERT INTO documents (id, source, source_id, channel, kind, number, customer_number, document_date,
                       due_date, amount, language, payload, state, attempts, claimed_by)
VALUES ($1, 'invoice', 'S-' || $1, 'email', 'invoice', $1, 'C-1', DATE '2026-01-01', DATE '2026-01-15',
        10.00, 'fi', '{}'::jsonb, 'sending', $2, 7)
"""


@pytest.fixture
async def session(sandbox: Sandbox) -> AsyncIterator[AsyncSession]:
    await sandbox.migrated("dispatch")
    engine = create_async_engine(sandbox.db_url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as s:
            yield s
    finally:
        await engine.dispose()


def claim(doc_id: str, attempt: int = 1) -> Claim:
    return Claim(doc_id, "invoice", "S-" + doc_id, "email", "invoice", "C-1", attempt, None, None, "{}", False)


async def sending(sandbox: Sandbox, doc_id: str, attempts: int = 1) -> None:
    """A document claimed for its attempt ``attempts`` (``sending``, the attempt open), rendered."""
    await sandbox.fetch(_DOCUMENT, doc_id, attempts)
    for n in range(1, attempts + 1):
        await sandbox.fetch(
            "INSERT INTO delivery_attempts (document_id, attempt, channel, worker, outcome)"
            " VALUES ($1, $2, 'email', 'w', 'sending')",
            doc_id,
            n,
        )
    await sandbox.fetch(
        "INSERT INTO document_renders (document_id, render_key, content, receipt, address)"
        " VALUES ($1, 'k', '\\x00'::bytea, 'm', 'a@example.com')",
        doc_id,
    )


async def test_a_group_of_mixed_outcomes_is_recorded_in_one_statement_with_its_renders(
    sandbox: Sandbox, session: AsyncSession
) -> None:
    for doc_id in ("ok", "busy", "bad", "down"):
        await sending(sandbox, doc_id)
    await sending(sandbox, "taken", attempts=2)  # another attempt took it over: ours (1) is stale
    later = datetime.now(UTC) + timedelta(minutes=5)
    results = [
        Result(claim("ok"), State.DELIVERED, "delivered", receipt="<m1@x>"),
        Result(claim("busy"), State.RETRY, "retry", code="recipient-deferred", reason="r", next_attempt_at=later),
        Result(claim("bad"), State.FAILED, "failed", code="address-refused", reason="r", detail="SMTP 550"),
        Result(claim("down"), State.QUEUED, "unavailable", code="smtp-unreachable", reason="r"),
        Result(claim("taken", attempt=1), State.DELIVERED, "delivered", receipt="<m5@x>"),
    ]
    async with session.begin():
        won = await DocumentRepository(session).record(results, drop_renders=True)

    assert won == {"ok", "busy", "bad", "down"}
    docs = {r["id"]: r for r in await sandbox.fetch("SELECT * FROM documents")}
    assert {k: v["state"] for k, v in docs.items()} == {
        "ok": "delivered",
        "busy": "retry",
        "bad": "failed",
        "down": "queued",
        "taken": "sending",  # left to the attempt that took it over
    }
    assert docs["ok"]["receipt"] == "<m1@x>" and docs["ok"]["delivered_at"] is not None
    assert docs["busy"]["next_attempt_at"] == later and docs["busy"]["error_code"] == "recipient-deferred"
    assert docs["bad"]["error_detail"] == "SMTP 550" and docs["bad"]["delivered_at"] is None
    assert docs["taken"]["receipt"] is None and docs["taken"]["claimed_by"] == 7
    assert all(docs[k]["claimed_by"] is None for k in ("ok", "busy", "bad", "down"))

    attempts = {
        (r["document_id"], r["attempt"]): (r["outcome"], r["final"], r["finished_at"] is not None)
        for r in await sandbox.fetch("SELECT * FROM delivery_attempts")
    }
    assert attempts == {
        ("ok", 1): ("delivered", True, True),
        ("busy", 1): ("retry", False, True),
        ("bad", 1): ("failed", True, True),
        ("down", 1): ("unavailable", False, True),
        ("taken", 1): ("superseded", False, True),
        ("taken", 2): ("sending", False, False),  # the current attempt is untouched
    }
    # renders go with the documents whose way ended; kept for those another attempt follows
    kept = await sandbox.fetch("SELECT document_id FROM document_renders ORDER BY document_id")
    assert [r["document_id"] for r in kept] == ["busy", "down", "taken"]


async def test_without_drop_renders_every_render_stays(sandbox: Sandbox, session: AsyncSession) -> None:
    await sending(sandbox, "ok")
    async with session.begin():
        won = await DocumentRepository(session).record([Result(claim("ok"), State.DELIVERED, "delivered")])
    assert won == {"ok"}
    assert await sandbox.scalar("SELECT count(*) FROM document_renders") == 1


LOOSE = b"Subject: x\nMessage-ID: <loose@billing.test>\n\nline\r\n.dot\n"
"""A message whose lines are not all CRLF yet (a line starting with a dot too)."""


class _Server:
    """A real SMTP server (aiosmtpd) that refuses or defers some recipients and keeps,
    per accepted mail, the SIZE its client declared and the bytes it received."""

    def __init__(self, replies: dict[str, str]) -> None:
        self.replies = replies
        self.accepted: list[tuple[list[str], bytes]] = []
        self.transactions = 0

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        self.transactions += 1
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        reply = self.replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.accepted.append((list(envelope.mail_options), bytes(envelope.original_content)))
        return "250 Message accepted for delivery"


async def test_one_connection_carries_accepted_refused_and_deferred_mails_in_turn() -> None:
    handler = _Server({"nobody@example.com": "550 5.1.1 No such user", "busy@example.com": "451 4.2.1 Busy"})
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    values: dict[str, Any] = {
        "database_url": "postgresql+asyncpg://u:p@127.0.0.1:1/x",
        "kafka_bootstrap_servers": "127.0.0.1:1",
        "message_id_domain": "billing.test",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_connections": 1,
    }
    settings = Settings(**values)
    channel = EmailChannel(settings)
    await channel.start()
    try:
        addresses = ["a@example.com", "nobody@example.com", "busy@example.com", "b@example.com"]
        prepared = [
            channel.prepare(f"doc-{k}", d.invoice(1000000001 + k, who=d.customer(f"C-{k}", d.PERSON.model_copy(
                update={"email": address}))))
            for k, address in enumerate(addresses)
        ]  # fmt: skip
        # a message whose lines are not all CRLF yet: its SIZE is what goes over the wire
        loose = Prepared("k", LOOSE, "<loose@billing.test>", "c@x.fi")
        outcomes = [await channel.send_prepared(claim(str(uuid.uuid4())), p) for p in [*prepared, loose]]
    finally:
        await channel.stop()
        controller.stop()

    assert isinstance(outcomes[0], Delivered) and outcomes[0].receipt == prepared[0].receipt
    assert isinstance(outcomes[1], Failed) and (outcomes[1].code, outcomes[1].permanent) == ("address-refused", True)
    deferred = outcomes[2]
    assert isinstance(deferred, Failed) and (deferred.code, deferred.permanent) == ("recipient-deferred", False)
    assert isinstance(outcomes[3], Delivered) and outcomes[3].receipt == prepared[3].receipt
    assert isinstance(outcomes[4], Delivered)
    assert handler.transactions == 5  # one connection, reset after each refusal, every mail tried

    assert len(handler.accepted) == 3  # the refused and the deferred mails were never taken
    sent_ones = (prepared[0].content, prepared[3].content, LOOSE)
    for (options, received), sent in zip(handler.accepted, sent_ones, strict=True):
        date, rest = received.split(b"\r\n", 1)
        assert date.startswith(b"Date: ")
        # whole (with CRLF lines), and the declared SIZE is what the server received
        assert rest.rstrip(b"\r\n") == sent.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n").rstrip(b"\r\n")
        size = len(received.rstrip(b"\r\n")) + 2  # the last line's CRLF is the server's, before the dot
        assert options == [f"SIZE={size}"]


async def test_killed_after_the_servers_ok_only_the_unrecorded_mails_go_twice(
    sandbox: Sandbox, tmp_path: Path, log_dir: Path
) -> None:
    n, concurrency = 80, 8
    docs = [
        d.invoice(1000000000 + k, who=d.customer(f"C-{k}", d.PERSON.model_copy(update={"email": f"a.{k}@example.com"})))
        for k in range(1, n + 1)
    ]
    with SmtpSink() as sink:
        async with dispatch_stack(sandbox, tmp_path) as stack:
            keep = ("einvoice_folder", "print_folder", "retry_base_s", "message_id_domain", "mail_from")
            env: dict[str, object] = {k: stack.settings[k] for k in keep}
            env.update(
                smtp_port=sink.port,
                consumer_max_records=40,
                jobs_poll_interval_s=0.2,
                worker_concurrency=json.dumps({"email": concurrency}),
            )
            worker = WorkerProcess(sandbox, "email", log_dir, **env)
            worker.start(extra_env={"BILLING_TEST_HOOKS": "on", "BILLING_FAILPOINTS": "dispatch.after_send.30"})
            try:
                await worker.wait_ready()
                await publish(sandbox, docs)
                await stack.wait_arrived(n)
                answer = (await stack.api.post("/sending/email/send", json={"all": True})).json()
                assert await worker.wait_exit(timeout=60) == -signal.SIGKILL
                taken = set(sink.message_ids())
                recorded = {
                    r["receipt"] for r in await sandbox.fetch("SELECT receipt FROM documents WHERE state = 'delivered'")
                }
                unrecorded = taken - recorded
                assert recorded <= taken  # nothing recorded delivered that the server did not take
                assert 1 <= len(unrecorded) <= concurrency  # the 30th at least, never more than in flight
                worker.start()
                await worker.wait_ready()
                job = await stack.job(answer["job"]["url"], timeout=120)
            finally:
                worker.stop()
        assert (job["state"], job["done"], job["failures"]) == ("done", n, 0)

    ids = sink.message_ids()
    assert len(ids) == n
    assert {mid for mid, count in ids.items() if count > 1} == unrecorded
    assert max(ids.values()) == 2
