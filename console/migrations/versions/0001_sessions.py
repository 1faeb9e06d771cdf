"""console sessions and sign-in failures

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(200), nullable=True),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("console_sessions_user_name", "console_sessions", ["user_name"])
    op.create_index("console_sessions_last_seen_at", "console_sessions", ["last_seen_at"])
    op.create_index("console_sessions_created_at", "console_sessions", ["created_at"])
    op.create_table(
        "console_login_failures",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("console_login_failures_window_start", "console_login_failures", ["window_start"])


def downgrade() -> None:
    op.drop_table("console_login_failures")
    op.drop_table("console_sessions")
