"""Alembic operations for the messaging tables every service has.

Versioned by name: a migration that ran stays correct only if what it calls never
changes, so a later change to these tables is a new function (``..._v2``) used by a
new migration, and ``v1`` stays as it is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


def create_messaging_tables_v1() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("headers", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_table(
        "inbox",
        sa.Column("source", sa.Text(), primary_key=True),
        sa.Column("event_id", sa.Text(), primary_key=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("headers", postgresql.JSONB(), nullable=False),
        sa.Column("error_code", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.UniqueConstraint("topic", "partition", "offset", name="uq_dead_letters_position"),
    )


def drop_messaging_tables_v1() -> None:
    op.drop_table("dead_letters")
    op.drop_table("inbox")
    op.drop_table("outbox")


def upgrade_messaging_tables_v2(consumer_group: str) -> None:
    """Inbox keyed per consumer (``<group>:<topic>``) with an index for pruning; dead
    letters get their replay state. Existing inbox rows are kept under the consumer
    name the service's one subscription per topic has (``consumer_group``)."""
    op.add_column("inbox", sa.Column("consumer", sa.Text(), nullable=True))
    op.execute(sa.text("UPDATE inbox SET consumer = :group || ':' || topic").bindparams(group=consumer_group))
    op.alter_column("inbox", "consumer", nullable=False)
    op.drop_constraint("inbox_pkey", "inbox", type_="primary")
    op.create_primary_key("inbox_pkey", "inbox", ["consumer", "source", "event_id"])
    op.drop_column("inbox", "topic")
    op.create_index("ix_inbox_handled_at", "inbox", ["handled_at"], postgresql_using="brin")
    op.add_column("dead_letters", sa.Column("replays", sa.Integer(), server_default="0", nullable=False))
    op.add_column("dead_letters", sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("dead_letters", sa.Column("replayed_by", sa.Text(), nullable=True))


def downgrade_messaging_tables_v2() -> None:
    op.drop_column("dead_letters", "replayed_by")
    op.drop_column("dead_letters", "replayed_at")
    op.drop_column("dead_letters", "replays")
    op.drop_index("ix_inbox_handled_at", table_name="inbox")
    op.add_column("inbox", sa.Column("topic", sa.Text(), nullable=True))
    op.execute(sa.text("UPDATE inbox SET topic = split_part(consumer, ':', 2)"))
    op.alter_column("inbox", "topic", nullable=False)
    op.drop_constraint("inbox_pkey", "inbox", type_="primary")
    op.execute(
        sa.text(
            "DELETE FROM inbox a USING inbox b "
            "WHERE a.ctid < b.ctid AND a.source = b.source AND a.event_id = b.event_id"
        )
    )
    op.create_primary_key("inbox_pkey", "inbox", ["source", "event_id"])
    op.drop_column("inbox", "consumer")


def upgrade_messaging_tables_v3() -> None:
    """The outbox takes tombstones: ``value`` NULL is a record with a null value (a
    compacted topic's delete marker, the erasure of a customer's profile)."""
    op.alter_column("outbox", "value", existing_type=sa.LargeBinary(), nullable=True)


def downgrade_messaging_tables_v3() -> None:
    """Tombstones not yet published are lost (the code before v3 cannot send them)."""
    op.execute(sa.text("DELETE FROM outbox WHERE value IS NULL"))
    op.alter_column("outbox", "value", existing_type=sa.LargeBinary(), nullable=False)
