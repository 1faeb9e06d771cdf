"""Channel workers as real processes: killed (SIGKILL) mid-batch and restarted, two
sharing the e-mail channel, and the one window exactly-once cannot close.

The kills land at failpoints (``shared.failpoints``), so each test knows where the
process died: after a batch's claim was committed and before anything of it was sent,
or after a document's outcome was recorded. A kill *between* the SMTP server's
"250 OK" and the recording is the documented window: the document is sent again with
the same Message-ID (the last test shows exactly that, and nothing more)."""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path

import pytest

from tests.support import documents as d
from tests.support.dispatch import WorkerProcess, dispatch_stack, publish
from tests.support.isolation import Sandbox
from tests.support.kafka import wait_for
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration


def mails(n: int, start: int = 1) -> list[d.InvoiceDocument]:
    return [
        d.invoice(
            1000000000 + k,
            who=d.customer(f"C-{k}", d.PERSON.model_copy(update={"email": f"asiakas.{k}@example.com"})),
        )
        for k in range(start, start + n)
    ]


def worker_env(stack_settings: dict[str, object], sink: SmtpSink, **extra: object) -> dict[str, object]:
    keep = ("einvoice_folder", "print_folder", "retry_base_s", "message_id_domain", "mail_from", "consumer_stall_max_s")
    values = {k: stack_settings[k] for k in keep}
    values.update({"smtp_port": sink.port, "consumer_max_records": 20, "jobs_poll_interval_s": 0.2, **extra})
    return values


async def delivered_count(sandbox: Sandbox) -> int:
    return int(await sandbox.scalar("SELECT count(*) FROM documents WHERE state = 'delivered'") or 0)


@pytest.mark.parametrize(
    ("failpoint", "concurrency"),
    [
        ("dispatch.after_claim", 8),  # the first batch claimed, nothing of it sent yet
        ("dispatch.after_record.57", 1),  # 57 delivered and recorded, the batch's rest claimed
    ],
)
async def test_a_worker_killed_mid_batch_and_restarted_sends_every_mail_exactly_once(
    sandbox: Sandbox, tmp_path: Path, log_dir: Path, failpoint: str, concurrency: int
) -> None:
    n = 150
    with SmtpSink() as sink:
        async with dispatch_stack(sandbox, tmp_path) as stack:
            env = worker_env(stack.settings, sink, worker_concurrency=json.dumps({"email": concurrency}))
            worker = WorkerProcess(sandbox, "email", log_dir, **env)
            worker.start(extra_env={"BILLING_TEST_HOOKS": "on", "BILLING_FAILPOINTS": failpoint})
            try:
                await worker.wait_ready()
                await publish(sandbox, mails(n))
                await stack.wait_arrived(n)
                answer = (await stack.api.post("/sending/email/send", json={"all": True})).json()
                assert await worker.wait_exit(timeout=60) == -signal.SIGKILL
                before = await delivered_count(sandbox)
                in_flight = await sandbox.scalar("SELECT count(*) FROM documents WHERE state = 'sending'")
                assert before < n and in_flight > 0  # died mid-batch, with documents claimed
                if failpoint.startswith("dispatch.after_record"):
                    assert before == 57
                worker.start()  # the same worker again, without the failpoint
                await worker.wait_ready()
                job = await stack.job(answer["job"]["url"], timeout=120)
            finally:
                worker.stop()
        assert (job["state"], job["done"], job["failures"]) == ("done", n, 0)
        assert job["result"]["delivered"] == n

    ids = sink.message_ids()
    assert len(ids) == n  # no document missing ...
    assert max(ids.values()) == 1  # ... and none twice
    assert sink.count() == n
    resumed = await sandbox.fetch("SELECT count(*) AS n FROM delivery_attempts WHERE resumed")
    abandoned = await sandbox.fetch("SELECT count(*) AS n FROM delivery_attempts WHERE outcome = 'abandoned'")
    assert resumed[0]["n"] == abandoned[0]["n"] == in_flight  # each claimed one taken over once
    assert await sandbox.scalar("SELECT count(*) FROM delivery_attempts WHERE outcome = 'delivered'") == n


async def test_killed_between_the_servers_ok_and_the_record_the_mail_goes_again_with_the_same_message_id(
    sandbox: Sandbox, tmp_path: Path, log_dir: Path
) -> None:
    """The remaining window, stated in the README: one document, sent twice, both copies
    with one Message-ID (a mail system drops the second by it); nothing else repeats."""
    n = 30
    with SmtpSink() as sink:
        async with dispatch_stack(sandbox, tmp_path) as stack:
            env = worker_env(stack.settings, sink, worker_concurrency=json.dumps({"email": 1}))
            worker = WorkerProcess(sandbox, "email", log_dir, **env)
            worker.start(extra_env={"BILLING_TEST_HOOKS": "on", "BILLING_FAILPOINTS": "dispatch.after_send.10"})
            try:
                await worker.wait_ready()
                await publish(sandbox, mails(n))
                await stack.wait_arrived(n)
                answer = (await stack.api.post("/sending/email/send", json={"all": True})).json()
                assert await worker.wait_exit(timeout=60) == -signal.SIGKILL
                assert sink.count() == 10 and await delivered_count(sandbox) == 9  # the 10th: sent, not recorded
                worker.start()
                await worker.wait_ready()
                job = await stack.job(answer["job"]["url"], timeout=120)
            finally:
                worker.stop()
        assert (job["state"], job["done"], job["failures"]) == ("done", n, 0)

    ids = sink.message_ids()
    assert len(ids) == n
    twice = [mid for mid, count in ids.items() if count > 1]
    assert len(twice) == 1 and ids[twice[0]] == 2
    # the killed batch's other claimed documents were taken over too, but never sent before
    resumed = await sandbox.fetch("SELECT receipt FROM delivery_attempts WHERE resumed")
    assert twice[0] in {r["receipt"] for r in resumed}  # the copy sent again is the one whose outcome was lost


async def test_two_workers_share_the_channels_partitions_and_deliver_each_document_once(
    sandbox: Sandbox, tmp_path: Path, log_dir: Path
) -> None:
    n = 240
    with SmtpSink() as sink:
        async with dispatch_stack(sandbox, tmp_path) as stack:
            env = worker_env(stack.settings, sink)
            workers = [WorkerProcess(sandbox, "email", log_dir, **env).start() for _ in range(2)]
            try:
                for w in workers:
                    await w.wait_ready()
                await publish(sandbox, mails(n))
                await stack.wait_arrived(n)
                sent = await stack.send("email", timeout=120)
            finally:
                for w in workers:
                    w.stop()
        assert sent["job"]["result"] == {"queued": n, "delivered": n, "failed": 0}

    assert sink.count() == n and len(sink.message_ids()) == n
    rows = await sandbox.fetch("SELECT worker, count(*) AS n FROM delivery_attempts GROUP BY worker")
    per_worker = Counter({r["worker"].split("/")[0]: r["n"] for r in rows})
    assert len(per_worker) == 2 and all(count > 0 for count in per_worker.values()), per_worker
    assert sum(per_worker.values()) == n  # one attempt per document: no document handled by both

    async def idle() -> bool:
        return await sandbox.scalar("SELECT count(*) FROM documents WHERE state <> 'delivered'") == 0

    await wait_for(idle, timeout=5)
