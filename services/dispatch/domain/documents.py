"""Outgoing documents (*lähtevät asiakirjat*): what an issued invoice, corrective
invoice / credit note (*hyvityslasku*) or payment reminder (*maksumuistutus*) becomes
in dispatch, and the states it goes through on its channel.

One outgoing document per source document and channel: its id is derived from the
two (a UUID 5), so the same issued invoice always gives the same id, the same e-mail
Message-ID and the same file names, however often its event is delivered.

States::

    waiting --send--> queued --worker--> sending --> delivered
       ^                 ^                  |   \\--> staged (print) --batch--> delivered
       |                 |                  |--> retry --(backoff)--> queued
       |                 |                  \\--> failed --(clerk re-sends)--> queued
       |                 \\------ channel unavailable: back to queued (the partition waits)
       failed --(clerk moves it to another channel)--> moved; a new document waits there

Pure: no I/O, no framework.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from shared.events.customers import Channel, CustomerData
from shared.events.dispatch import DocumentKind
from shared.events.invoicing import InvoiceDocument
from shared.events.reminders import ReminderDocument

Source = Literal["invoice", "reminder"]
"""Which service's document it renders: invoicing (invoices, corrective invoices,
credit notes) or reminders."""

CHANNELS: tuple[Channel, ...] = ("email", "einvoice", "print")
LANGUAGES = ("fi", "sv", "en")

_NAMESPACE = uuid.UUID("5d0c2a47-1b7e-4f55-9a43-3c1f4f7a8d21")
"""UUID 5 namespace of document ids (fixed forever: ids must not change)."""


class State(enum.StrEnum):
    WAITING = "waiting"
    """Arrived, not sent yet: the Sending tab lists these."""
    QUEUED = "queued"
    """A send put its job on the channel's topic; a worker will take it."""
    SENDING = "sending"
    """A worker recorded an attempt and is delivering it now (or died doing so)."""
    STAGED = "staged"
    """Print: rendered into the send's batch, which is not closed yet."""
    RETRY = "retry"
    """A transient failure of this document; queued again at ``next_attempt_at``."""
    DELIVERED = "delivered"
    FAILED = "failed"
    """No more automatic attempts; the reason is kept; a clerk may re-send it."""
    MOVED = "moved"
    """Failed, then moved by a clerk to another channel: a new document (``moved_to``)
    waits there; this one is never sent again."""


SENDABLE = (State.WAITING, State.FAILED)
"""States a clerk's send may take a document from (failed = a re-send)."""
CLAIMABLE = (State.QUEUED, State.SENDING)
"""States in which a worker takes a channel job on (sending: an earlier attempt of a
worker that is gone)."""


def document_id(source: Source, source_id: str, channel: Channel) -> str:
    """The outgoing document's id: the same for the same source document and channel."""
    return str(uuid.uuid5(_NAMESPACE, f"{source}:{source_id}:{channel}"))


def language_of(code: str) -> str:
    """The document's language: fi, sv or en (anything else: fi, the publisher's own)."""
    code = code.lower()[:2]
    return code if code in LANGUAGES else "fi"


@dataclass(frozen=True)
class NewDocument:
    """An outgoing document as the issuing event gives it."""

    id: str
    source: Source
    source_id: str
    channel: Channel
    kind: DocumentKind
    number: str
    """The invoice number (a reminder: the number of the invoice it reminds of)."""
    reminder_level: int | None
    customer_number: str
    document_date: date
    due_date: date
    amount: Decimal
    """What the customer pays: the invoice's gross, a reminder's total due; < 0 for a credit note."""
    language: str
    payload: str
    """The document itself (the event's JSON): the worker renders it from this alone."""


def from_invoice(doc: InvoiceDocument) -> NewDocument:
    channel = doc.customer.data.delivery_channel
    return NewDocument(
        id=document_id("invoice", doc.invoice_id, channel),
        source="invoice",
        source_id=doc.invoice_id,
        channel=channel,
        kind=doc.document_type,
        number=doc.invoice_number,
        reminder_level=None,
        customer_number=doc.customer.customer_number,
        document_date=doc.invoice_date,
        due_date=doc.due_date,
        amount=doc.totals.gross,
        language=language_of(doc.customer.data.language),
        payload=doc.model_dump_json(),
    )


def from_reminder(doc: ReminderDocument) -> NewDocument:
    channel = doc.customer.data.delivery_channel
    return NewDocument(
        id=document_id("reminder", doc.reminder_id, channel),
        source="reminder",
        source_id=doc.reminder_id,
        channel=channel,
        kind="reminder",
        number=doc.invoice_number,
        reminder_level=doc.level,
        customer_number=doc.customer.customer_number,
        document_date=doc.reminder_date,
        due_date=doc.due_date,
        amount=doc.total_due,
        language=language_of(doc.customer.data.language),
        payload=doc.model_dump_json(),
    )


Document = InvoiceDocument | ReminderDocument


def parse_payload(source: str, payload: str | bytes) -> Document:
    """The stored document back as its model (it was valid when it arrived)."""
    if source == "reminder":
        return ReminderDocument.model_validate_json(payload)
    return InvoiceDocument.model_validate_json(payload)


def stored_document(source: str, payload: str | bytes, recipient: Mapping[str, Any] | None) -> Document:
    """The document as an attempt sends it: to ``recipient`` (the customer's current
    billing data a re-send or a move to another channel set), else as issued. The
    stored document itself never changes: it is the record of what was issued."""
    doc = parse_payload(source, payload)
    if recipient is None:
        return doc
    data = CustomerData.model_validate(recipient)
    return doc.model_copy(update={"customer": doc.customer.model_copy(update={"data": data})})
