"""billing requests keep the W3C trace context they arrived with (the invoice issued
from them carries the trace of its oldest request)

Additive: nullable columns; a request stored before has none.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("billing_requests", sa.Column("traceparent", sa.Text(), nullable=True))
    op.add_column("billing_requests", sa.Column("tracestate", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("billing_requests", "tracestate")
    op.drop_column("billing_requests", "traceparent")
