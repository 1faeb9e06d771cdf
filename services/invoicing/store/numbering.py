"""The number series against the invoices topic: what the log holds (``numbering_log``)
and the counters (``invoice_series``), compared in SQL-free Python
(:func:`services.invoicing.domain.numbering.behind`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.invoicing.domain.numbering import Behind, behind, invoice_number
from services.invoicing.tables import invoice_series, invoices, numbering_log

Executor = AsyncSession | AsyncConnection


async def record_log(db: Executor, highest: Mapping[str, int]) -> None:
    """Remember the highest number of each series on the log (never lowered: a start
    that read less, e.g. a shorter tail, keeps what an earlier one saw)."""
    if not highest:
        return
    stmt = insert(numbering_log).values([{"series": s, "highest": n} for s, n in highest.items()])
    await db.execute(
        stmt.on_conflict_do_update(
            index_elements=["series"],
            set_={
                "highest": func.greatest(numbering_log.c.highest, stmt.excluded.highest),
                "read_at": func.now(),
            },
        )
    )


async def counters(db: Executor) -> dict[str, int]:
    return {r.series: int(r.last_value) for r in await db.execute(select(invoice_series))}


async def log_highest(db: Executor) -> dict[str, int]:
    return {r.series: int(r.highest) for r in await db.execute(select(numbering_log))}


async def behind_log(db: Executor) -> list[Behind]:
    """The series whose counter is below the highest number seen on the log."""
    return behind(await log_highest(db), await counters(db))


async def newest_confirmation(db: Executor) -> datetime | None:
    """When the newest invoice in this database was confirmed (None: no invoice): the
    confirmation of each series' last number (index lookups, no scan of the invoices)."""
    keys = [(series, invoice_number(series, last)) for series, last in (await counters(db)).items() if last > 0]
    if not keys:
        return None
    newest: datetime | None = await db.scalar(
        select(func.max(invoices.c.confirmed_at)).where(tuple_(invoices.c.series, invoices.c.number).in_(keys))
    )
    return newest


async def advance(db: Executor, series: str, counter: int) -> bool:
    """Move ``series``' counter up to ``counter`` (never down); True if it moved."""
    stmt = insert(invoice_series).values(series=series, last_value=counter)
    result = await db.execute(
        stmt.on_conflict_do_update(
            index_elements=["series"],
            set_={"last_value": stmt.excluded.last_value},
            where=invoice_series.c.last_value < stmt.excluded.last_value,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
