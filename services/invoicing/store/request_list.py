"""The clerk's list of billing requests (seed steps 8-12): stored requests and requests
refused at intake (dead letters of the requests topic), in one order with the ones to
act on first, filtered by state and reason, paged with a total.

Row states: ``refused`` (dead-lettered at intake, not stored since), ``error``
(billing data invalid or missing), ``cancelled``, ``cancelled-after-invoicing`` (on a
draft or a confirmed invoice whose order was cancelled afterwards, and no confirmed
corrective invoice of it yet), ``ready``, ``draft``, ``invoiced``, ``non-chargeable``.

The default view (no state asked) is what the clerk must act on or can bill: refused,
error, cancelled since the kind's latest draft or confirm run, cancelled after
invoicing, then ready. Order: those groups in that order, then customer number,
arrival, request id: stable, so offset paging neither skips nor repeats a row.

A refused request is the newest dead letter of its request id (one whose body does not
parse stands alone, until it is replayed: a replay of it can only fail again, and comes
back as a new dead letter). It leaves the list when a request of that id is stored after
the dead letter was received (the replay, or the sender sending it again), so a request
refused because its id was reused for other content stays listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.tables import billing_runs

REFUSED = "refused"
UNKNOWN_KIND = "unknown"
ANY_STATE = "*"
"""Internal: a stored request in whatever state (one request by id)."""


@dataclass(frozen=True)
class ListFilter:
    kind: str
    state: str | None = None
    """One state; None: the default view (see the module)."""
    reason: str | None = None
    """Only rows with this reason code (a profile error, a dead letter's code, ...)."""
    customer_number: str | None = None
    order_id: str | None = None
    invoice_date_to: date | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class Counts:
    ready: int
    errors: int
    refused: int
    refused_unknown_kind: int
    cancelled_requests: int
    cancelled_orders: int
    invoiced_cancelled: int


_REQUESTS = """
    SELECT 'request' AS src, r.request_id, r.kind, r.customer_number, r.order_id,
           to_char(r.invoice_date, 'YYYY-MM-DD') AS invoice_date, r.invoice_date AS invoice_day,
           r.payment_terms_days, r.lines, r.net, r.invoice_id,
           i.number AS invoice_number, r.origin, r.received_at, r.status,
           p.errors AS profile_errors,
           CAST(NULL AS bigint) AS dead_letter_id, CAST(NULL AS text) AS dead_letter_code,
           CAST(NULL AS text) AS dead_letter_reason, 0 AS replays, CAST(NULL AS timestamptz) AS replayed_at,
           s.state,
           CASE s.state
               WHEN 'error' THEN
                   CASE WHEN p.valid IS NULL THEN ARRAY['no-billing-profile']
                        WHEN jsonb_array_length(p.errors) = 0 THEN ARRAY['billing-data-invalid']
                        ELSE ARRAY(SELECT DISTINCT e->>'code' FROM jsonb_array_elements(p.errors) e) END
               WHEN 'cancelled' THEN ARRAY['order-cancelled']
               WHEN 'cancelled-after-invoicing' THEN
                   ARRAY[CASE WHEN r.status = 'draft' THEN 'draft-order-cancelled' ELSE 'invoiced-order-cancelled' END]
               ELSE CAST(ARRAY[] AS text[]) END AS reasons,
           (r.status = 'cancelled' AND (CAST(:since AS timestamptz) IS NULL OR r.changed_at > :since)) AS recent
    FROM billing_requests r
    LEFT JOIN billing_profiles p ON p.customer_number = r.customer_number
    LEFT JOIN invoices i ON i.id = r.invoice_id
    CROSS JOIN LATERAL (SELECT CASE
        WHEN r.status IN ('invoiced', 'draft')
             AND EXISTS (SELECT 1 FROM cancelled_orders c WHERE c.order_id = r.order_id)
             AND NOT EXISTS (SELECT 1 FROM invoices k WHERE k.original_invoice_id = r.invoice_id
                                                       AND k.status = 'confirmed')
            THEN 'cancelled-after-invoicing'
        WHEN r.status <> 'open' THEN r.status
        WHEN p.valid IS TRUE THEN 'ready'
        ELSE 'error' END AS state) s
    WHERE r.kind = :kind AND {base}
"""

_DEAD_LETTERS = """
    SELECT d.id, d.error_code, d.reason, d.received_at, d.replays, d.replayed_at, json_or_null(d.value) AS body
    FROM dead_letters d
    WHERE d.topic = :topic AND NOT d.headers @> CAST(:cancel_header AS jsonb)
"""

_REFUSED_ALL = f"""
    WITH dl AS NOT MATERIALIZED ({_DEAD_LETTERS}),
    parsed AS NOT MATERIALIZED (
        SELECT dl.*,
               CASE WHEN jsonb_typeof(body) = 'object' AND jsonb_typeof(body->'request_id') = 'string'
                    THEN body->>'request_id' END AS rid,
               CASE WHEN jsonb_typeof(body) = 'object' AND body->>'kind' IN ('subscription', 'notice')
                    THEN body->>'kind' ELSE '{UNKNOWN_KIND}' END AS rkind
        FROM dl
    ),
    newest AS NOT MATERIALIZED (
        SELECT DISTINCT ON (coalesce(rid, 'dead-letter:' || id)) *
        FROM parsed
        ORDER BY coalesce(rid, 'dead-letter:' || id), id DESC
    )
    SELECT * FROM newest n
    WHERE (n.rid IS NOT NULL OR n.replays = 0)
      AND NOT EXISTS (SELECT 1 FROM billing_requests r WHERE r.request_id = n.rid AND r.received_at > n.received_at)
"""  # noqa: S608 (constant fragments only; every value is a bound parameter, here and below)


def _text_field(name: str) -> str:
    return f"CASE WHEN jsonb_typeof(f.body->'{name}') = 'string' THEN left(f.body->>'{name}', 64) END"


_REFUSED = f"""
    SELECT 'refused' AS src, f.rid AS request_id, f.rkind AS kind,
           {_text_field("customer_number")} AS customer_number, {_text_field("order_id")} AS order_id,
           {_text_field("invoice_date")} AS invoice_date, CAST(NULL AS date) AS invoice_day,
           CAST(NULL AS int) AS payment_terms_days, CAST(NULL AS jsonb) AS lines, CAST(NULL AS numeric) AS net,
           CAST(NULL AS bigint) AS invoice_id, CAST(NULL AS bigint) AS invoice_number, 'sender' AS origin,
           f.received_at, 'refused' AS status, CAST(NULL AS jsonb) AS profile_errors,
           f.id AS dead_letter_id, f.error_code AS dead_letter_code, f.reason AS dead_letter_reason,
           f.replays, f.replayed_at, 'refused' AS state, ARRAY[f.error_code] AS reasons, false AS recent
    FROM ({_REFUSED_ALL}) f
    WHERE f.rkind = :kind
"""  # noqa: S608

_ORDER = """
    ORDER BY CASE state WHEN 'refused' THEN 0 WHEN 'error' THEN 1 WHEN 'cancelled' THEN 2
                        WHEN 'cancelled-after-invoicing' THEN 3 WHEN 'ready' THEN 4 ELSE 5 END,
             customer_number NULLS LAST, received_at, request_id NULLS LAST, src, dead_letter_id
"""


class RequestList:
    """One query per question, each over the same rows (call inside one snapshot)."""

    def __init__(self, session: AsyncSession, *, topic: str, cancel_type: str) -> None:
        self.session = session
        self.topic = topic
        self.cancel_header = f'[["ce_type", "{cancel_type}"]]'

    async def _since(self, kind: str) -> datetime | None:
        """Cancellations before the kind's latest draft or confirm run were reported by it."""
        since: datetime | None = await self.session.scalar(
            select(func.max(billing_runs.c.started_at)).where(
                billing_runs.c.kind == kind, billing_runs.c.mode != "preview"
            )
        )
        return since

    def _base(self, state: str | None) -> str:
        """The stored requests a state can come from (lets PostgreSQL use its indexes)."""
        if state == ANY_STATE:
            return "true"
        if state is None:
            return (
                "(r.status = 'open' OR r.status = 'cancelled' OR (r.status IN ('invoiced', 'draft')"
                " AND EXISTS (SELECT 1 FROM cancelled_orders c0 WHERE c0.order_id = r.order_id)))"
            )
        if state in ("ready", "error"):
            return "r.status = 'open'"
        if state == "cancelled-after-invoicing":
            return "r.status IN ('invoiced', 'draft')"
        if state == REFUSED:
            return "false"
        return "r.status = :state"

    def _rows(self, f: ListFilter) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {"kind": f.kind, "state": f.state}
        parts = [_REQUESTS.format(base=self._base(f.state))]
        if f.state in (None, REFUSED):
            parts.append(_REFUSED)
            params.update(topic=self.topic, cancel_header=self.cancel_header)
        conds = ["true"]
        if f.state == ANY_STATE:
            pass
        elif f.state is None:
            conds.append("(state IN ('refused', 'error', 'ready', 'cancelled-after-invoicing') OR recent)")
        else:
            conds.append("state = :state")
        if f.reason:
            conds.append("CAST(:reason AS text) = ANY(reasons)")
            params["reason"] = f.reason
        if f.customer_number:
            conds.append("customer_number = :customer_number")
            params["customer_number"] = f.customer_number
        if f.order_id:
            conds.append("order_id = :order_id")
            params["order_id"] = f.order_id
        if f.request_id:
            conds.append("request_id = :request_id")
            params["request_id"] = f.request_id
        if f.invoice_date_to:
            # a refused request's date is the sender's text, maybe not a date: always listed
            conds.append("(invoice_day IS NULL OR invoice_day <= :up_to)")
            params["up_to"] = f.invoice_date_to
        # constant fragments only: every value is a bound parameter
        sql = f"SELECT * FROM ({' UNION ALL '.join(parts)}) x WHERE {' AND '.join(conds)}"  # noqa: S608
        return sql, params

    async def page(self, f: ListFilter, *, limit: int, offset: int) -> tuple[int, list[Any]]:
        sql, params = self._rows(f)
        params["since"] = await self._since(f.kind)
        total = await self.session.scalar(text(f"SELECT count(*) FROM ({sql}) y"), params)  # noqa: S608
        rows = await self.session.execute(
            text(f"{sql} {_ORDER} LIMIT :limit OFFSET :offset"), {**params, "limit": limit, "offset": offset}
        )
        return int(total or 0), list(rows)

    async def one(self, request_id: str) -> Any | None:
        """A stored request by id, in whatever state."""
        kind = await self.session.scalar(
            text("SELECT kind FROM billing_requests WHERE request_id = :id"), {"id": request_id}
        )
        if kind is None:
            return None
        _, rows = await self.page(ListFilter(kind=kind, state=ANY_STATE, request_id=request_id), limit=1, offset=0)
        return rows[0] if rows else None

    async def counts(self, kind: str, invoice_date_to: date | None) -> Counts:
        """The notice's numbers over the default view (and the refused requests whose
        kind cannot be read, counted under both kinds)."""
        sql, params = self._rows(ListFilter(kind=kind, invoice_date_to=invoice_date_to))
        params["since"] = await self._since(kind)
        row = (
            await self.session.execute(
                text(
                    f"""
                    SELECT count(*) FILTER (WHERE state = 'ready') AS ready,
                           count(*) FILTER (WHERE state = 'error') AS errors,
                           count(*) FILTER (WHERE state = 'refused') AS refused,
                           count(*) FILTER (WHERE state = 'cancelled') AS cancelled_requests,
                           count(DISTINCT order_id) FILTER (WHERE state = 'cancelled') AS cancelled_orders,
                           count(*) FILTER (WHERE state = 'cancelled-after-invoicing') AS invoiced_cancelled
                    FROM ({sql}) y
                    """  # noqa: S608
                ),
                params,
            )
        ).one()
        unknown = await self.session.scalar(
            text(f"SELECT count(*) FROM ({_REFUSED_ALL}) f WHERE f.rkind = '{UNKNOWN_KIND}'"),  # noqa: S608
            {"topic": self.topic, "cancel_header": self.cancel_header},
        )
        return Counts(
            ready=int(row.ready),
            errors=int(row.errors),
            refused=int(row.refused),
            refused_unknown_kind=int(unknown or 0),
            cancelled_requests=int(row.cancelled_requests),
            cancelled_orders=int(row.cancelled_orders),
            invoiced_cancelled=int(row.invoiced_cancelled),
        )

    async def reasons(self, kind: str, invoice_date_to: date | None) -> list[Any]:
        """Why rows of the default view need the clerk, per (state, reason code): how
        many rows, and a profile error's own texts (min over rows: one per code)."""
        sql, params = self._rows(ListFilter(kind=kind, invoice_date_to=invoice_date_to))
        params["since"] = await self._since(kind)
        rows = await self.session.execute(
            text(
                f"""
                SELECT y.state, code, count(*) AS n,
                       min(e->>'message_fi') AS fi, min(e->>'message_en') AS en
                FROM ({sql}) y
                CROSS JOIN LATERAL unnest(y.reasons) AS code
                LEFT JOIN LATERAL (SELECT x.value AS e
                                   FROM jsonb_array_elements(coalesce(y.profile_errors, '[]'::jsonb)) x
                                   WHERE x.value->>'code' = code LIMIT 1) pe ON y.state = 'error'
                WHERE y.state IN ('refused', 'error', 'cancelled', 'cancelled-after-invoicing')
                GROUP BY y.state, code
                ORDER BY CASE y.state WHEN 'refused' THEN 0 WHEN 'error' THEN 1 WHEN 'cancelled' THEN 2 ELSE 3 END,
                         n DESC, code
                """  # noqa: S608
            ),
            params,
        )
        return list(rows)
