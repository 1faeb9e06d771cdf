"""Dead letters: inbound records that are not valid events.

A bad record is stored once (unique by topic, partition, offset) with its reason, and
forwarded once to ``<topic>.dlq`` through the outbox, in the same transaction as the
rest of its batch; then the consumer moves on. The reason names the fault (missing
header, field path and error kind) and never echoes the payload's values.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.envelope import InvalidEvent, header_map
from shared.events.topics import dead_letter_name
from shared.messaging.outbox import OutboxWriter
from shared.messaging.tables import MessagingTables


class DeadLetters:
    def __init__(self, session: AsyncSession, tables: MessagingTables, outbox: OutboxWriter) -> None:
        self._session = session
        self._table = tables.dead_letters
        self._outbox = outbox

    async def add(self, record: Any, error: InvalidEvent) -> bool:
        """Store and forward ``record``; False if this position was dead-lettered before."""
        headers = [[k, v] for k, v in header_map(record.headers).items()]
        key = record.key.decode(errors="replace") if record.key is not None else None
        inserted = await self._session.scalar(
            insert(self._table)
            .values(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=key,
                value=record.value,
                headers=headers,
                error_code=error.code,
                reason=error.reason,
            )
            .on_conflict_do_nothing(constraint="uq_dead_letters_position")
            .returning(self._table.c.id)
        )
        if inserted is None:
            return False
        dlq_headers = [h for h in headers if not h[0].startswith("dlq_")] + [
            ["dlq_error_code", error.code],
            ["dlq_reason", error.reason],
            ["dlq_topic", record.topic],
            ["dlq_partition", str(record.partition)],
            ["dlq_offset", str(record.offset)],
        ]
        self._outbox.add_raw(dead_letter_name(record.topic), key=key, value=record.value or b"", headers=dlq_headers)
        return True

    async def list(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        rows = await self._session.execute(
            select(
                self._table.c.id,
                self._table.c.topic,
                self._table.c.partition,
                self._table.c.offset,
                self._table.c.error_code,
                self._table.c.reason,
                self._table.c.received_at,
            )
            .order_by(self._table.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [dict(r._mapping) for r in rows]
