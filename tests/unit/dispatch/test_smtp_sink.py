"""The SMTP sink the demo and the tests use (``tests/support/smtp_sink.py``): a sink
restarted on the same folder keeps the mails the earlier one wrote there."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

from tests.support.smtp_sink import SmtpSink


def _send(sink: SmtpSink, subject: str) -> None:
    message = EmailMessage()
    message["From"] = "laskutus@example.com"
    message["To"] = "asiakas@example.com"
    message["Subject"] = subject
    message.set_content(subject)
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
        client.send_message(message)


def _subjects(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.glob("*.eml")):
        subject = next(line for line in path.read_text().splitlines() if line.startswith("Subject:"))
        out[path.name] = subject.removeprefix("Subject: ")
    return out


def test_a_restarted_sink_continues_after_the_mails_already_in_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    with SmtpSink(folder=folder) as first:
        _send(first, "before the restart 1")
        _send(first, "before the restart 2")
    with SmtpSink(folder=folder) as second:  # a new process on the same folder (the demo run again)
        _send(second, "after the restart")

    subjects = _subjects(folder)
    assert sorted(subjects.values()) == ["after the restart", "before the restart 1", "before the restart 2"]
    # and in arrival order, by name
    assert list(subjects.values())[-1] == "after the restart"


def test_a_file_that_is_not_a_sink_mail_does_not_stop_the_numbering(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "notes.eml").write_text("Subject: kept\n\nnot the sink's\n")
    (folder / "0000041.eml").write_text("Subject: older\n\nfrom an earlier run\n")
    with SmtpSink(folder=folder) as sink:
        _send(sink, "new")
    subjects = _subjects(folder)
    assert subjects["0000041.eml"] == "older" and subjects["notes.eml"] == "kept"
    assert subjects["0000042.eml"] == "new"
