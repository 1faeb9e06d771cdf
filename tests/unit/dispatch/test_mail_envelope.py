"""The e-mail channel's SMTP envelope against a real SMTP server (aiosmtpd, in process):

- an internationalised address goes in RCPT TO (and the sender in MAIL FROM) in its
  ASCII form, the domain IDNA-encoded, and the mail is delivered;
- an address that cannot be encoded fails that one document for good with a clear
  reason, and the next document on the same connection is delivered (the channel is
  never "unavailable" for it);
- SIZE is declared on the first mail of every connection, whatever the TLS settings
  (the greeting is done before the extension is looked at), and a "message too large"
  reply to MAIL FROM fails that one document, not the channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller

from services.dispatch.channels.mail import EmailChannel, _transfer, classify
from services.dispatch.config import Settings
from services.dispatch.domain.outcomes import ChannelUnavailable, Delivered, Failed
from services.dispatch.prerender import Prepared
from services.dispatch.records import Claim
from tests.support.smtp_sink import free_port

MESSAGE = b"Subject: x\r\nMessage-ID: <m@billing.test>\r\n\r\nline\r\n"


class _Server:
    """Keeps each transaction's MAIL FROM, its options and its recipients."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str]]] = []
        self.accepted: list[tuple[str, list[str]]] = []

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        self.mails.append((address, list(options)))
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.accepted.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@pytest.fixture
def server() -> Iterator[tuple[_Server, int]]:
    handler = _Server()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, data_size_limit=2000)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _settings(port: int, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "postgresql+asyncpg://u:p@127.0.0.1:1/x",
        "kafka_bootstrap_servers": "127.0.0.1:1",
        "message_id_domain": "billing.test",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_connections": 1,
        **extra,
    }
    return Settings(**values)


def _claim() -> Claim:
    doc_id = str(uuid.uuid4())
    return Claim(doc_id, "invoice", "S-" + doc_id, "email", "invoice", "C-1", 1, None, None, "{}", False)


async def test_transfer_sends_an_international_domain_in_its_idna_form(server: tuple[_Server, int]) -> None:
    handler, port = server
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    await client.connect()
    try:
        await _transfer(client, MESSAGE, "laskutus@yhtiö.fi", "maija@bücher.example")
    finally:
        client.close()
    assert handler.accepted == [("laskutus@xn--yhti-8qa.fi", ["maija@xn--bcher-kva.example"])]


async def test_an_address_that_cannot_be_encoded_fails_its_document_alone(server: tuple[_Server, int]) -> None:
    handler, port = server
    channel = EmailChannel(_settings(port, mail_from="Laskutus <laskutus@yhtiö.fi>"))
    await channel.start()
    try:
        outcomes = [
            await channel.send_prepared(_claim(), Prepared("k", MESSAGE, f"<{n}@billing.test>", address))
            for n, address in enumerate(["matti@yhtiö.fi", "mätti@yhtiö.fi", "a@xn--.fi\u0000", "b@example.com"])
        ]
    finally:
        await channel.stop()

    assert isinstance(outcomes[0], Delivered)
    for bad in outcomes[1:3]:
        assert isinstance(bad, Failed)
        assert (bad.code, bad.permanent) == ("address-invalid", True)
        assert "yhtiö" not in bad.reason and "mätti" not in bad.reason  # never the address itself
    assert isinstance(outcomes[3], Delivered)
    assert handler.accepted == [
        ("laskutus@xn--yhti-8qa.fi", ["matti@xn--yhti-8qa.fi"]),
        ("laskutus@xn--yhti-8qa.fi", ["b@example.com"]),
    ]


def test_a_value_error_from_the_envelope_is_the_documents_address_not_the_channel() -> None:
    verdict = classify(UnicodeEncodeError("ascii", "mätti", 1, 2, "ordinal not in range(128)"))
    assert isinstance(verdict, Failed) and (verdict.code, verdict.permanent) == ("address-invalid", True)
    assert isinstance(classify(RuntimeError("x")), ChannelUnavailable)


@pytest.mark.parametrize("start_tls", [False, None])
async def test_size_is_declared_on_the_first_mail_of_every_connection(
    server: tuple[_Server, int], start_tls: bool | None
) -> None:
    handler, port = server
    channel = EmailChannel(_settings(port, smtp_start_tls=start_tls))
    await channel.start()
    try:
        first = await channel.send_prepared(_claim(), Prepared("k", MESSAGE, "<1@billing.test>", "a@example.com"))
        second = await channel.send_prepared(_claim(), Prepared("k", MESSAGE, "<2@billing.test>", "b@example.com"))
    finally:
        await channel.stop()
    assert isinstance(first, Delivered) and isinstance(second, Delivered)
    assert len(handler.mails) == 2
    for _, options in handler.mails:
        assert len(options) == 1 and options[0].startswith("SIZE=")


@pytest.mark.parametrize("start_tls", [False, None])
async def test_a_message_too_large_fails_its_document_not_the_channel(
    server: tuple[_Server, int], start_tls: bool | None
) -> None:
    handler, port = server
    big = MESSAGE + b"x" * 3000 + b"\r\n"  # over the server's 2000-byte limit: 552 to MAIL FROM
    channel = EmailChannel(_settings(port, smtp_start_tls=start_tls))
    await channel.start()
    try:
        outcomes = [
            await channel.send_prepared(_claim(), Prepared("k", content, f"<{n}@billing.test>", f"c{n}@example.com"))
            for n, content in enumerate([big, MESSAGE, big, MESSAGE])
        ]
    finally:
        await channel.stop()
    for too_large in (outcomes[0], outcomes[2]):
        assert isinstance(too_large, Failed)
        assert (too_large.code, too_large.permanent, too_large.detail) == ("message-too-large", True, "SMTP 552")
    assert isinstance(outcomes[1], Delivered) and isinstance(outcomes[3], Delivered)
    assert [rcpts for _, rcpts in handler.accepted] == [["c1@example.com"], ["c3@example.com"]]
