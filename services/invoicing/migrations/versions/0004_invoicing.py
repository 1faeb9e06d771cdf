"""invoicing: billing requests, profiles, cancelled orders, invoices and lines, number
series, billing runs and previews, payments

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "payments",
    "run_previews",
    "billing_runs",
    "invoice_lines",
    "invoices",
    "invoice_series",
    "cancelled_orders",
    "billing_requests",
    "billing_profiles",
)


def upgrade() -> None:
    op.create_table(
        "billing_profiles",
        sa.Column("customer_number", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("errors", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("consumer", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("customer_number"),
    )
    op.create_table(
        "billing_requests",
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("customer_number", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("payment_terms_days", sa.Integer(), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("net", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("origin", sa.Text(), server_default="sender", nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('subscription', 'notice')", name="ck_billing_requests_kind"),
        sa.CheckConstraint(
            "status IN ('open', 'draft', 'invoiced', 'cancelled', 'non-chargeable')", name="ck_billing_requests_status"
        ),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_index("ix_billing_requests_customer", "billing_requests", ["customer_number"], unique=False)
    op.create_index("ix_billing_requests_invoice", "billing_requests", ["invoice_id"], unique=False)
    op.create_index(
        "ix_billing_requests_open",
        "billing_requests",
        ["kind", "customer_number"],
        unique=False,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_billing_requests_order", "billing_requests", ["order_id"], unique=False)
    op.create_table(
        "billing_runs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("up_to", sa.Date(), nullable=True),
        sa.Column("selected", sa.Integer(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("summary", postgresql.JSONB(astext_type=Text()), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "cancelled_orders",
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("customer_number", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_table(
        "invoice_series",
        sa.Column("series", sa.Text(), nullable=False),
        sa.Column("last_value", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("series"),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("document_type", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("series", sa.Text(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=True),
        sa.Column("customer_number", sa.Text(), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("payment_terms_days", sa.Integer(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("reference_rf", sa.Text(), nullable=True),
        sa.Column("customer", postgresql.JSONB(astext_type=Text()), nullable=True),
        sa.Column("net", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("vat", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("gross", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("vat_breakdown", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.Column("run_id", sa.UUID(), nullable=True),
        sa.Column("original_invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("return_mode", sa.Text(), nullable=True),
        sa.Column("paid", sa.Numeric(precision=15, scale=2), server_default="0", nullable=False),
        sa.Column("credited", sa.Numeric(precision=15, scale=2), server_default="0", nullable=False),
        sa.Column("payment_status", sa.Text(), server_default="open", nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.Text(), nullable=True),
        sa.CheckConstraint("(status = 'draft') = (number IS NULL)", name="ck_invoices_numbered_when_confirmed"),
        sa.CheckConstraint("status IN ('draft', 'confirmed')", name="ck_invoices_status"),
        sa.ForeignKeyConstraint(
            ["original_invoice_id"],
            ["invoices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference", name="uq_invoices_reference"),
        sa.UniqueConstraint("series", "number", name="uq_invoices_number"),
    )
    op.create_index("ix_invoices_customer", "invoices", ["customer_number"], unique=False)
    op.create_index(
        "ix_invoices_drafts", "invoices", ["kind"], unique=False, postgresql_where=sa.text("status = 'draft'")
    )
    op.create_index("ix_invoices_original", "invoices", ["original_invoice_id"], unique=False)
    op.create_index("ix_invoices_run", "invoices", ["run_id"], unique=False)
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.BigInteger(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("corrective", sa.Boolean(), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column("request_line", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Text(), nullable=True),
        sa.Column("product_code", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=15, scale=3), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("vat_rate", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("net", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("service_start", sa.Date(), nullable=True),
        sa.Column("service_end", sa.Date(), nullable=True),
        sa.Column("chargeable", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("reversal", sa.Boolean(), server_default="false", nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("invoice_id", "line_no", name="pk_invoice_lines"),
    )
    op.create_index(
        "uq_invoice_lines_request",
        "invoice_lines",
        ["request_id", "request_line"],
        unique=True,
        postgresql_where=sa.text("request_id IS NOT NULL AND NOT corrective"),
    )
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("payment_date", sa.Date(), nullable=False),
        sa.Column("payer_name", sa.Text(), nullable=True),
        sa.Column("invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("allocated_by", sa.Text(), nullable=True),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
        ),
        sa.PrimaryKeyConstraint("payment_id"),
    )
    op.create_index("ix_payments_invoice", "payments", ["invoice_id"], unique=False)
    op.create_index(
        "ix_payments_unmatched",
        "payments",
        ["received_at"],
        unique=False,
        postgresql_where=sa.text("status = 'unmatched'"),
    )
    op.create_table(
        "run_previews",
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("customer_number", sa.Text(), nullable=False),
        sa.Column("invoice", postgresql.JSONB(astext_type=Text()), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["billing_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "seq", name="pk_run_previews"),
    )
    op.execute(
        "INSERT INTO invoice_series (series, last_value) VALUES ('subscription', 0), ('notice', 0), ('corrective', 0)"
    )


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
