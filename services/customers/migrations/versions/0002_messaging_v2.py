"""messaging tables v2: inbox keyed per consumer, dead-letter replay state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from shared.db.migration_ops import downgrade_messaging_tables_v2, upgrade_messaging_tables_v2

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    upgrade_messaging_tables_v2(consumer_group="customers")


def downgrade() -> None:
    downgrade_messaging_tables_v2()
