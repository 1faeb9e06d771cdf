"""The e-mail carrying a document: parsed back from its bytes as a mail client would.

Default invoice (tests/support/documents.py): 1000000001, gross 63.37, due 16.11.2026,
reference 1 00000 00016 (worked in test_render_pdf.py), customer maija@example.com.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.generator import BytesGenerator
from email.message import EmailMessage

import pytest

from services.dispatch.render import BadAddress, NoEmailAddress, compose_email, message_id, render_pdf, wire_bytes
from services.dispatch.render.sheet import Doc
from tests.support import documents as d
from tests.support import render_samples as samples
from tests.support.pdf import page_texts

SENDER = "laskutus@esimerkkimedia.example"
DOMAIN = "billing.esimerkkimedia.example"
WHEN = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def compose(doc: Doc, document_id: str = "doc-1", **overrides: object) -> EmailMessage:
    kwargs: dict[str, object] = {
        "document_id": document_id,
        "sender": SENDER,
        "reply_to": "asiakaspalvelu@esimerkkimedia.example",
        "message_id_domain": DOMAIN,
        "date": WHEN,
    }
    kwargs.update(overrides)
    return compose_email(doc, render_pdf(doc), **kwargs)  # type: ignore[arg-type]


def wire(msg: EmailMessage) -> EmailMessage:
    """The message as the SMTP server stores it, parsed again."""
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_structure_is_mixed_with_text_and_html_alternatives_and_the_pdf_attached() -> None:
    msg = wire(compose(d.invoice()))
    assert msg.get_content_type() == "multipart/mixed"
    body, attachment = msg.get_payload()  # type: ignore[misc]
    assert body.get_content_type() == "multipart/alternative"
    plain, html = body.get_payload()
    assert (plain.get_content_type(), plain.get_content_charset()) == ("text/plain", "utf-8")
    assert (html.get_content_type(), html.get_content_charset()) == ("text/html", "utf-8")
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "Lasku_1000000001.pdf"
    assert msg["To"].addresses[0].addr_spec == "maija@example.com"
    assert msg["To"].addresses[0].display_name == "Maija Meikäläinen"
    assert msg["From"].addresses[0].addr_spec == SENDER
    assert msg["From"].addresses[0].display_name == "Esimerkkimedia Oy"
    assert msg["Reply-To"].addresses[0].addr_spec == "asiakaspalvelu@esimerkkimedia.example"
    assert msg["Subject"] == "Lasku 1000000001 – Esimerkkimedia Oy"
    assert msg["Date"].datetime == WHEN


def test_the_attached_pdf_arrives_intact_and_readable() -> None:
    doc = d.invoice()
    pdf = render_pdf(doc)
    msg = wire(compose_email(doc, pdf, document_id="doc-1", sender=SENDER, reply_to=None, message_id_domain=DOMAIN))
    attachment = next(msg.iter_attachments())
    payload = attachment.get_content()
    assert payload == pdf
    lines = page_texts(payload)[0].splitlines()
    assert "1000000001" in lines
    assert "63,37 €" in lines
    assert msg["Reply-To"] is None


def test_message_id_depends_on_the_document_id_only() -> None:
    first = compose(d.invoice(), "doc-1")["Message-ID"]
    again = compose(d.invoice(), "doc-1", date=datetime(2027, 1, 1, tzinfo=UTC))["Message-ID"]
    other = compose(d.invoice(), "doc-2")["Message-ID"]
    assert first == again
    assert first != other
    # 32 hex digits of SHA-256 of the id, at the configured domain.
    assert first == f"<{hashlib.sha256(b'doc-1').hexdigest()[:32]}@{DOMAIN}>"
    assert message_id("doc-1", DOMAIN) == first
    with pytest.raises(ValueError, match="message_id_domain"):
        message_id("doc-1", "bad domain>")


@pytest.mark.parametrize(
    ("lang", "subject", "due", "attachment", "greeting"),
    [
        ("fi", "Lasku 1000000001", "Eräpäivä:", "Lasku_1000000001.pdf", "Hyvä asiakas,"),
        ("sv", "Faktura 1000000001", "Förfallodag:", "Faktura_1000000001.pdf", "Bästa kund,"),
        ("en", "Invoice 1000000001", "Due date:", "Invoice_1000000001.pdf", "Dear customer,"),
    ],
)
def test_the_mail_speaks_the_customers_language(
    lang: str, subject: str, due: str, attachment: str, greeting: str
) -> None:
    msg = wire(compose(d.invoice(who=d.customer(data=samples.person(lang)))))
    assert msg["Subject"] == f"{subject} – Esimerkkimedia Oy"
    assert msg["Content-Language"] == lang
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    text = plain.get_content()
    assert text.startswith(greeting)
    due_line = next(line for line in text.splitlines() if line.startswith(due))
    assert due_line.endswith("16 Nov 2026" if lang == "en" else "16.11.2026")
    for fact in ("63,37\u00a0€", "FI21 1234 5600 0007 85", "NDEAFIHH", "1 00000 00016"):
        assert fact in text
        assert fact in html.get_content()
    # The virtual bar code for online banking (worked in test_render_pdf.py).
    assert "421123456000007850000633700000000000010000000016261116" in text
    assert f'<html lang="{lang}">' in html.get_content()
    assert next(msg.iter_attachments()).get_filename() == attachment


def test_credit_note_mail_says_there_is_nothing_to_pay() -> None:
    msg = wire(compose(d.credit_note(d.invoice())))
    assert msg["Subject"] == "Hyvityslasku 3000000001 – Esimerkkimedia Oy"
    plain = msg.get_body(preferencelist=("plain",))
    assert plain is not None
    text = plain.get_content()
    assert "Liitteenä on hyvityslasku 3000000001 laskuun 1000000001" in text
    assert "-63,37\u00a0€" in text
    assert "FI21" not in text
    assert next(msg.iter_attachments()).get_filename() == "Hyvityslasku_3000000001.pdf"


def test_reminder_mail_names_the_invoice_and_the_amount_with_fee() -> None:
    msg = wire(compose(d.reminder(d.invoice())))
    assert msg["Subject"] == "Maksumuistutus: lasku 1000000001 – Esimerkkimedia Oy"
    plain = msg.get_body(preferencelist=("plain",))
    assert plain is not None
    text = plain.get_content()
    # 63.37 + 5.00 fee = 68.37, new due date 15.12.2026
    assert next(line for line in text.splitlines() if line.startswith("Maksettava:")).endswith("68,37\u00a0€")
    assert next(line for line in text.splitlines() if line.startswith("Uusi eräpäivä:")).endswith("15.12.2026")
    assert next(msg.iter_attachments()).get_filename() == "Maksumuistutus_1000000001_1.pdf"


def test_html_body_escapes_the_customers_text() -> None:
    seller = d.SELLER.model_copy(update={"name": "Media <b>& Co</b> Oy"})
    doc = d.invoice().model_copy(update={"seller": seller})
    html = wire(compose(doc)).get_body(preferencelist=("html",))
    assert html is not None
    assert "Media &lt;b&gt;&amp; Co&lt;/b&gt; Oy" in html.get_content()
    assert "<b>&" not in html.get_content()


def test_a_customer_without_an_email_address_is_refused_without_personal_data() -> None:
    doc = d.invoice(who=d.customer(data=d.PERSON.model_copy(update={"email": None})))
    with pytest.raises(NoEmailAddress) as refused:
        compose(doc)
    assert "Maija" not in str(refused.value)


@pytest.mark.parametrize("bad", ["maija@example.com\r\nBcc: x@evil.example", "a@b@c", "maija", "a@b, c@d"])
def test_an_address_that_cannot_be_one_header_is_refused(bad: str) -> None:
    doc = d.invoice(who=d.customer(data=d.PERSON.model_copy(update={"email": bad})))
    with pytest.raises(BadAddress) as refused:
        compose(doc)
    assert bad not in str(refused.value)


def test_sender_may_carry_its_display_name() -> None:
    msg = wire(compose(d.invoice(), sender="Laskutus <laskutus@esimerkkimedia.example>"))
    assert msg["From"].addresses[0].display_name == "Laskutus"
    assert msg["From"].addresses[0].addr_spec == SENDER


def test_wire_bytes_are_crlf_lines_of_ascii_and_parse_back_to_the_same_message() -> None:
    doc = samples.reminder_with_interest()  # a name outside Latin-1 in To, an en dash in Subject
    pdf = render_pdf(doc)
    msg = compose_email(doc, pdf, document_id="doc-9", sender=SENDER, reply_to=None, message_id_domain=DOMAIN)
    raw = wire_bytes(msg)
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998  # RFC 5322 line limit
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["To"].addresses[0].display_name == "Łukasz Wądołowski"
    assert parsed["Subject"] == "Payment reminder: invoice 1000000003 – Esimerkkimedia Oy"
    assert next(parsed.iter_attachments()).get_content() == pdf
    # The way aiosmtplib writes an EmailMessage it is handed (the SMTP policy) gives the same.
    out = io.BytesIO()
    BytesGenerator(out, policy=policy.SMTP).flatten(msg)
    again = message_from_bytes(out.getvalue(), policy=policy.default)
    assert again["Message-ID"] == parsed["Message-ID"] == message_id("doc-9", DOMAIN)
    assert next(again.iter_attachments()).get_content() == pdf


def test_an_internationalised_domain_is_sent_in_its_idna_form() -> None:
    # The well-known IDNA example: "bücher" is "xn--bcher-kva".
    doc = d.invoice(who=d.customer(data=d.PERSON.model_copy(update={"email": "maija@bücher.example"})))
    msg = wire(compose(doc))
    assert msg["To"].addresses[0].addr_spec == "maija@xn--bcher-kva.example"
