"""Inbox: the idempotent-consumer record, written in the effect's transaction.

``claim`` inserts the (source, id) pairs of the events about to be handled and returns
the ones that were new. Events already in the inbox were handled before (a redelivery
after a crash, or the same event sent twice) and are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
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
        # One statement with array parameters: compiled once, cached, whatever the batch size.
        result = await self._session.execute(
            _CLAIM,
            {"sources": [s for s, _ in unique], "ids": [i for _, i in unique], "topic": topic},
        )
        return {(row.source, row.event_id) for row in result}


_CLAIM = text(
    """
    INSERT INTO inbox (source, event_id, topic)
    SELECT s, i, :topic FROM unnest(CAST(:sources AS text[]), CAST(:ids AS text[])) AS t(s, i)
    ON CONFLICT DO NOTHING
    RETURNING source, event_id
    """
)
