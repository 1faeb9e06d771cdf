"""Billing requests coming in: a sender's requests stored (one statement a batch), the
cancelled orders, and what intake reads back (content hashes, the invoices that already
bill a request). :class:`services.invoicing.store.requests.RequestStore` is this plus
the billing run's selection."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.store.sql import in_texts
from services.invoicing.tables import billing_requests, cancelled_orders, invoice_lines, invoices


@dataclass(frozen=True)
class NewRequest:
    request_id: str
    kind: str
    customer_number: str
    order_id: str
    invoice_date: date
    payment_terms_days: int
    lines: list[dict[str, Any]] | str
    """The lines (JSON values), or already as JSON text (then ``line_count`` is given)."""
    net: Decimal
    content_hash: str
    source: str
    status: str = "open"
    origin: str = "sender"
    traceparent: str | None = None
    tracestate: str | None = None
    line_count: int | None = None
    """How many lines (None: ``len(lines)``)."""


_INTAKE = text(
    """
    WITH r AS (
        SELECT *
        FROM unnest(CAST(:request_id AS text[]), CAST(:kind AS text[]), CAST(:customer_number AS text[]),
                    CAST(:order_id AS text[]), CAST(:invoice_date AS date[]), CAST(:terms AS int[]),
                    CAST(:lines AS text[]), CAST(:line_count AS int[]), CAST(:net AS numeric[]),
                    CAST(:content_hash AS text[]), CAST(:source AS text[]), CAST(:traceparent AS text[]),
                    CAST(:tracestate AS text[]))
             AS r(request_id, kind, customer_number, order_id, invoice_date, terms, lines, line_count, net,
                  content_hash, source, traceparent, tracestate)
    ), ins AS (
        INSERT INTO billing_requests (request_id, kind, customer_number, order_id, invoice_date, payment_terms_days,
                                      lines, line_count, net, content_hash, status, origin, source, traceparent,
                                      tracestate)
        SELECT request_id, kind, customer_number, order_id, invoice_date, terms, CAST(lines AS jsonb), line_count, net,
               content_hash,
               CASE WHEN EXISTS (SELECT 1 FROM cancelled_orders c WHERE c.order_id = r.order_id)
                    THEN 'cancelled' ELSE 'open' END,
               'sender', source, traceparent, tracestate
        FROM r
        ON CONFLICT (request_id) DO NOTHING
        RETURNING request_id, status
    ), billed AS (
        SELECT l.request_id, min(l.invoice_id) AS invoice_id
        FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
        WHERE l.request_id IN (SELECT request_id FROM ins) AND NOT l.corrective AND i.status = 'confirmed'
        GROUP BY l.request_id
    )
    SELECT ins.request_id, ins.status, billed.invoice_id FROM ins LEFT JOIN billed ON billed.request_id = ins.request_id
    """
)
"""A batch of a sender's requests in one round trip: each stored ``cancelled`` when its
order was cancelled already, else ``open``; returns the new ones with their status and,
for one an issued invoice already bills, that invoice (:meth:`RequestStore.on_issued_invoices`)."""


@dataclass(frozen=True)
class Intake:
    """What :meth:`RequestStore.take_in` stored."""

    new: dict[str, str]
    """Request id -> status (``open`` or ``cancelled``) of each request that was new."""
    invoiced: dict[str, int]
    """The new ones an issued invoice already bills -> that invoice's id."""


@dataclass(frozen=True)
class Cancellation:
    cancelled: int
    """Open requests of the order now cancelled."""
    invoiced: int
    """Requests already invoiced or on a draft: left alone (a corrective invoice is needed)."""


_INSERT_REQUESTS = text(
    """
    INSERT INTO billing_requests (request_id, kind, customer_number, order_id, invoice_date, payment_terms_days, lines,
                                  line_count, net, content_hash, status, origin, source, traceparent, tracestate)
    SELECT request_id, kind, customer_number, order_id, invoice_date, terms, CAST(lines AS jsonb), line_count, net,
           content_hash, status, origin, source, traceparent, tracestate
    FROM unnest(CAST(:request_id AS text[]), CAST(:kind AS text[]), CAST(:customer_number AS text[]),
                CAST(:order_id AS text[]), CAST(:invoice_date AS date[]), CAST(:terms AS int[]),
                CAST(:lines AS text[]), CAST(:line_count AS int[]), CAST(:net AS numeric[]),
                CAST(:content_hash AS text[]), CAST(:status AS text[]), CAST(:origin AS text[]),
                CAST(:source AS text[]), CAST(:traceparent AS text[]), CAST(:tracestate AS text[]))
         AS r(request_id, kind, customer_number, order_id, invoice_date, terms, lines, line_count, net,
              content_hash, status, origin, source, traceparent, tracestate)
    ON CONFLICT (request_id) DO NOTHING
    RETURNING request_id
    """
)


def _columns(rows: Sequence[NewRequest]) -> dict[str, list[Any]]:
    """The array parameters both insert statements take, one list per column."""
    return {
        "request_id": [r.request_id for r in rows],
        "kind": [r.kind for r in rows],
        "customer_number": [r.customer_number for r in rows],
        "order_id": [r.order_id for r in rows],
        "invoice_date": [r.invoice_date for r in rows],
        "terms": [r.payment_terms_days for r in rows],
        "lines": [r.lines if isinstance(r.lines, str) else json.dumps(r.lines) for r in rows],
        "line_count": [len(r.lines) if r.line_count is None else r.line_count for r in rows],
        "net": [r.net for r in rows],
        "content_hash": [r.content_hash for r in rows],
        "source": [r.source for r in rows],
        "traceparent": [r.traceparent for r in rows],
        "tracestate": [r.tracestate for r in rows],
    }


class RequestIntake:
    """Intake of billing requests and order cancellations."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, rows: Sequence[NewRequest]) -> set[str]:
        """Insert new requests (one statement, array parameters); returns the ids that
        were new (the others existed already)."""
        if not rows:
            return set()
        result = await self.session.execute(
            _INSERT_REQUESTS,
            {
                **_columns(rows),
                "status": [r.status for r in rows],
                "origin": [r.origin for r in rows],
            },
        )
        return {row[0] for row in result}

    async def take_in(self, rows: Sequence[NewRequest]) -> Intake:
        """A sender's requests (intake: status from the cancelled orders, origin
        ``sender``) in one statement: what :meth:`cancelled_among`, :meth:`insert` and
        :meth:`on_issued_invoices` do in three round trips."""
        if not rows:
            return Intake({}, {})
        result = await self.session.execute(
            _INTAKE,
            _columns(rows),
        )
        new: dict[str, str] = {}
        invoiced: dict[str, int] = {}
        for request_id, status, invoice_id in result:
            new[request_id] = status
            if invoice_id is not None:
                invoiced[request_id] = int(invoice_id)
        return Intake(new, invoiced)

    async def on_issued_invoices(self, ids: Sequence[str]) -> dict[str, int]:
        """The ids among ``ids`` an issued invoice already bills, and that invoice's id:
        after a restore, ``billing invoicing reconcile`` rebuilt it from the log before the
        request itself comes again (a consumer group rewound to the backup's time)."""
        if not ids:
            return {}
        rows = await self.session.execute(
            select(invoice_lines.c.request_id, func.min(invoice_lines.c.invoice_id))
            .join(invoices, invoices.c.id == invoice_lines.c.invoice_id)
            .where(
                in_texts(invoice_lines.c.request_id, ids),
                invoice_lines.c.corrective.is_(False),
                invoices.c.status == "confirmed",
            )
            .group_by(invoice_lines.c.request_id)
        )
        return {r[0]: int(r[1]) for r in rows}

    async def hashes(self, ids: Sequence[str]) -> dict[str, str]:
        rows = await self.session.execute(
            select(billing_requests.c.request_id, billing_requests.c.content_hash).where(
                in_texts(billing_requests.c.request_id, ids)
            )
        )
        return {r.request_id: r.content_hash for r in rows}

    async def cancelled_among(self, order_ids: Sequence[str]) -> set[str]:
        if not order_ids:
            return set()
        rows = await self.session.execute(
            select(cancelled_orders.c.order_id).where(in_texts(cancelled_orders.c.order_id, set(order_ids)))
        )
        return {r[0] for r in rows}

    async def cancel_order(
        self, order_id: str, customer_number: str, reason: str | None, at: datetime, event_id: str
    ) -> Cancellation:
        await self.session.execute(
            insert(cancelled_orders)
            .values(
                order_id=order_id, customer_number=customer_number, reason=reason, cancelled_at=at, event_id=event_id
            )
            .on_conflict_do_nothing(index_elements=["order_id"])
        )
        r = billing_requests.c
        cancelled = await self.session.execute(
            update(billing_requests)
            .where(r.order_id == order_id, r.status == "open")
            .values(status="cancelled", changed_at=func.now())
        )
        invoiced = await self.session.scalar(
            select(func.count()).where(r.order_id == order_id, r.status.in_(("invoiced", "draft")))
        )
        return Cancellation(int(cancelled.rowcount or 0), int(invoiced or 0))  # type: ignore[attr-defined]
