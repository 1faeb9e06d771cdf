"""the parts of partitioned jobs (a reminders create job's ranges, claimed by any replica)

Additive: a new table; jobs queued before keep running as they did.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from shared.jobs.migration_ops import create_job_parts_table_v1, drop_job_parts_table_v1

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_job_parts_table_v1()


def downgrade() -> None:
    drop_job_parts_table_v1()
