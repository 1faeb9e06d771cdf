"""documents keep the W3C trace context of the event they came from (their channel
jobs and DocumentDelivered carry the same trace)

Additive: nullable columns; a document stored before has none (its jobs start a trace).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("traceparent", sa.Text(), nullable=True))
    op.add_column("documents", sa.Column("tracestate", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("documents", "tracestate")
    op.drop_column("documents", "traceparent")
