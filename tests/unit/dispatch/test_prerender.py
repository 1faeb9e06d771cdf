"""The e-mail rendered once, ahead of its sending: what is stored (the flattened mail
without its Date), what is sent (the same bytes, dated when sent), and when a stored
render may not be sent as it is (its key: the recipient data, the sender settings)."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest

from services.dispatch.channels.base import Refused
from services.dispatch.channels.mail import EmailChannel
from services.dispatch.config import Settings
from services.dispatch.render.mail import with_date
from tests.support import documents as d

WHEN = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)


def channel(**overrides: object) -> EmailChannel:
    servers = {"database_url": "postgresql+asyncpg://u:p@127.0.0.1:1/x", "kafka_bootstrap_servers": "127.0.0.1:1"}
    values = {"message_id_domain": "billing.test", **servers, **overrides}
    return EmailChannel(Settings(**values))  # type: ignore[arg-type]


def parse(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_the_stored_mail_has_no_date_and_is_sent_dated_when_it_goes() -> None:
    doc = d.invoice(1000000001)
    prepared = channel().prepare("doc-1", doc)
    assert parse(prepared.content)["Date"] is None
    sent = parse(with_date(prepared.content, WHEN))
    assert parsedate_to_datetime(str(sent["Date"])) == WHEN
    assert sent["Message-ID"] == prepared.receipt
    assert sent["To"].addresses[0].addr_spec == prepared.address == doc.customer.data.email
    (pdf,) = [p for p in sent.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_content().startswith(b"%PDF-")


def test_the_stored_mail_is_the_preview_without_its_date() -> None:
    mail = channel()
    doc = d.invoice(1000000002)
    rendered = parse(mail.render("doc-2", doc).content)
    stored = parse(mail.prepare("doc-2", doc).content)
    del rendered["Date"]
    assert rendered.as_bytes() == stored.as_bytes()


def test_the_render_key_changes_with_the_recipient_data_and_the_sender_settings() -> None:
    mail = channel()
    issued = mail.render_key(None)
    assert mail.render_key(None) == issued  # the same attempt data: the stored render is sent
    current = d.PERSON.model_copy(update={"email": "uusi@example.com"}).model_dump(mode="json")
    assert mail.render_key(current) != issued  # a re-send to the customer's current data
    assert channel(mail_from="toinen@billing.test").render_key(None) != issued
    assert channel(message_id_domain="other.test").render_key(None) != issued
    assert channel(mail_reply_to="apu@billing.test").render_key(None) != issued


def test_a_document_without_an_address_is_refused_before_anything_is_stored() -> None:
    doc = d.invoice(1000000003, who=d.customer("C-3", d.PERSON.model_copy(update={"email": None})))
    with pytest.raises(Refused) as refused:
        channel().prepare("doc-3", doc)
    assert refused.value.failed.code == "no-email-address"
