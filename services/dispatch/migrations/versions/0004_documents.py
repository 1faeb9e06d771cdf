"""outgoing documents, delivery attempts, print batches, preview items

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATES = "'waiting', 'queued', 'sending', 'staged', 'retry', 'delivered', 'failed'"
_OUTCOMES = "'sending', 'delivered', 'staged', 'retry', 'failed', 'unavailable', 'abandoned', 'superseded'"


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("reminder_level", sa.SmallInteger(), nullable=True),
        sa.Column("customer_number", sa.Text(), nullable=False),
        sa.Column("document_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(15, 2), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("job_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("batch_id", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_code", sa.Text(), nullable=True),
        sa.Column("error_reason", sa.Text(), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("source", "source_id", "channel", name="uq_documents_one_per_channel"),
        sa.UniqueConstraint("seq", name="uq_documents_seq"),
        sa.CheckConstraint(f"state IN ({_STATES})", name="ck_documents_state"),
        sa.CheckConstraint("channel IN ('email', 'einvoice', 'print')", name="ck_documents_channel"),
        sa.CheckConstraint("source IN ('invoice', 'reminder')", name="ck_documents_source"),
    )
    op.create_index("ix_documents_channel_state_seq", "documents", ["channel", "state", "seq"])
    op.create_index(
        "ix_documents_retry_due", "documents", ["next_attempt_at"], postgresql_where=sa.text("state = 'retry'")
    )
    op.create_index("ix_documents_job", "documents", ["job_id"], postgresql_where=sa.text("job_id IS NOT NULL"))
    op.create_index(
        "ix_documents_batch", "documents", ["batch_id", "state"], postgresql_where=sa.text("batch_id IS NOT NULL")
    )
    op.create_index("ix_documents_customer", "documents", ["customer_number"])

    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("document_id", sa.Text(), sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("job_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("worker", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("resumed", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.UniqueConstraint("document_id", "attempt", name="uq_delivery_attempts_attempt"),
        sa.CheckConstraint(f"outcome IN ({_OUTCOMES})", name="ck_delivery_attempts_outcome"),
    )
    op.create_index(
        "uq_delivery_attempts_one_delivered",
        "delivery_attempts",
        ["document_id"],
        unique=True,
        postgresql_where=sa.text("outcome = 'delivered'"),
    )
    op.create_index(
        "ix_delivery_attempts_job",
        "delivery_attempts",
        ["job_id", "outcome"],
        postgresql_where=sa.text("job_id IS NOT NULL"),
    )

    op.create_table(
        "print_batches",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("job_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("sealed", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("state", sa.Text(), nullable=False, server_default=sa.text("'open'")),
        sa.Column("closing_by", sa.Integer(), nullable=True),
        sa.Column("documents", sa.Integer(), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("manifest_name", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('open', 'closing', 'closed')", name="ck_print_batches_state"),
    )
    op.create_index(
        "ix_print_batches_open", "print_batches", ["created_at"], postgresql_where=sa.text("state <> 'closed'")
    )

    op.create_table(
        "preview_items",
        sa.Column("job_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("document_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("job_id", "document_id", name="pk_preview_items"),
    )


def downgrade() -> None:
    op.drop_table("preview_items")
    op.drop_table("print_batches")
    op.drop_table("delivery_attempts")
    op.drop_table("documents")
