"""The e-mail that carries a document: ``multipart/mixed`` holding a
``multipart/alternative`` (plain text and HTML, in the customer's language) and the
PDF as an attachment.

The Message-ID is derived from the document id alone, so the same document always
gets the same Message-ID: after a crash between the SMTP server's "250 OK" and the
worker recording it, a resend is recognisable (by the worker looking in what the
server kept, or by the recipient's mail system, which drops a duplicate Message-ID).

The body repeats what the payer needs to pay without opening the PDF (number, due
date, amount, IBAN, BIC, reference and the virtual bar code their online bank takes),
from the same :class:`~.sheet.Sheet` the PDF is drawn from.
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from services.dispatch.render.sheet import Doc, Sheet, build_sheet
from services.dispatch.render.texts import T, fmt_date, fmt_money

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


class NoEmailAddress(ValueError):
    """The customer's snapshot has no e-mail address: the document cannot be mailed."""


class BadAddress(ValueError):
    """An address that cannot be put in a mail header (the text says which one, not its value)."""


def message_id(document_id: str, domain: str) -> str:
    """``<hex@domain>``: a function of the document id only (32 hex digits of its SHA-256,
    so any id, whatever characters it holds, makes a valid Message-ID)."""
    if not _DOMAIN.match(domain):
        raise ValueError("message_id_domain must be a plain domain name (e.g. billing.example.fi)")
    digest = hashlib.sha256(document_id.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _facts(sheet: Sheet) -> list[tuple[str, str]]:
    """The key facts, label and value, in the order a payer reads them."""
    t = T[sheet.lang]
    skip = {t["late_interest"], t["payment_terms"]}
    facts = [(f.label, f.value) for f in sheet.fields if f.label not in skip]
    payment = sheet.payment
    if payment is None:
        facts += [(a.label, a.value) for a in sheet.summary if a.strong]
        return facts
    facts.append((t["mail.amount"], fmt_money(payment.amount)))
    if not any(label in (t["due_date"], t["new_due_date"]) for label, _ in facts):
        facts.append((t["due_date"], fmt_date(payment.due, sheet.lang)))
    facts += [
        (t["mail.payee"], payment.payee),
        (t["mail.iban"], payment.iban),
        (t["mail.bic"], payment.bic),
    ]
    if payment.barcode:
        facts.append((t["mail.barcode"], payment.barcode))
    return facts


def _opening(sheet: Sheet) -> str:
    return T[sheet.lang][f"mail.{sheet.kind}"].format(number=sheet.number, original=sheet.original_number or "-")


def _signature(sheet: Sheet) -> list[str]:
    return [line for line in (sheet.seller[0], sheet.seller_phone, sheet.seller_email) if line]


def text_body(sheet: Sheet) -> str:
    t = T[sheet.lang]
    facts = _facts(sheet)
    width = max(len(label) for label, _ in facts) + 2
    lines = [t["greeting"], "", _opening(sheet), ""]
    lines += [f"{label + ':':<{width}}{value}" for label, value in facts]
    lines += ["", t["mail.regards"], *_signature(sheet), ""]
    return "\n".join(lines)


def html_body(sheet: Sheet) -> str:
    t = T[sheet.lang]
    e = html.escape
    rows = "".join(
        f'<tr><td style="padding:2px 16px 2px 0;color:#555">{e(label)}</td>'
        f'<td style="padding:2px 0;font-weight:bold">{e(value)}</td></tr>'
        for label, value in _facts(sheet)
    )
    signature = "<br>".join(e(line) for line in _signature(sheet))
    return (
        f'<!DOCTYPE html><html lang="{sheet.lang}"><head><meta charset="utf-8">'
        f"<title>{e(sheet.name)} {e(sheet.number)}</title></head>"
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222">'
        f"<p>{e(t['greeting'])}</p><p>{e(_opening(sheet))}</p>"
        f'<table role="presentation" style="border-collapse:collapse">{rows}</table>'
        f"<p>{e(t['mail.regards'])}<br>{signature}</p></body></html>\n"
    )


def subject(sheet: Sheet) -> str:
    return f"{T[sheet.lang][f'mail.subject.{sheet.kind}'].format(number=sheet.number)} – {sheet.seller[0]}"


def _address(value: str, what: str, display_name: str = "") -> Address:
    if not value or any(c in value for c in "\r\n<>,;") or value.count("@") != 1:
        raise BadAddress(f"{what} is not a single e-mail address")
    local, domain = value.rsplit("@", 1)
    try:
        return Address(display_name=display_name, username=local, domain=domain)
    except (ValueError, IndexError) as exc:
        raise BadAddress(f"{what} is not a single e-mail address") from exc


def compose_email(
    doc: Doc,
    pdf: bytes,
    *,
    document_id: str,
    sender: str,
    reply_to: str | None,
    message_id_domain: str,
    date: datetime | None = None,
    sender_name: str | None = None,
) -> EmailMessage:
    """The message for ``doc`` with ``pdf`` attached (To: the customer's e-mail).

    ``sender`` is ``addr`` or ``Name <addr>``; the display name is ``sender_name``, else
    the one in ``sender``, else the seller's name. ``date`` defaults to now. Raises
    :class:`NoEmailAddress` when the customer has no e-mail address and
    :class:`BadAddress` for an address that cannot be a header.
    """
    sheet = build_sheet(doc)
    recipient = (doc.customer.data.email or "").strip()
    if not recipient:
        raise NoEmailAddress("the customer's billing snapshot has no e-mail address")
    msg = EmailMessage()
    from_name, from_address = parseaddr(sender)
    msg["From"] = _address(from_address, "sender", sender_name or from_name or sheet.seller[0])
    msg["To"] = _address(recipient, "the customer's e-mail", doc.customer.data.name or "")
    if reply_to:
        reply_name, reply_address = parseaddr(reply_to)
        msg["Reply-To"] = _address(reply_address, "reply_to", reply_name)
    msg["Subject"] = subject(sheet)
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = message_id(document_id, message_id_domain)
    msg["Content-Language"] = sheet.lang
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text_body(sheet), subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html_body(sheet), subtype="html", charset="utf-8", cte="quoted-printable")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=sheet.file_name)
    return msg
