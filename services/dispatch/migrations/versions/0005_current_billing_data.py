"""billing profiles (current billing data), re-sends to it, moves between channels,
failure details

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATES = "'waiting', 'queued', 'sending', 'staged', 'retry', 'delivered', 'failed'"
_STATES = f"{_OLD_STATES}, 'moved'"


def upgrade() -> None:
    op.create_table(
        "billing_profiles",
        sa.Column("customer_number", sa.Text(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("errors", postgresql.JSONB(), nullable=False),
        sa.Column("snapshot", postgresql.JSONB(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.add_column("documents", sa.Column("recipient", postgresql.JSONB(), nullable=True))
    op.add_column("documents", sa.Column("recipient_version", sa.Integer(), nullable=True))
    op.add_column("documents", sa.Column("queued_by", sa.Text(), nullable=True))
    op.add_column("documents", sa.Column("moved_from", sa.Text(), nullable=True))
    op.add_column("documents", sa.Column("moved_to", sa.Text(), nullable=True))
    op.add_column("documents", sa.Column("moved_by", sa.Text(), nullable=True))
    op.add_column("documents", sa.Column("error_detail", sa.Text(), nullable=True))
    op.drop_constraint("ck_documents_state", "documents", type_="check")
    op.create_check_constraint("ck_documents_state", "documents", f"state IN ({_STATES})")
    op.add_column("delivery_attempts", sa.Column("address", sa.Text(), nullable=True))
    op.add_column("delivery_attempts", sa.Column("actor", sa.Text(), nullable=True))
    op.add_column("delivery_attempts", sa.Column("detail", sa.Text(), nullable=True))
    op.add_column("preview_items", sa.Column("detail", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("preview_items", "detail")
    for column in ("detail", "actor", "address"):
        op.drop_column("delivery_attempts", column)
    op.execute("DELETE FROM documents WHERE moved_from IS NOT NULL")
    op.execute("UPDATE documents SET state = 'failed' WHERE state = 'moved'")
    op.drop_constraint("ck_documents_state", "documents", type_="check")
    op.create_check_constraint("ck_documents_state", "documents", f"state IN ({_OLD_STATES})")
    for column in ("error_detail", "moved_by", "moved_to", "moved_from", "queued_by", "recipient_version", "recipient"):
        op.drop_column("documents", column)
    op.drop_table("billing_profiles")
