"""The dispatch service's tables.

- ``documents``: one outgoing document per source document and channel (the unique
  constraint ``uq_documents_one_per_channel`` is "one send per document and
  channel"), with its state, the send job that queued it and its last outcome.
- ``delivery_attempts``: every attempt, recorded (``sending``) and committed *before*
  the external call, then given its outcome. A partial unique index allows one
  ``delivered`` attempt per document.
- ``print_batches``: a send's print batch (one print file + manifest), closed when
  every print document of the send is rendered or failed.
- ``preview_items``: what a preview rendered: the problems, and a few samples to
  download.
- ``billing_profiles``: the customers service's latest billing profile per customer
  (the highest version wins): the *current* billing data a re-send or a move to
  another channel goes to (a first send goes to the snapshot taken at issue).

Queries live in ``repositories.py``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.jobs.tables import jobs_table
from shared.messaging.tables import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)
jobs = jobs_table(metadata)

_STATES = "'waiting', 'queued', 'sending', 'staged', 'retry', 'delivered', 'failed', 'moved'"
_OUTCOMES = "'sending', 'delivered', 'staged', 'retry', 'failed', 'unavailable', 'abandoned', 'superseded'"

documents = Table(
    "documents",
    metadata,
    Column("id", Text, primary_key=True),
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    # arrival order: lists, send cursors and "everything up to the moment of the send"
    Column("source", Text, nullable=False),
    Column("source_id", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("number", Text, nullable=False),
    Column("reminder_level", SmallInteger, nullable=True),
    Column("customer_number", Text, nullable=False),
    Column("document_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("amount", Numeric(15, 2), nullable=False),
    Column("language", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("state", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("job_id", UUID(as_uuid=True), nullable=True),
    # the send job that queued it last (None: automatic sending or an older re-send)
    Column("batch_id", Text, nullable=True),
    Column("claimed_by", Integer, nullable=True),
    # the worker (its lease key) whose attempt is in flight
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("error_code", Text, nullable=True),
    Column("error_reason", Text, nullable=True),
    Column("error_detail", Text, nullable=True),
    # the technical part of the reason (``SMTP 550``), the same in every language
    Column("receipt", Text, nullable=True),
    Column("recipient", JSONB, nullable=True),
    # the billing data the next attempts go to (the customer's current data, taken at a
    # re-send or a move); None: the snapshot in the payload, taken at issue
    Column("recipient_version", Integer, nullable=True),
    Column("queued_by", Text, nullable=True),
    # who sent or re-sent it last (the authenticated actor of the send); None: automatic sending
    Column("traceparent", Text, nullable=True),
    Column("tracestate", Text, nullable=True),
    # the W3C trace context of the event the document came from (its SendDocument jobs
    # and DocumentDelivered carry the same trace); None: documents stored before
    Column("moved_from", Text, nullable=True),
    Column("moved_to", Text, nullable=True),
    Column("moved_by", Text, nullable=True),
    # a failed document a clerk moved to another channel: the new one's id (state moved)
    # and who moved it; the new one names the old one in ``moved_from``
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("queued_at", DateTime(timezone=True), nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("source", "source_id", "channel", name="uq_documents_one_per_channel"),
    UniqueConstraint("seq", name="uq_documents_seq"),
    CheckConstraint(f"state IN ({_STATES})", name="ck_documents_state"),
    CheckConstraint("channel IN ('email', 'einvoice', 'print')", name="ck_documents_channel"),
    CheckConstraint("source IN ('invoice', 'reminder')", name="ck_documents_source"),
    Index("ix_documents_channel_state_seq", "channel", "state", "seq"),
    Index("ix_documents_retry_due", "next_attempt_at", postgresql_where=text("state = 'retry'")),
    Index("ix_documents_job", "job_id", postgresql_where=text("job_id IS NOT NULL")),
    Index("ix_documents_batch", "batch_id", "state", postgresql_where=text("batch_id IS NOT NULL")),
    Index("ix_documents_customer", "customer_number"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("document_id", Text, ForeignKey("documents.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("channel", Text, nullable=False),
    Column("job_id", UUID(as_uuid=True), nullable=True),
    Column("worker", Text, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("outcome", Text, nullable=False),
    Column("final", Boolean, nullable=False, server_default=text("false")),
    Column("code", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("detail", Text, nullable=True),
    Column("receipt", Text, nullable=True),
    Column("resumed", Boolean, nullable=False, server_default=text("false")),
    Column("address", Text, nullable=True),
    # where this attempt went (the e-mail, e-invoice or postal address): personal data,
    # shown by the API, never logged
    Column("actor", Text, nullable=True),
    # who sent or re-sent the document (None: automatic sending)
    # this attempt took over one whose worker died before recording its outcome
    UniqueConstraint("document_id", "attempt", name="uq_delivery_attempts_attempt"),
    CheckConstraint(f"outcome IN ({_OUTCOMES})", name="ck_delivery_attempts_outcome"),
    Index(
        "uq_delivery_attempts_one_delivered",
        "document_id",
        unique=True,
        postgresql_where=text("outcome = 'delivered'"),
    ),
    Index("ix_delivery_attempts_job", "job_id", "outcome", postgresql_where=text("job_id IS NOT NULL")),
)

print_batches = Table(
    "print_batches",
    metadata,
    Column("id", Text, primary_key=True),
    Column("job_id", UUID(as_uuid=True), nullable=True),
    Column("sealed", Boolean, nullable=False, server_default=text("false")),
    # every document of the send is queued: the batch may close once none is in flight
    Column("state", Text, nullable=False, server_default=text("'open'")),
    Column("closing_by", Integer, nullable=True),
    Column("documents", Integer, nullable=True),
    Column("file_name", Text, nullable=True),
    Column("manifest_name", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("state IN ('open', 'closing', 'closed')", name="ck_print_batches_state"),
    Index("ix_print_batches_open", "created_at", postgresql_where=text("state <> 'closed'")),
)

preview_items = Table(
    "preview_items",
    metadata,
    Column("job_id", UUID(as_uuid=True), nullable=False),
    Column("document_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("code", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("detail", Text, nullable=True),
    Column("file_name", Text, nullable=True),
    Column("content_type", Text, nullable=True),
    Column("content", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("job_id", "document_id", name="pk_preview_items"),
)

billing_profiles = Table(
    "billing_profiles",
    metadata,
    Column("customer_number", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("valid", Boolean, nullable=False),
    Column("errors", JSONB, nullable=False),
    Column("snapshot", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # the customer was erased (profile tombstone): the copy is anonymised, stays so
    Column("erased_at", DateTime(timezone=True), nullable=True),
)

document_renders = Table(
    "document_renders",
    metadata,
    Column("document_id", Text, ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
    Column("render_key", Text, nullable=False),
    # what it was rendered for (the recipient data, the sender settings, the renderer's
    # code): a render whose key differs from the attempt's is not sent, it is made again
    Column("content", LargeBinary, nullable=False),
    # the e-mail as it goes over SMTP (PDF attached), without its Date header (added
    # when it is sent); personal data, like the payload it is made from
    Column("receipt", Text, nullable=False),
    # the Message-ID
    Column("address", Text, nullable=False),
    # the recipient's e-mail address (personal data, never logged)
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""A document rendered once, ahead of its sending (e-mail): a cache of a deterministic
function of the stored payload, deleted when the document is delivered or failed, so
it holds only the documents on their way (see the README's Sending section)."""
