"""customer cards, audit trail, outbox, inbox, dead letters

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.db.migration_ops import create_messaging_tables_v1, drop_messaging_tables_v1

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables_v1()
    op.create_table(
        "customers",
        sa.Column("customer_number", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("errors", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("ix_customers_invalid", "customers", ["customer_number"], postgresql_where=sa.text("NOT valid"))
    op.create_index("ix_customers_name_lower", "customers", [sa.literal_column("lower(name)")])
    op.create_table(
        "customer_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("customer_number", sa.Text(), sa.ForeignKey("customers.customer_number"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("changes", postgresql.JSONB(), nullable=False),
        sa.UniqueConstraint("customer_number", "version", name="uq_customer_changes_version"),
    )


def downgrade() -> None:
    op.drop_table("customer_changes")
    op.drop_index("ix_customers_name_lower", table_name="customers")
    op.drop_index("ix_customers_invalid", table_name="customers")
    op.drop_table("customers")
    drop_messaging_tables_v1()
