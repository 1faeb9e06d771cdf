"""The three tables every service's database has, in its own schema/database:

- ``outbox``: events to publish, written in the same transaction as the state change;
- ``inbox``: ids of events already handled, per consumer, written with the effect;
- ``dead_letters``: inbound records that could not be used, with the reason, and
  whether (when, by whom) they were replayed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table
    dead_letters: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=True),
        # NULL: a tombstone (a compacted topic's delete marker, e.g. an erased
        # customer's profile); messaging tables v3
        Column("value", LargeBinary, nullable=True),
        Column("headers", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("source", Text, primary_key=True),
        Column("event_id", Text, primary_key=True),
        Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        # BRIN: rows arrive in handled_at order, so a block-range index finds the old
        # ones for pruning at a fraction of a b-tree's cost on every insert
        Index("ix_inbox_handled_at", "handled_at", postgresql_using="brin"),
    )
    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("topic", Text, nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("key", Text, nullable=True),
        Column("value", LargeBinary, nullable=True),
        Column("headers", JSONB, nullable=False),
        Column("error_code", Text, nullable=False),
        Column("reason", Text, nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("replays", Integer, nullable=False, server_default="0"),
        Column("replayed_at", DateTime(timezone=True), nullable=True),
        Column("replayed_by", Text, nullable=True),
        UniqueConstraint("topic", "partition", "offset", name="uq_dead_letters_position"),
    )
    return MessagingTables(outbox=outbox, inbox=inbox, dead_letters=dead_letters)
