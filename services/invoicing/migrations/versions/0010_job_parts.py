"""the parts of partitioned jobs (a billing run's chunks, claimed by any replica)

Additive: a new table; jobs queued before keep running as they did.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from shared.jobs.migration_ops import create_job_parts_table_v1, drop_job_parts_table_v1

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_job_parts_table_v1()


def downgrade() -> None:
    drop_job_parts_table_v1()
