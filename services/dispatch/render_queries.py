"""The queries of renders stored ahead of sending (:mod:`services.dispatch.prerender`),
part of :class:`services.dispatch.repositories.DocumentRepository`."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
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
        if not renders:
            return
        stmt = pg_insert(document_renders).values(
            [
                {
                    "document_id": i,
                    "render_key": p.key,
                    "content": p.content,
                    "receipt": p.receipt,
                    "address": p.address,
                }
                for i, p in renders
            ]
        )
        await self._s.execute(
            stmt.on_conflict_do_update(
                index_elements=["document_id"],
                set_={
                    "render_key": stmt.excluded.render_key,
                    "content": stmt.excluded.content,
                    "receipt": stmt.excluded.receipt,
                    "address": stmt.excluded.address,
                    "created_at": func.clock_timestamp(),
                },
            )
        )

    async def drop_renders(self, ids: Sequence[str]) -> None:
        if ids:
            await self._s.execute(_DROP_RENDERS, {"ids": list(ids)})


RENDER_LOCKS = zlib.crc32(b"dispatch-render-ahead") & 0x7FFFFFFF
"""Advisory lock namespace of documents being rendered ahead (transaction-level)."""

# No row lock on the documents: a send skips the rows other transactions lock (another
# send has them), so locking them here would leave them out of a send. A transaction-
# level advisory lock per document keeps two workers from rendering the same one.
_UNRENDERED = text(
    """
    SELECT d.id, d.seq, d.source, CAST(d.payload AS text) AS payload, d.recipient
    FROM documents d
    WHERE d.channel = :channel AND d.state = 'waiting' AND d.seq > :after
      AND NOT EXISTS (SELECT 1 FROM document_renders r WHERE r.document_id = d.id)
      AND pg_try_advisory_xact_lock(CAST(:ns AS int), hashtext(d.id))
    ORDER BY d.seq
    LIMIT :limit
    """
)

_DROP_RENDERS = text("DELETE FROM document_renders WHERE document_id = ANY(CAST(:ids AS text[]))")
