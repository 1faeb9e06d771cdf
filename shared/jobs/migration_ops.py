"""Alembic operations for the ``jobs`` table (every service's ``0003_jobs``).

Versioned by name like ``shared.db.migration_ops``: a later change to the table is a
new function (``..._v2``) used by a new migration; ``v1`` stays as it is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


def create_jobs_table_v1() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("params", postgresql.JSONB(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("done", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("failures", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("chunks", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("cursor", postgresql.JSONB(), nullable=True),
        sa.Column("result", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.UniqueConstraint("key", name="uq_jobs_key"),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="ck_jobs_state"),
    )
    op.create_index(
        "ix_jobs_active", "jobs", ["created_at"], postgresql_where=sa.text("state IN ('queued', 'running')")
    )
    op.create_index("ix_jobs_kind_created", "jobs", ["kind", "created_at"])


def drop_jobs_table_v1() -> None:
    op.drop_index("ix_jobs_kind_created", table_name="jobs")
    op.drop_index("ix_jobs_active", table_name="jobs")
    op.drop_table("jobs")


def create_job_parts_table_v1() -> None:
    """The parts of partitioned jobs (``shared.jobs.tables.job_parts_table``)."""
    op.create_table(
        "job_parts",
        sa.Column("job_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("params", postgresql.JSONB(), nullable=False),
        sa.Column("state", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("done", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("failures", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("result", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("runner", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "seq"),
        sa.CheckConstraint("state IN ('pending', 'done')", name="ck_job_parts_state"),
    )
    op.create_index(
        "ix_job_parts_pending", "job_parts", ["job_id", "seq"], postgresql_where=sa.text("state = 'pending'")
    )


def drop_job_parts_table_v1() -> None:
    op.drop_index("ix_job_parts_pending", table_name="job_parts")
    op.drop_table("job_parts")
