"""The ``jobs`` table every service declares (``jobs = jobs_table(metadata)``)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
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
