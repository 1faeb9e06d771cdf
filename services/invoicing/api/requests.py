"""Fetch billing requests (seed steps 7-12): the list per kind, the red error notice
above it, each erroneous row with its reasons and a link to the customer's card; the
requests refused at intake (dead letters) with their reason and the way to get them
invoiced (replay once fixed); invoiced requests whose order was cancelled afterwards,
with the invoice to correct. Problems first, then the ready ones; paged."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, StringConstraints

from services.invoicing.api.common import KIND_PATTERN, settings, uow
from services.invoicing.domain import texts
from services.invoicing.store.request_list import Counts, ListFilter
from services.invoicing.store.request_list import RequestList as RequestListStore
from services.invoicing.uow import InvoicingUnitOfWork
from shared.auth.http import require
from shared.events import topics
from shared.events.sales import OrderCancelled
from shared.http import AUTH_ERRORS, NOT_FOUND

router = APIRouter(prefix="/billing-requests", tags=["billing requests"], responses=AUTH_ERRORS)
READ = require("invoicing:read")

State = Literal[
    "refused", "error", "cancelled", "cancelled-after-invoicing", "ready", "draft", "invoiced", "non-chargeable"
]
STATE_LABELS = {
    # 'virhe' in every row the clerk must fix: the guide finds them with Ctrl+F 'virhe' (seed step 9)
    "refused": ("virhe: hylätty vastaanotossa", "error: refused at intake"),
    "error": ("virhe", "error"),
    "cancelled": ("peruttu", "cancelled"),
    "cancelled-after-invoicing": ("peruttu laskutuksen jälkeen", "cancelled after invoicing"),
    "draft": ("luonnos", "draft"),
    "invoiced": ("laskutettu", "invoiced"),
    "non-chargeable": ("veloitukseton", "non-chargeable"),
    "ready": ("valmis", "ready"),
}
ReasonCode = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")]


class Reason(BaseModel):
    code: str
    field: str | None = None
    message_fi: str
    message_en: str
    state: str | None = None
    """In the notice: the state of the rows with this reason. ``GET
    /billing-requests?kind=<kind>&reason=<code>`` (the default view, filtered) lists
    exactly the rows the notice counts for it."""
    count: int | None = None
    """In the notice: how many rows have this reason."""


class RequestOut(BaseModel):
    request_id: str | None
    """None only for a refused record whose body names no request id."""
    kind: str
    customer_number: str | None
    customer_url: str | None
    """The customer's card in the customers service (seed step 10)."""
    order_id: str | None
    invoice_date: date | None
    payment_terms_days: int | None
    state: State
    label_fi: str
    label_en: str
    reasons: list[Reason]
    lines: list[dict[str, Any]]
    net: Decimal | None
    invoice_id: int | None
    invoice_number: int | None = None
    """The invoice to correct, when the order was cancelled after invoicing."""
    origin: str
    received_at: datetime
    dead_letter_id: int | None = None
    """A refused request's dead letter: replay it (``POST /dead-letters/replay``) once
    the cause is fixed, and the request comes in to be invoiced."""
    replays: int = 0
    replayed_at: datetime | None = None
    action_fi: str | None = None
    action_en: str | None = None
    """What to do to get the row invoiced (or corrected)."""


class Notice(BaseModel):
    """The red error notice (seed step 9); absent when there is nothing to fix."""

    code: str
    message_fi: str
    message_en: str
    errors: int
    refused: int = 0
    refused_unknown_kind: int = 0
    """Refused records whose kind cannot be read: counted under both kinds, listed in
    ``/dead-letters`` only."""
    cancelled_orders: int
    cancelled_requests: int
    invoiced_cancelled: int
    reasons: list[Reason]
    """Why rows need the clerk, each with its state and count (also as text in
    ``field``, e.g. ``"12"``); ``?reason=<code>`` leads to exactly those rows."""


class RequestList(BaseModel):
    kind: str
    notice: Notice | None
    ready: int
    errors: int
    refused: int = 0
    total: int
    """Rows matching the filters (all pages)."""
    limit: int
    offset: int
    items: list[RequestOut]


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _reasons(row: Any) -> tuple[list[Reason], texts.Text | None]:
    """A row's reasons and what to do about it."""
    if row.state == "refused":
        why, replay = texts.refused(row.dead_letter_code, row.dead_letter_reason)
        return [Reason(code=why.code, message_fi=why.fi, message_en=why.en)], replay
    out: list[Reason] = []
    action: texts.Text | None = None
    if row.state == "error":
        if row.profile_errors is None:
            t = texts.NO_PROFILE
            out.append(Reason(code=t.code, message_fi=t.fi, message_en=t.en))
        elif not row.profile_errors:
            t = texts.PROFILE_INVALID
            out.append(Reason(code=t.code, message_fi=t.fi, message_en=t.en))
        else:
            out.extend(Reason.model_validate(e) for e in row.profile_errors)
    elif row.state == "cancelled":
        t = texts.ORDER_CANCELLED
        out.append(Reason(code=t.code, message_fi=t.fi, message_en=t.en))
    elif row.state == "cancelled-after-invoicing":
        t = texts.DRAFT_AFTER_CANCEL if row.status == "draft" else texts.invoiced_after_cancel(row.invoice_number)
        out.append(Reason(code=t.code, message_fi=t.fi, message_en=t.en))
        action = t
    return out, action


def _out(row: Any) -> RequestOut:
    reasons, action = _reasons(row)
    fi, en = STATE_LABELS[row.state]
    return RequestOut(
        request_id=row.request_id,
        kind=row.kind,
        customer_number=row.customer_number,
        customer_url=f"/customers/{row.customer_number}" if row.customer_number else None,
        order_id=row.order_id,
        invoice_date=_day(row.invoice_date),
        payment_terms_days=row.payment_terms_days,
        state=row.state,
        label_fi=fi,
        label_en=en,
        reasons=reasons,
        lines=row.lines or [],
        net=row.net,
        invoice_id=row.invoice_id,
        invoice_number=row.invoice_number,
        origin=row.origin,
        received_at=row.received_at,
        dead_letter_id=row.dead_letter_id,
        replays=row.replays,
        replayed_at=row.replayed_at,
        action_fi=action.fi if action else None,
        action_en=action.en if action else None,
    )


def _list(request: Request, u: InvoicingUnitOfWork) -> RequestListStore:
    topic = settings(request).kafka_topic_prefix + topics.BILLING_REQUESTS.name
    return RequestListStore(u.session, topic=topic, cancel_type=OrderCancelled.EVENT_TYPE)


@router.get("", response_model=RequestList, dependencies=[READ])
async def fetch(  # noqa: PLR0917 (query parameters)
    request: Request,
    kind: str = Query(pattern=KIND_PATTERN, description="subscription | notice"),
    state: State | None = Query(
        None,
        description="Only this state (default: what to act on or bill: refused, error, cancelled since the "
        "kind's latest run, cancelled after invoicing, ready; in that order)",
    ),
    reason: ReasonCode | None = Query(None, description="Only rows with this reason code (as in the notice)"),
    customer_number: str | None = Query(None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$"),
    order_id: str | None = Query(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"),
    up_to: date | None = Query(None, description="Invoice dates up to this date"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000, description="Rows to skip (the order is stable)"),
) -> Any:
    """Hae laskutuspyynnöt: the requests of a kind, the ones the clerk must act on first
    (refused at intake, *virhe*, cancelled), then the ready ones; the error notice at the
    top with each reason's count, state and code (a filter to its rows); paged with the
    total that matches."""
    f = ListFilter(
        kind=kind,
        state=state,
        reason=reason,
        customer_number=customer_number,
        order_id=order_id,
        invoice_date_to=up_to,
    )
    async with uow(request) as u:
        # One snapshot for the rows and the counts: a billing profile fixed between two
        # statements would otherwise list a row as *virhe* under a notice saying 0 errors.
        await u.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        store = _list(request, u)
        total, rows = await store.page(f, limit=limit, offset=offset)
        counts = await store.counts(kind, up_to)
        reasons = await store.reasons(kind, up_to) if counts != _nothing(counts) else []
    notice = texts.notice(
        counts.errors,
        counts.cancelled_orders,
        counts.cancelled_requests,
        counts.invoiced_cancelled,
        counts.refused,
        counts.refused_unknown_kind,
    )
    notice_out = None
    if notice is not None:
        notice_out = Notice(
            code=notice.code,
            message_fi=notice.fi,
            message_en=notice.en,
            errors=counts.errors,
            refused=counts.refused,
            refused_unknown_kind=counts.refused_unknown_kind,
            cancelled_orders=counts.cancelled_orders,
            cancelled_requests=counts.cancelled_requests,
            invoiced_cancelled=counts.invoiced_cancelled,
            reasons=[_reason(r.state, r.code, int(r.n), r.fi, r.en) for r in reasons],
        )
    return RequestList(
        kind=kind,
        notice=notice_out,
        ready=counts.ready,
        errors=counts.errors,
        refused=counts.refused,
        total=total,
        limit=limit,
        offset=offset,
        items=[_out(r) for r in rows],
    )


def _nothing(counts: Counts) -> Counts:
    return Counts(counts.ready, 0, 0, counts.refused_unknown_kind, 0, 0, 0)


def _reason(state: str, code: str, count: int, fi: str | None, en: str | None) -> Reason:
    known: dict[str, texts.Text] = {
        texts.NO_PROFILE.code: texts.NO_PROFILE,
        texts.PROFILE_INVALID.code: texts.PROFILE_INVALID,
        texts.ORDER_CANCELLED.code: texts.ORDER_CANCELLED,
        texts.INVOICED_AFTER_CANCEL.code: texts.INVOICED_AFTER_CANCEL,
        texts.DRAFT_AFTER_CANCEL.code: texts.DRAFT_AFTER_CANCEL,
    }
    t = known.get(code)
    if state == "refused":
        t = texts.refused_title(code)
    if t is not None:
        fi, en = t.fi, t.en
    return Reason(
        code=code,
        field=str(count),
        state=state,
        count=count,
        message_fi=f"{count} × {fi or code}",
        message_en=f"{count} × {en or code}",
    )


@router.get("/{request_id:path}", response_model=RequestOut, responses=NOT_FOUND, dependencies=[READ])
async def get_request(
    request: Request,
    request_id: str = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"),
) -> Any:
    async with uow(request) as u:
        row = await _list(request, u).one(request_id)
    if row is None:
        t = texts.UNKNOWN_REQUEST
        raise HTTPException(404, detail={"code": t.code, "message_fi": t.fi, "message_en": t.en})
    return _out(row)
