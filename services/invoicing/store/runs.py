"""Billing runs: their parameters and summaries, and what a preview would create."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.tables import billing_runs, run_previews


class RunStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def begin(
        self, run_id: uuid.UUID, *, kind: str, mode: str, up_to: date | None, selected: int | None, actor: str
    ) -> None:
        await self.session.execute(
            insert(billing_runs)
            .values(id=run_id, kind=kind, mode=mode, up_to=up_to, selected=selected, actor=actor)
            .on_conflict_do_nothing(index_elements=["id"])
        )

    async def finish(self, run_id: uuid.UUID, summary: dict[str, Any]) -> None:
        await self.session.execute(
            update(billing_runs)
            .where(billing_runs.c.id == run_id)
            .values(summary=summary, finished_at=datetime.now(UTC))
        )

    async def get(self, run_id: uuid.UUID) -> Any | None:
        return (await self.session.execute(select(billing_runs).where(billing_runs.c.id == run_id))).first()

    async def page(self, *, kind: str | None, limit: int, offset: int) -> tuple[int, list[Any]]:
        conds = [billing_runs.c.kind == kind] if kind else []
        total = await self.session.scalar(select(func.count()).select_from(billing_runs).where(*conds))
        rows = await self.session.execute(
            select(billing_runs).where(*conds).order_by(billing_runs.c.started_at.desc()).limit(limit).offset(offset)
        )
        return int(total or 0), list(rows)

    async def add_previews(self, run_id: uuid.UUID, start: int, docs: Sequence[tuple[str, dict[str, Any]]]) -> None:
        if docs:
            await self.session.execute(
                insert(run_previews),
                [
                    {"run_id": run_id, "seq": start + i, "customer_number": c, "invoice": d}
                    for i, (c, d) in enumerate(docs)
                ],
            )

    async def preview_count(self, run_id: uuid.UUID) -> int:
        return int(await self.session.scalar(select(func.count()).where(run_previews.c.run_id == run_id)) or 0)

    async def previews(self, run_id: uuid.UUID, *, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        stmt = select(run_previews.c.invoice).where(run_previews.c.run_id == run_id).order_by(run_previews.c.seq)
        if limit is not None:
            stmt = stmt.limit(limit).offset(offset)
        return [r[0] for r in await self.session.execute(stmt)]
