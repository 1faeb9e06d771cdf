"""customer cards: what the CRM last sent per field, the last upsert applied

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


def upgrade() -> None:
    op.add_column("customers", sa.Column("crm_data", postgresql.JSONB(), nullable=True))
    op.add_column("customers", sa.Column("crm_time", sa.DateTime(timezone=True), nullable=True))
    # Cards from before: what the CRM last sent is not kept, so take the card as it is
    # (crm_data NULL = the same as data: a clerk's earlier fix then counts as the CRM's;
    # the next upsert that changes the field wins it, as every upsert did before).
    # Audit rows for events that changed nothing (a stale upsert) have no version.
    op.alter_column("customer_changes", "version", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM customer_changes WHERE version IS NULL")
    op.alter_column("customer_changes", "version", existing_type=sa.Integer(), nullable=False)
    op.drop_column("customers", "crm_time")
    op.drop_column("customers", "crm_data")
