"""The ``jobs`` table every service declares (``jobs = jobs_table(metadata)``), and the
``job_parts`` table of the services with partitioned jobs (``job_parts_table(metadata)``)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID


def jobs_table(metadata: MetaData) -> Table:
    return Table(
        "jobs",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        Column("kind", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("state", Text, nullable=False),
        Column("params", JSONB, nullable=False),
        Column("actor", Text, nullable=False),
        Column("done", BigInteger, nullable=False, server_default=text("0")),
        Column("total", BigInteger, nullable=True),
        Column("failures", BigInteger, nullable=False, server_default=text("0")),
        Column("chunks", Integer, nullable=False, server_default=text("0")),
        Column("cursor", JSONB, nullable=True),
        Column("result", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("error", Text, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("started_at", DateTime(timezone=True), nullable=True),
        Column("finished_at", DateTime(timezone=True), nullable=True),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        UniqueConstraint("key", name="uq_jobs_key"),
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="ck_jobs_state"),
        Index("ix_jobs_active", "created_at", postgresql_where=text("state IN ('queued', 'running')")),
        Index("ix_jobs_kind_created", "kind", "created_at"),
    )


def job_parts_table(metadata: MetaData) -> Table:
    """The parts of a partitioned job (``JobKind(plan=...)``): one row per part,
    claimed by any runner with ``FOR UPDATE SKIP LOCKED`` (``shared/jobs/parts.py``)."""
    return Table(
        "job_parts",
        metadata,
        Column("job_id", UUID(as_uuid=True), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        Column("seq", Integer, primary_key=True),
        Column("params", JSONB, nullable=False),
        Column("state", Text, nullable=False, server_default=text("'pending'")),
        Column("done", BigInteger, nullable=False, server_default=text("0")),
        Column("failures", BigInteger, nullable=False, server_default=text("0")),
        Column("result", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("runner", Text, nullable=True),
        Column("started_at", DateTime(timezone=True), nullable=True),
        Column("finished_at", DateTime(timezone=True), nullable=True),
        CheckConstraint("state IN ('pending', 'done')", name="ck_job_parts_state"),
        Index("ix_job_parts_pending", "job_id", "seq", postgresql_where=text("state = 'pending'")),
    )
