"""personal data: the outbox takes tombstones (messaging tables v3), an erased card is
marked (its upserts are ignored from then on)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db.migration_ops import downgrade_messaging_tables_v3, upgrade_messaging_tables_v3

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    upgrade_messaging_tables_v3()
    op.add_column("customers", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("customers", "erased_at")
    downgrade_messaging_tables_v3()
