"""jobs: long work with progress, one instance per job key

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from shared.jobs.migration_ops import create_jobs_table_v1, drop_jobs_table_v1

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_jobs_table_v1()


def downgrade() -> None:
    drop_jobs_table_v1()
