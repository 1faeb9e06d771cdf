"""Fetch billing requests (seed steps 7-12): the list per kind, the red error notice
above it, each erroneous row with its reasons and a link to the customer's card."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel

from services.invoicing.api.common import KIND_PATTERN, uow
from services.invoicing.domain import texts
from services.invoicing.store.requests import RequestFilter
from shared.http import NOT_FOUND, UNAUTHORIZED

router = APIRouter(prefix="/billing-requests", tags=["billing requests"], responses=UNAUTHORIZED)

State = Literal["ready", "error", "cancelled", "draft", "invoiced", "non-chargeable"]
STATE_LABELS = {
    "ready": ("valmis", "ready"),
    "error": ("virhe", "error"),
    "cancelled": ("peruttu", "cancelled"),
    "draft": ("luonnos", "draft"),
    "invoiced": ("laskutettu", "invoiced"),
    "non-chargeable": ("veloitukseton", "non-chargeable"),
}


class Reason(BaseModel):
    code: str
    field: str | None = None
    message_fi: str
    message_en: str


class RequestOut(BaseModel):
    request_id: str
    kind: str
    customer_number: str
    customer_url: str
    """The customer's card in the customers service (seed step 10)."""
    order_id: str
    invoice_date: date
    payment_terms_days: int
    state: State
    label_fi: str
    label_en: str
    reasons: list[Reason]
    lines: list[dict[str, Any]]
    net: Decimal
    invoice_id: int | None
    origin: str
    received_at: datetime


class Notice(BaseModel):
    """The red error notice (seed step 9); absent when there is nothing to fix."""

    code: str
    message_fi: str
    message_en: str
    errors: int
    cancelled_orders: int
    cancelled_requests: int
    invoiced_cancelled: int
    reasons: list[Reason]
    """Why requests are in error, with counts in ``field`` (e.g. ``"12"``)."""


class RequestList(BaseModel):
    kind: str
    notice: Notice | None
    ready: int
    errors: int
    total: int
    items: list[RequestOut]


def _out(row: Any) -> RequestOut:
    reasons: list[Reason] = []
    if row.state == "error":
        if row.profile_errors is None:
            t = texts.NO_PROFILE
            reasons.append(Reason(code=t.code, message_fi=t.fi, message_en=t.en))
        else:
            reasons.extend(Reason.model_validate(e) for e in row.profile_errors)
    elif row.state == "cancelled":
        t = texts.ORDER_CANCELLED
        reasons.append(Reason(code=t.code, message_fi=t.fi, message_en=t.en))
    fi, en = STATE_LABELS[row.state]
    return RequestOut(
        request_id=row.request_id,
        kind=row.kind,
        customer_number=row.customer_number,
        customer_url=f"/customers/{row.customer_number}",
        order_id=row.order_id,
        invoice_date=row.invoice_date,
        payment_terms_days=row.payment_terms_days,
        state=row.state,
        label_fi=fi,
        label_en=en,
        reasons=reasons,
        lines=row.lines,
        net=row.net,
        invoice_id=row.invoice_id,
        origin=row.origin,
        received_at=row.received_at,
    )


@router.get("", response_model=RequestList)
async def fetch(  # noqa: PLR0917 (query parameters)
    request: Request,
    kind: str = Query(pattern=KIND_PATTERN, description="subscription | notice"),
    state: State | None = Query(None, description="Only this state (default: ready and error)"),
    customer_number: str | None = Query(None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$"),
    order_id: str | None = Query(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"),
    up_to: date | None = Query(None, description="Invoice dates up to this date"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Any:
    """Hae laskutuspyynnöt: the requests of a kind (ready and erroneous by default),
    the error notice at the top, each erroneous row marked *virhe* with its reasons."""
    f = RequestFilter(kind=kind, state=state, customer_number=customer_number, order_id=order_id, invoice_date_to=up_to)
    async with uow(request) as u:
        # One snapshot for the rows and the counts: a billing profile fixed between two
        # statements would otherwise list a row as *virhe* under a notice saying 0 errors.
        await u.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        total, rows = await u.requests.page(f, limit=limit, offset=offset)
        counts = await u.requests.notice_counts(kind, up_to)
        reasons = await u.requests.error_reasons(kind, up_to) if counts["errors"] else []
    notice = texts.notice(
        counts["errors"], counts["cancelled_orders"], counts["cancelled_requests"], counts["invoiced_cancelled"]
    )
    notice_out = None
    if notice is not None:
        notice_out = Notice(
            code=notice.code,
            message_fi=notice.fi,
            message_en=notice.en,
            errors=counts["errors"],
            cancelled_orders=counts["cancelled_orders"],
            cancelled_requests=counts["cancelled_requests"],
            invoiced_cancelled=counts["invoiced_cancelled"],
            reasons=[_reason(*r) for r in reasons],
        )
    return RequestList(
        kind=kind,
        notice=notice_out,
        ready=counts["ready"],
        errors=counts["errors"],
        total=total,
        items=[_out(r) for r in rows],
    )


def _reason(code: str, count: int, fi: str | None, en: str | None) -> Reason:
    if code == texts.NO_PROFILE.code:
        fi, en = texts.NO_PROFILE.fi, texts.NO_PROFILE.en
    return Reason(
        code=code, field=str(count), message_fi=f"{count} × {fi or code}", message_en=f"{count} × {en or code}"
    )


@router.get("/{request_id:path}", response_model=RequestOut, responses=NOT_FOUND)
async def get_request(
    request: Request,
    request_id: str = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"),
) -> Any:
    async with uow(request) as u:
        row = await u.requests.get(request_id)
    if row is None:
        t = texts.UNKNOWN_REQUEST
        raise HTTPException(404, detail={"code": t.code, "message_fi": t.fi, "message_en": t.en})
    return _out(row)
