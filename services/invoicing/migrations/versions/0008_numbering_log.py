"""invoicing: the highest invoice number of each series on the invoices topic

``numbering_log`` is written at every start from the tail of ``invoicing.invoices.v1``;
a series whose counter (``invoice_series``) is below it refuses to issue numbers until
``billing invoicing reconcile`` (a database restored from a backup).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "numbering_log",
        sa.Column("series", sa.Text(), primary_key=True),
        sa.Column("highest", sa.BigInteger(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("numbering_log")
