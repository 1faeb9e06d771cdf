"""The document formats, seen from the channels: PDF, e-mail, print batch, Finvoice.

The renderers live in ``services.dispatch.render`` (PDF, e-mail, print batch) and
``services.dispatch.finvoice`` (build and check); this adapter is the one place the
channels touch them, so the channels do not depend on how they are organised inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from services.dispatch.domain.documents import Document
from services.dispatch.finvoice import FinvoiceProblem, TransmissionFrame, build_finvoice, check_finvoice
from services.dispatch.finvoice import describe as describe_problems
from services.dispatch.render import (
    BadAddress,
    NoEmailAddress,
    PrintBatch,
    addr_spec,
    compose_email,
    render_pdf,
    wire_bytes,
    write_print_batch,
)
from services.dispatch.render import PrintBatchWriter as PrintBatchWriter  # noqa: PLC0414 - re-exported

NoAddress = (NoEmailAddress, BadAddress)
"""The e-mail renderer's refusals for want of a usable address."""


def pdf(doc: Document) -> bytes:
    return render_pdf(doc)


def email(
    doc: Document,
    pdf_bytes: bytes,
    *,
    document_id: str,
    sender: str,
    sender_name: str | None,
    reply_to: str | None,
    message_id_domain: str,
    dated: bool = True,
) -> EmailMessage:
    return compose_email(
        doc,
        pdf_bytes,
        document_id=document_id,
        sender=sender,
        reply_to=reply_to,
        message_id_domain=message_id_domain,
        sender_name=sender_name,
        dated=dated,
    )


def envelope_address(value: str, what: str) -> str:
    """The address as it goes in MAIL FROM / RCPT TO: ASCII, its domain in IDNA form.
    Raises :class:`BadAddress` (one of :data:`NoAddress`) when it cannot be encoded."""
    return addr_spec(value, what)


def email_bytes(message: EmailMessage) -> bytes:
    """The message as it goes over SMTP (CRLF lines), cheaper than aiosmtplib's own
    flattening of an ``EmailMessage``."""
    return wire_bytes(message)


def print_batch(items: Sequence[tuple[str, Document, bytes]], folder: Path, batch_id: str) -> PrintBatch:
    return write_print_batch(items, folder, batch_id)


def print_batch_writer(folder: Path, batch_id: str, document_ids: Sequence[str]) -> PrintBatchWriter:
    """A print batch written one document at a time (bounded memory for any batch size)."""
    return PrintBatchWriter(folder, batch_id, document_ids)


def finvoice(
    doc: Document, *, sender_address: str, sender_intermediator: str, message_id: str, timestamp: datetime
) -> bytes:
    frame = TransmissionFrame(
        sender_address=sender_address,
        sender_intermediator=sender_intermediator,
        message_id=message_id,
        timestamp=timestamp,
    )
    return build_finvoice(doc, frame)


def finvoice_problems(xml: bytes) -> list[FinvoiceProblem]:
    """Why the file must not be sent (the XSD, and the arithmetic and rules the schema
    does not enforce); [] when it may."""
    return check_finvoice(xml)


def describe(problems: Sequence[FinvoiceProblem]) -> str:
    return describe_problems(problems)
