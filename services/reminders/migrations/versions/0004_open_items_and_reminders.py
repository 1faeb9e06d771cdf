"""open items (projection of issued invoices), movements, customer flags, reminders
(one per invoice and level), collection hand-overs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(15, 2)


def _now() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "open_items",
        sa.Column("invoice_id", sa.Text(), primary_key=True),
        sa.Column("invoice_number", sa.Text(), nullable=False),
        sa.Column("customer_number", sa.Text(), nullable=False),
        sa.Column("consumer", sa.Boolean(), nullable=False),
        sa.Column("document_type", sa.Text(), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("gross", MONEY, nullable=False),
        sa.Column("credited", MONEY, nullable=False, server_default=sa.text("0")),
        sa.Column("paid_total", MONEY, nullable=False, server_default=sa.text("0")),
        sa.Column("open_amount", MONEY, nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("reference_rf", sa.Text(), nullable=False),
        sa.Column("seller", postgresql.JSONB(), nullable=False),
        sa.Column("customer", postgresql.JSONB(), nullable=False),
        sa.Column("disputed", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("dispute_reason", sa.Text(), nullable=True),
        sa.Column("disputed_by", sa.Text(), nullable=True),
        sa.Column("disputed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_level", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_reminder_on", sa.Date(), nullable=True),
        sa.Column("handed_over_on", sa.Date(), nullable=True),
        _now(),
    )
    op.create_index(
        "ix_open_items_step",
        "open_items",
        ["last_level", "invoice_id"],
        postgresql_where=sa.text("handed_over_on IS NULL"),
    )
    op.create_index("ix_open_items_customer", "open_items", ["customer_number"])
    op.create_table(
        "open_item_movements",
        sa.Column("invoice_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("invoice_id", "kind", "ref", name="pk_open_item_movements"),
    )
    op.create_table(
        "customer_flags",
        sa.Column("customer_number", sa.Text(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("consumer", sa.Boolean(), nullable=False),
        sa.Column("no_reminders", sa.Boolean(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(), nullable=False),
        _now(),
    )
    op.create_table(
        "reminders",
        sa.Column("reminder_id", sa.Text(), primary_key=True),
        sa.Column("invoice_id", sa.Text(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("customer_number", sa.Text(), nullable=False),
        sa.Column("reminder_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("open_amount", MONEY, nullable=False),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("compensation", MONEY, nullable=False),
        sa.Column("interest", MONEY, nullable=False),
        sa.Column("total_due", MONEY, nullable=False),
        sa.Column("document", postgresql.JSON(), nullable=False),
        sa.Column("job_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        # one reminder #N per invoice, whatever the retries or replicas (ARCHITECTURE section 4)
        sa.UniqueConstraint("invoice_id", "level", name="uq_reminders_invoice_level"),
    )
    op.create_table(
        "collection_handovers",
        sa.Column("invoice_id", sa.Text(), primary_key=True),
        sa.Column("customer_number", sa.Text(), nullable=False),
        sa.Column("handed_over_on", sa.Date(), nullable=False),
        sa.Column("agency", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("claim", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("collection_handovers")
    op.drop_table("reminders")
    op.drop_table("customer_flags")
    op.drop_table("open_item_movements")
    op.drop_index("ix_open_items_customer", table_name="open_items")
    op.drop_index("ix_open_items_step", table_name="open_items")
    op.drop_table("open_items")
