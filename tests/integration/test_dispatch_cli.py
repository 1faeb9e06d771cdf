"""The Sending tab from the command line against the dispatch service and an e-mail
worker running as processes: what waits, a preview with its samples saved, the send
followed to its end, a refused e-mail with its reason in Finnish moved to print, the
summary."""

from __future__ import annotations

import asyncio
import email.policy
import re
from email import message_from_bytes
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billing_cli.main import app as cli
from tests.support import documents as d
from tests.support.credentials import SYSTEM
from tests.support.dispatch import WorkerProcess, dispatch_settings, publish
from tests.support.isolation import API_TOKEN, Sandbox, ServiceProcess
from tests.support.kafka import wait_for
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration


async def test_a_clerk_previews_and_sends_the_email_channel_from_the_command_line(
    sandbox: Sandbox, tmp_path: Path, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [
        d.invoice(1000000000 + k, who=d.customer(f"C-{k}", d.PERSON.model_copy(update={"email": f"a.{k}@example.com"})))
        for k in (1, 2, 3)
    ]
    refused = d.invoice(1000000004, who=d.customer("C-4", d.PERSON.model_copy(update={"email": "ei@example.com"})))
    runner = CliRunner()

    async def billing(*args: str) -> str:
        result = await asyncio.to_thread(runner.invoke, cli, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    with SmtpSink() as sink:
        sink.refuse = {"ei@example.com": "550 5.1.1 No such user"}
        settings = dispatch_settings(sandbox, tmp_path)
        await sandbox.migrated("dispatch")  # the schema copied while the database is new
        keep = {k: v for k, v in settings.items() if k not in sandbox.settings_kwargs()}
        service = ServiceProcess(sandbox, "dispatch", log_dir, **keep)
        worker = WorkerProcess(sandbox, "email", log_dir, smtp_port=sink.port, **keep)
        service.start()
        worker.start()
        try:
            await service.wait_ready()
            await worker.wait_ready()
            monkeypatch.setenv("BILLING_DISPATCH_URL", service.url)
            monkeypatch.setenv("BILLING_TOKEN", API_TOKEN)
            await publish(sandbox, [*docs, refused])
            await wait_for(lambda: sandbox.has("SELECT count(*) FROM documents", 4))

            waiting = await billing("dispatch", "waiting", "--channel", "email", "--lang", "en", "--limit", "3")
            assert waiting.splitlines()[0] == "4 documents (waiting, email)"
            # three of the four, in the order they arrived (their events came over several partitions)
            assert sum(f"100000000{k}" in waiting for k in (1, 2, 3, 4)) == 3

            samples = tmp_path / "samples"
            preview = await billing(
                "dispatch", "send", "--channel", "email", "--all", "--preview", "--out", str(samples)
            )
            assert "Esikatselu: 4 asiakirjaa" in preview
            assert "4 näytettä tallennettu" in preview
            assert sink.count() == 0
            saved = sorted(samples.iterdir())
            assert len(saved) == 4 and all(p.suffix == ".eml" for p in saved)
            mail = message_from_bytes(saved[0].read_bytes(), policy=email.policy.default)
            assert str(mail["To"]).endswith("@example.com>")

            sent = await billing("dispatch", "send", "--channel", "email", "--all", "--lang", "en")
            assert sent.startswith("4 documents are being sent by e-mail.")
            assert re.search(r"\bdone\s+4/4\b", sent), sent
            assert "delivered 3" in sent and "failed 1" in sent
            await sink.wait_for(3)

            # the refused one: its reason in Finnish; moved to print, where it waits
            failed = await billing("dispatch", "failed", "--channel", "email")
            assert "[address-refused] Postipalvelin hylkäsi" in failed and "SMTP 550" in failed
            document_id = failed.splitlines()[1].split()[0]
            moved = await billing("dispatch", "move", document_id, "--channel", "print")
            assert "siirrettiin kanavaan Tulostus" in moved
            (line,) = [ln for ln in moved.splitlines() if "1000000004" in ln]
            assert line.endswith("odottaa")
            shown = await billing("dispatch", "show", document_id, "--lang", "en")
            assert f"failed -> ei@example.com ({SYSTEM})" in shown  # who sent: the credential's name

            summary = await billing("dispatch", "summary", "--lang", "en")
            (email_line,) = [ln for ln in summary.splitlines() if ln.startswith("email")]
            assert re.search(r"waiting 0 .* delivered 3 .* failed 0  moved 1", email_line), email_line
            (print_line,) = [ln for ln in summary.splitlines() if ln.startswith("print")]
            assert re.search(r"waiting 1 ", print_line), print_line
        finally:
            worker.stop()
            service.stop()
    assert len(sink.message_ids()) == 3
