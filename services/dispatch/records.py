"""What the dispatch queries return: a document as lists show it, what rendering one
needs, a worker's claim on one and the result it records."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.dispatch.domain.documents import State
from services.dispatch.tables import documents
from shared.tracing import TraceContext

LIST_COLUMNS = [
    c for c in documents.c if c.name not in ("payload", "claimed_by", "recipient", "traceparent", "tracestate")
]


@dataclass(frozen=True)
class DocumentRow:
    """A document as lists and detail views show it (without its payload)."""

    id: str
    seq: int
    source: str
    source_id: str
    channel: str
    kind: str
    number: str
    reminder_level: int | None
    customer_number: str
    document_date: date
    due_date: date
    amount: Decimal
    language: str
    state: str
    attempts: int
    job_id: uuid.UUID | None
    batch_id: str | None
    next_attempt_at: datetime | None
    error_code: str | None
    error_reason: str | None
    error_detail: str | None
    receipt: str | None
    recipient_version: int | None
    queued_by: str | None
    moved_from: str | None
    moved_to: str | None
    moved_by: str | None
    created_at: datetime
    queued_at: datetime | None
    delivered_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, row: Any) -> DocumentRow:
        return cls(**{c.name: getattr(row, c.name) for c in LIST_COLUMNS})


@dataclass(frozen=True)
class Rendering:
    """What rendering a document needs: its identity and the document itself."""

    id: str
    seq: int
    source: str
    source_id: str
    channel: str
    kind: str
    customer_number: str
    payload: str
    recipient: dict[str, Any] | None = None
    """The customer's current billing data a re-send or a move set (None: as issued)."""
    recipient_version: int | None = None


@dataclass(frozen=True)
class Claim:
    """A document a worker took for one attempt (committed before the external call)."""

    id: str
    source: str
    source_id: str
    channel: str
    kind: str
    customer_number: str
    attempt: int
    job_id: uuid.UUID | None
    batch_id: str | None
    payload: str
    resumed: bool
    """An earlier attempt's worker died before recording its outcome: this one may be
    a second delivery of the same document (same Message-ID / file name)."""
    recipient: dict[str, Any] | None = None
    """The billing data this attempt goes to when a re-send or a move set it (None: the
    snapshot in the payload, taken at issue)."""
    actor: str | None = None
    """Who sent or re-sent the document (None: automatic sending)."""
    trace: TraceContext | None = None
    """The trace of the channel job (its ``ce_traceparent``): DocumentDelivered carries it on."""


@dataclass(frozen=True)
class Queued:
    """A document a send queued, and what choosing its billing data needs."""

    id: str
    seq: int
    attempts: int
    resend: bool
    """It had failed: a re-send, which goes to the customer's current billing data."""
    customer_number: str
    issued_version: int
    """The profile version of the snapshot taken at issue."""
    recipient_version: int | None
    """The profile version of the data an earlier re-send or move set (None: none)."""
    trace: TraceContext | None = None
    """The trace of the event the document came from (its channel job carries it on)."""


@dataclass
class ClaimResult:
    claimed: list[Claim]
    skipped: dict[str, int]
    """Why jobs were not taken: ``delivered`` (a duplicate job), ``busy`` (another live
    worker has it), ``stale`` (the document is not queued)."""
    unknown: list[str]


@dataclass(frozen=True)
class Result:
    """An attempt's outcome to record."""

    claim: Claim
    state: State
    """delivered, staged, retry, failed or queued (the channel was unavailable)."""
    outcome: str
    receipt: str | None = None
    code: str | None = None
    reason: str | None = None
    next_attempt_at: datetime | None = None
    batch_id: str | None = None
    detail: str | None = None

    @property
    def final(self) -> bool:
        return self.state in (State.DELIVERED, State.FAILED)
