"""Inbox: the idempotent-consumer record, written in the effect's transaction.

Keyed per consumer: ``(consumer, source, event_id)``, where the consumer is the
subscription (consumer group and topic, see :func:`shared.messaging.consumer.consumer_name`).
Two subscriptions of one service that consume the same event each handle it once.

``claim`` inserts the ids of the events about to be handled and returns the ones that
were new; events already there were handled before (a redelivery after a crash, or the
same event sent twice) and are skipped. Rows older than the retention
(``inbox_retention_days``) are pruned by the daily ``retention.purge`` job
(:mod:`shared.retention.purge`, with :data:`PRUNE`): the retention must be longer
than any window in which a handled record can come back.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.messaging.tables import MessagingTables


class Inbox:
    def __init__(self, session: AsyncSession, tables: MessagingTables) -> None:
        self._session = session
        self._table = tables.inbox

    async def claim(self, consumer: str, ids: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Record ``(source, event_id)`` pairs for ``consumer``; return those not seen before."""
        unique = list(dict.fromkeys(ids))
        if not unique:
            return set()
        # One statement with array parameters: compiled once, cached, whatever the batch size.
        result = await self._session.execute(
            _CLAIM,
            {"sources": [s for s, _ in unique], "ids": [i for _, i in unique], "consumer": consumer},
        )
        return {(row.source, row.event_id) for row in result}


_CLAIM = text(
    """
    INSERT INTO inbox (consumer, source, event_id)
    SELECT :consumer, s, i FROM unnest(CAST(:sources AS text[]), CAST(:ids AS text[])) AS t(s, i)
    ON CONFLICT DO NOTHING
    RETURNING source, event_id
    """
)

PRUNE = text(
    """
    DELETE FROM inbox WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM inbox WHERE handled_at < now() - make_interval(secs => :age) LIMIT :chunk))
    """
)


async def prune(engine: AsyncEngine, *, older_than_s: float, chunk: int = 10_000) -> int:
    """Delete inbox rows handled more than ``older_than_s`` ago, a chunk per
    transaction (short locks, bounded WAL); returns how many went."""
    total = 0
    while True:
        async with engine.begin() as conn:
            deleted = (await conn.execute(PRUNE, {"age": older_than_s, "chunk": chunk})).rowcount
        total += deleted
        if deleted < chunk:
            return total
