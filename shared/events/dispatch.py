"""Events of the dispatch service.

``dispatch.jobs.<channel>.v1`` (internal, key = document id, many partitions): one
document to send on that channel; a channel's workers share its partitions.
``dispatch.deliveries.v1`` (key = document id): delivered, or delivery failed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.events.customers import Channel, Code, CustomerNumber, Message
from shared.events.envelope import Event

DocumentKind = Literal["invoice", "corrective", "credit-note", "reminder"]
_Id = Annotated[str, StringConstraints(min_length=1, max_length=80)]


class SendDocument(Event):
    """Send one stored outgoing document on its channel (the worker loads it by id)."""

    EVENT_TYPE = "fi.billing.dispatch.send-document.v1"

    document_id: _Id
    channel: Channel
    attempt: int = Field(default=1, ge=1)
    job_id: _Id | None = None


class DocumentDelivered(Event):
    EVENT_TYPE = "fi.billing.dispatch.document-delivered.v1"

    document_id: _Id
    document_kind: DocumentKind
    source_id: _Id
    """The invoice or reminder id the document renders."""
    customer_number: CustomerNumber
    channel: Channel
    delivered_at: datetime
    receipt: Annotated[str, StringConstraints(max_length=300)] | None = None
    """Where it went: the Message-ID, the file name, the print batch."""


class DeliveryFailed(Event):
    EVENT_TYPE = "fi.billing.dispatch.delivery-failed.v1"

    document_id: _Id
    document_kind: DocumentKind
    source_id: _Id
    customer_number: CustomerNumber
    channel: Channel
    failed_at: datetime
    attempt: int = Field(ge=1)
    final: bool
    """True: no more automatic attempts (a clerk may re-send)."""
    code: Code
    reason: Message
