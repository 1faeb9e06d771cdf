"""Billing requests: the billing run's selection, on top of their intake
(:mod:`services.invoicing.store.request_intake`, whose names are re-exported here; the
clerk's list is :mod:`services.invoicing.store.request_list`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, text, update
from sqlalchemy.sql import ColumnElement

from services.invoicing.domain.billing import Period, Request, RequestLine
from services.invoicing.store.request_intake import Cancellation, Intake, NewRequest, RequestIntake
from services.invoicing.store.sql import in_texts
from services.invoicing.tables import (
    billing_profiles,
    billing_requests,
    billing_runs,
    cancelled_orders,
    invoices,
)
from shared import tracing
from shared.tracing import TraceContext

__all__ = ["Cancellation", "Intake", "NewRequest", "RequestIntake", "RequestStore", "to_request"]


def _from() -> Any:
    return billing_requests.outerjoin(
        billing_profiles, billing_profiles.c.customer_number == billing_requests.c.customer_number
    )


def to_request(row: Any) -> Request:
    lines = tuple(
        RequestLine(
            product_code=line["product_code"],
            description=line["description"],
            quantity=Decimal(line["quantity"]),
            unit=line["unit"],
            unit_price=Decimal(line["unit_price"]),
            vat_rate=Decimal(line["vat_rate"]),
            service_period=(
                Period(
                    date.fromisoformat(line["service_period"]["start"]),
                    date.fromisoformat(line["service_period"]["end"]),
                )
                if line.get("service_period")
                else None
            ),
        )
        for line in row.lines
    )
    return Request(
        request_id=row.request_id,
        kind=row.kind,
        customer_number=row.customer_number,
        order_id=row.order_id,
        invoice_date=row.invoice_date,
        payment_terms_days=row.payment_terms_days,
        lines=lines,
    )


class RequestStore(RequestIntake):
    """Billing requests: intake (:class:`RequestIntake`) and the billing run's selection."""

    async def oldest_traces(self, groups: Sequence[Sequence[str]]) -> list[TraceContext | None]:
        """For each group of request ids (one invoice's), the trace of its oldest
        request that has one (received first; then by id). An invoice gathers several
        requests but carries one trace: the oldest request's, the one that started it."""
        wanted = {rid for group in groups for rid in group}
        if not wanted:
            return [None] * len(groups)
        r = billing_requests.c
        rows = await self.session.execute(
            select(r.request_id, r.traceparent, r.tracestate)
            .where(in_texts(r.request_id, wanted), r.traceparent.is_not(None))
            .order_by(r.received_at, r.request_id)
        )
        rank: dict[str, tuple[int, TraceContext]] = {}
        for n, row in enumerate(rows):
            context = tracing.parse(row.traceparent, row.tracestate)
            if context is not None:
                rank[row.request_id] = (n, context)
        out: list[TraceContext | None] = []
        for group in groups:
            found = sorted((rank[rid] for rid in group if rid in rank), key=lambda x: x[0])
            out.append(found[0][1] if found else None)
        return out

    # --- the billing run -------------------------------------------------------

    def _ready(self, kind: str, up_to: date | None, ids: Sequence[str] | None) -> list[ColumnElement[bool]]:
        r, p = billing_requests.c, billing_profiles.c
        conds: list[ColumnElement[bool]] = [r.kind == kind, r.status == "open", p.valid.is_(True)]
        if up_to is not None:
            conds.append(r.invoice_date <= up_to)
        if ids is not None:
            conds.append(in_texts(r.request_id, ids))
        return conds

    async def count_ready(self, kind: str, up_to: date | None, ids: Sequence[str] | None) -> int:
        total = await self.session.scalar(
            select(func.count())
            .select_from(
                billing_requests.join(
                    billing_profiles, billing_profiles.c.customer_number == billing_requests.c.customer_number
                )
            )
            .where(*self._ready(kind, up_to, ids))
        )
        return int(total or 0)

    async def next_customers(
        self, kind: str, up_to: date | None, ids: Sequence[str] | None, after: str, limit: int
    ) -> list[str]:
        joined = billing_requests.join(
            billing_profiles, billing_profiles.c.customer_number == billing_requests.c.customer_number
        )
        rows = await self.session.execute(
            select(billing_requests.c.customer_number)
            .select_from(joined)
            .where(*self._ready(kind, up_to, ids), billing_requests.c.customer_number > after)
            .group_by(billing_requests.c.customer_number)
            .order_by(billing_requests.c.customer_number)
            .limit(limit)
        )
        return [r[0] for r in rows]

    async def ready_customers(
        self, kind: str, up_to: date | None, ids: Sequence[str] | None, after: str | None = None
    ) -> list[str]:
        """Every customer with a ready request in the selection (numbered after ``after``,
        if given), in customer-number order (a partitioned run cuts them into parts)."""
        joined = billing_requests.join(
            billing_profiles, billing_profiles.c.customer_number == billing_requests.c.customer_number
        )
        later = [billing_requests.c.customer_number > after] if after else []
        rows = await self.session.execute(
            select(billing_requests.c.customer_number)
            .select_from(joined)
            .where(*self._ready(kind, up_to, ids), *later)
            .group_by(billing_requests.c.customer_number)
            .order_by(billing_requests.c.customer_number)
        )
        return [r[0] for r in rows]

    async def ready_between(
        self,
        kind: str,
        up_to: date | None,
        ids: Sequence[str] | None,
        after: str | None,
        through: str | None,
        *,
        lock: bool,
    ) -> list[Request]:
        """The ready requests of the customers numbered after ``after`` and up to
        ``through`` (``None``: unbounded), as :meth:`ready_of` orders and locks them."""
        c = billing_requests.c.customer_number
        conds = [*self._ready(kind, up_to, ids)]
        if after is not None:
            conds.append(c > after)
        if through is not None:
            conds.append(c <= through)
        joined = billing_requests.join(billing_profiles, billing_profiles.c.customer_number == c)
        stmt = (
            select(billing_requests)
            .select_from(joined)
            .where(*conds)
            .order_by(c, billing_requests.c.received_at, billing_requests.c.request_id)
        )
        if lock:
            stmt = stmt.with_for_update(of=billing_requests)
        return [to_request(r) for r in await self.session.execute(stmt)]

    async def ready_of(
        self, kind: str, up_to: date | None, ids: Sequence[str] | None, customers: Sequence[str], *, lock: bool
    ) -> list[Request]:
        """The ready requests of these customers, in arrival order per customer; locked
        (and re-checked after any wait) when the run will change them."""
        joined = billing_requests.join(
            billing_profiles, billing_profiles.c.customer_number == billing_requests.c.customer_number
        )
        stmt = (
            select(billing_requests)
            .select_from(joined)
            .where(*self._ready(kind, up_to, ids), in_texts(billing_requests.c.customer_number, customers))
            .order_by(billing_requests.c.customer_number, billing_requests.c.received_at, billing_requests.c.request_id)
        )
        if lock:
            stmt = stmt.with_for_update(of=billing_requests)
        return [to_request(r) for r in await self.session.execute(stmt)]

    async def set_status(self, ids: Sequence[str], status: str, invoice_ids: dict[str, int] | None = None) -> None:
        """One statement for any number of requests (array parameters)."""
        if not ids:
            return
        if invoice_ids is None:
            await self.session.execute(
                update(billing_requests)
                .where(in_texts(billing_requests.c.request_id, ids))
                .values(status=status, changed_at=func.now())
            )
            return
        await self.session.execute(
            text(
                """
                UPDATE billing_requests AS r SET status = :status, invoice_id = u.invoice_id, changed_at = now()
                FROM unnest(CAST(:ids AS text[]), CAST(:invoices AS bigint[])) AS u(request_id, invoice_id)
                WHERE r.request_id = u.request_id
                """
            ),
            {"status": status, "ids": list(ids), "invoices": [invoice_ids[i] for i in ids]},
        )

    async def left_out(
        self, kind: str, up_to: date | None, ids: Sequence[str] | None, *, run_id: uuid.UUID, preview: bool
    ) -> dict[str, int]:
        """What a run over this selection did not invoice, by why: ``error`` (billing
        data invalid), ``no-profile``, ``cancelled`` (for a run over everything: orders
        cancelled since the kind's previous run), ``draft``, ``invoiced``,
        ``non-chargeable``, ``other-kind``, ``unknown`` (selected ids never received)."""
        r, p = billing_requests.c, billing_profiles.c
        why = case(
            (r.kind != kind, literal("other-kind")),
            (r.status != "open", r.status),
            (p.valid.is_(True), literal("ready")),
            (p.valid.is_(False), literal("error")),
            else_=literal("no-profile"),
        )
        conds: list[ColumnElement[bool]] = []
        if up_to is not None:
            conds.append(r.invoice_date <= up_to)
        if ids is not None:
            conds.append(in_texts(r.request_id, ids))
        else:
            conds.extend([r.kind == kind, or_(r.status == "open", await self._recently_cancelled(kind, run_id))])
        mine = select(invoices.c.id).where(invoices.c.run_id == run_id)
        conds.append(or_(r.invoice_id.is_(None), r.invoice_id.not_in(mine)))
        rows = await self.session.execute(select(why, func.count()).select_from(_from()).where(*conds).group_by(why))
        out = {str(row[0]): int(row[1]) for row in rows}
        if preview:
            out.pop("ready", None)
        if ids is not None:
            unknown = len(set(ids)) - await self._count_ids(ids)
            if unknown:
                out["unknown"] = unknown
        return out

    async def _recently_cancelled(self, kind: str, run_id: uuid.UUID | None = None) -> ColumnElement[bool]:
        """Cancelled requests the clerk has not been told about in a run yet: cancelled
        after the latest draft or confirm run of the kind started (a run's summary
        reports them; after it they are history, not something to act on)."""
        conds = [billing_runs.c.kind == kind, billing_runs.c.mode != "preview"]
        if run_id is not None:
            conds.append(billing_runs.c.id != run_id)
        since = await self.session.scalar(select(func.max(billing_runs.c.started_at)).where(*conds))
        cancelled = billing_requests.c.status == "cancelled"
        return cancelled if since is None else and_(cancelled, billing_requests.c.changed_at > since)

    async def _count_ids(self, ids: Sequence[str]) -> int:
        return int(
            await self.session.scalar(select(func.count()).where(in_texts(billing_requests.c.request_id, ids))) or 0
        )

    async def of_invoice(self, invoice_id: int) -> list[str]:
        rows = await self.session.execute(
            select(billing_requests.c.request_id).where(billing_requests.c.invoice_id == invoice_id)
        )
        return [r[0] for r in rows]

    async def cancel_drafted(self, ids: Sequence[str]) -> None:
        """Requests taken off a draft because their orders were cancelled: cancelled,
        on no invoice."""
        if ids:
            await self.session.execute(
                update(billing_requests)
                .where(in_texts(billing_requests.c.request_id, ids), billing_requests.c.status == "draft")
                .values(status="cancelled", invoice_id=None, changed_at=func.now())
            )

    async def release(self, invoice_id: int) -> int:
        """A deleted draft's requests return to open (ready or error by their profile);
        those whose orders were cancelled meanwhile become cancelled. Returns how many
        returned to open."""
        r = billing_requests.c
        await self.session.execute(
            update(billing_requests)
            .where(
                r.invoice_id == invoice_id,
                r.status == "draft",
                r.order_id.in_(select(cancelled_orders.c.order_id)),
            )
            .values(status="cancelled", invoice_id=None, changed_at=func.now())
        )
        result = await self.session.execute(
            update(billing_requests)
            .where(billing_requests.c.invoice_id == invoice_id, billing_requests.c.status == "draft")
            .values(status="open", invoice_id=None, changed_at=func.now())
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
