"""The queries of renders stored ahead of sending (:mod:`services.dispatch.prerender`),
part of :class:`services.dispatch.repositories.DocumentRepository`."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.prerender import Prepared
from services.dispatch.tables import document_renders


class RenderQueries:
    _s: AsyncSession

    async def unrendered(self, channel: str, *, after: int, limit: int) -> list[Any]:
        """Waiting documents of ``channel`` after ``after`` (arrival order) without a
        render, for the caller to render (one another worker is rendering now is
        under its advisory lock: skipped)."""
        params = {"channel": channel, "after": after, "limit": limit, "ns": RENDER_LOCKS}
        return list(await self._s.execute(_UNRENDERED, params))

    async def rendered_among(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` have a render now (a statement of its own: a new snapshot)."""
        if not ids:
            return set()
        r = document_renders.c
        return set(await self._s.scalars(select(r.document_id).where(r.document_id.in_(list(ids)))))

    async def renders(self, ids: Sequence[str]) -> dict[str, Prepared]:
        r = document_renders.c
        rows = await self._s.execute(
            select(r.document_id, r.render_key, r.content, r.receipt, r.address).where(r.document_id.in_(list(ids)))
        )
        return {row.document_id: Prepared(row.render_key, row.content, row.receipt, row.address) for row in rows}

    async def save_renders(self, renders: Sequence[tuple[str, Prepared]]) -> None:
        """Store ``renders``, only of documents still on their way: render-ahead holds no
        row lock, so a send may have delivered (or failed) one since it was read."""
        if not renders:
            return
        params = {
            "ids": [i for i, _ in renders],
            "keys": [p.key for _, p in renders],
            "contents": [p.content for _, p in renders],
            "receipts": [p.receipt for _, p in renders],
            "addresses": [p.address for _, p in renders],
        }
        await self._s.execute(_SAVE_RENDERS, params)

    async def drop_renders(self, ids: Sequence[str]) -> None:
        if ids:
            await self._s.execute(_DROP_RENDERS, {"ids": list(ids)})


RENDER_LOCKS = zlib.crc32(b"dispatch-render-ahead") & 0x7FFFFFFF
"""Advisory lock namespace of documents being rendered ahead (transaction-level)."""

# No row lock on the documents: a send skips the rows other transactions lock (another
# send has them), so locking them here would leave them out of a send. A transaction-
# level advisory lock per document keeps two workers from rendering the same one.
#
# The lock is taken in the outer query, over what the inner one has already filtered and
# limited (a subquery with a LIMIT is neither flattened nor given the outer condition):
# in one WHERE with the anti-join, PostgreSQL may call it for every waiting row it scans,
# rendered or not, and a backlog of 100,000 rendered documents would ask for 100,000
# locks in one transaction (the server's shared lock table: "out of shared memory").
_UNRENDERED = text(
    """
    SELECT c.id, c.seq, c.source, c.payload, c.recipient
    FROM (
        SELECT d.id, d.seq, d.source, CAST(d.payload AS text) AS payload, d.recipient
        FROM documents d
        WHERE d.channel = :channel AND d.state = 'waiting' AND d.seq > :after
          AND NOT EXISTS (SELECT 1 FROM document_renders r WHERE r.document_id = d.id)
        ORDER BY d.seq
        LIMIT :limit * 4
    ) c
    WHERE pg_try_advisory_xact_lock(CAST(:ns AS int), hashtext(c.id))
    ORDER BY c.seq
    LIMIT :limit
    """
)

# Only documents still on their way (not delivered, failed or moved) keep a render.
_SAVE_RENDERS = text(
    """
    INSERT INTO document_renders (document_id, render_key, content, receipt, address)
    SELECT v.id, v.render_key, v.content, v.receipt, v.address
    FROM unnest(CAST(:ids AS text[]), CAST(:keys AS text[]), CAST(:contents AS bytea[]),
                CAST(:receipts AS text[]), CAST(:addresses AS text[]))
         AS v(id, render_key, content, receipt, address)
    JOIN documents d ON d.id = v.id
    WHERE d.state IN ('waiting', 'queued', 'sending', 'staged', 'retry')
    ON CONFLICT (document_id) DO UPDATE SET
        render_key = excluded.render_key, content = excluded.content, receipt = excluded.receipt,
        address = excluded.address, created_at = clock_timestamp()
    """
)

_DROP_RENDERS = text("DELETE FROM document_renders WHERE document_id = ANY(CAST(:ids AS text[]))")
