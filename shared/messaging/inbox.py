"""Inbox: the idempotent-consumer record, written in the effect's transaction.

``claim`` inserts the (source, id) pairs of the events about to be handled and returns
the ones that were new. Events already in the inbox were handled before (a redelivery
after a crash, or the same event sent twice) and are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.messaging.tables import MessagingTables


class Inbox:
    def __init__(self, session: AsyncSession, tables: MessagingTables) -> None:
        self._session = session
        self._table = tables.inbox

    async def claim(self, topic: str, ids: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Record ``(source, event_id)`` pairs; return those not seen before."""
        unique = list(dict.fromkeys(ids))
        if not unique:
            return set()
        stmt = (
            insert(self._table)
            .values([{"source": s, "event_id": i, "topic": topic} for s, i in unique])
            .on_conflict_do_nothing()
            .returning(self._table.c.source, self._table.c.event_id)
        )
        result = await self._session.execute(stmt)
        return {(row.source, row.event_id) for row in result}
