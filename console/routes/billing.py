"""The *Laskutus / Billing* tab (seed steps 7-17): fetch billing requests per kind, the
red error notice, rows marked *virhe* with reasons and a link to the customer card,
select all / some, the preview switch, the billing run with live progress, the summary
and its PDF; drafts (edit a line, delete, confirm) and corrective invoices.

Every call goes to the invoicing service's API (``/billing-requests``, ``/billing-runs``,
``/invoices``) as the signed-in clerk.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, get_args
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from console import paging
from console.auth import User
from console.backend import ServiceError, call
from console.routes.jobs import progress_context
from console.urls import safe_url, same_origin_path
from console.web import flash, lang_of, render

router = APIRouter()

Kind = Literal["subscription", "notice"]
KINDS: tuple[Kind, ...] = ("subscription", "notice")
State = Literal[
    "refused", "error", "cancelled", "cancelled-after-invoicing", "ready", "draft", "invoiced", "non-chargeable"
]
Reason = Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
PageNo = Annotated[int, Query(ge=1, le=100_000)]
PAGE_SIZE = 500
"""Rows shown at once. The service lists the ones to act on first (refused, *virhe*,
cancelled), so the errors are on the first page; the notice's reasons and the paging
lead to the rest. *Valitse kaikki* runs over every ready request of the kind, also
those on other pages."""
InvoiceId = Annotated[int, Path(ge=1, le=2**62)]
DRAFTS_LIMIT = 500
"""Drafts on one page; the pager leads to the rest, *Valitse kaikki* confirms them all."""


def _query(kind: str, state: str | None, reason: str | None, page: int) -> dict[str, Any]:
    params: dict[str, Any] = {"kind": kind}
    params.update({k: v for k, v in (("state", state), ("reason", reason)) if v})
    if page > 1:
        params["page"] = page
    return params


def list_url(kind: str, state: str | None = None, reason: str | None = None, page: int = 1) -> str:
    """The list as a page (after a card is saved, the clerk comes back here)."""
    return safe_url(f"/billing?{urlencode({**_query(kind, state, reason, page), 'fetch': 1})}")


def partial_url(kind: str, state: str | None = None, reason: str | None = None, page: int = 1) -> str:
    """The same list as the htmx partial."""
    return safe_url(f"/billing/requests?{urlencode(_query(kind, state, reason, page))}", "/billing/requests")


async def fetch_requests(
    request: Request, kind: str, state: str | None = None, reason: str | None = None, page: int = 1
) -> dict[str, Any]:
    """The list and the notice for ``kind`` (one page of it), or ``{"error": message}``."""
    params: dict[str, Any] = {"kind": kind, "limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE}
    params.update({k: v for k, v in (("state", state), ("reason", reason)) if v})
    try:
        found: dict[str, Any] = await call(request, "invoicing", "GET", "/billing-requests", params=params)
    except ServiceError as exc:
        return {"error": exc.message}
    total = int(found["total"])
    pages = max(1, -(-total // PAGE_SIZE))
    found["list_url"] = list_url(kind, state, reason, page)
    found["card_back"] = quote(found["list_url"], safe="")
    found["filter"] = {"state": state, "reason": reason}
    found["paging"] = {
        "page": page,
        "pages": pages,
        "first": (page - 1) * PAGE_SIZE + 1 if found["items"] else 0,
        "last": (page - 1) * PAGE_SIZE + len(found["items"]),
        "total": total,
        "links": {
            name: (list_url(kind, state, reason, n), partial_url(kind, state, reason, n))
            for name, n in (("first", 1), ("prev", page - 1), ("next", page + 1), ("last", pages))
            if 1 <= n <= pages and n != page
        },
    }
    return found


def notice_links(kind: str) -> dict[str, tuple[str, str]]:
    """Each count of the notice leads to its rows: (page url, partial url) by state."""
    return {s: (list_url(kind, s), partial_url(kind, s)) for s in get_args(State)}


@router.get("/billing")
async def page(  # noqa: PLR0917 (query parameters)
    request: Request,
    user: User,
    kind: Kind = "subscription",
    fetch: bool = False,
    state: State | None = None,
    reason: Reason = None,
    page: PageNo = 1,
) -> Response:
    listing = await fetch_requests(request, kind, state, reason, page) if fetch else None
    return render(
        request,
        "billing/index.html",
        active_tab="billing",
        kind=kind,
        kinds=KINDS,
        listing=listing,
        links=notice_links(kind),
        list_url=list_url,
        partial_url=partial_url,
    )


@router.get("/billing/requests")
async def requests_partial(  # noqa: PLR0917 (query parameters)
    request: Request,
    user: User,
    kind: Kind = "subscription",
    state: State | None = None,
    reason: Reason = None,
    page: PageNo = 1,
) -> Response:
    """*Hae laskutuspyynnöt*: the list under the buttons (htmx)."""
    listing = await fetch_requests(request, kind, state, reason, page)
    return render(
        request,
        "billing/_requests.html",
        kind=kind,
        listing=listing,
        links=notice_links(kind),
        list_url=list_url,
        partial_url=partial_url,
    )


@router.post("/billing/refused/replay")
async def replay_refused(
    request: Request,
    user: User,
    kind: Annotated[Kind, Form()],
    dead_letter_id: Annotated[int, Form(ge=1, le=2**62)],
) -> Response:
    """Send a refused request again once its cause is fixed (the service records the
    clerk as the one who replayed): if it is accepted now, it is listed to be invoiced;
    if not, it is listed as refused again with the reason."""
    try:
        out = await call(request, "invoicing", "POST", "/dead-letters/replay", json={"ids": [dead_letter_id]})
    except ServiceError as exc:
        flash(request, "errors.service", "error", message=exc.message)
    else:
        if out["replayed"]:
            flash(request, "billing.refused.replayed", id=dead_letter_id)
        else:
            flash(request, "billing.refused.replayed_before", "error", id=dead_letter_id)
    return RedirectResponse(list_url(kind), status_code=303)


@router.post("/billing/runs")
async def start_run(  # noqa: PLR0917 (form fields)
    request: Request,
    user: User,
    kind: Annotated[Kind, Form()],
    request_ids: Annotated[list[str] | None, Form(max_length=100_000)] = None,
    select_all: Annotated[bool, Form()] = False,
    preview: Annotated[bool, Form()] = False,
    draft: Annotated[bool, Form()] = False,
) -> Response:
    """*Suorita laskutusajo*: start the run and answer with its progress bar, which
    turns into the summary when the run is done."""
    if not select_all and not request_ids:
        return render(request, "partials/error.html", message_key="billing.nothing_selected")
    mode = "preview" if preview else "draft" if draft else "confirm"
    body: dict[str, Any] = {"kind": kind, "mode": mode}
    if not select_all:
        body["request_ids"] = request_ids
    try:
        job = await call(request, "invoicing", "POST", "/billing-runs", json=body)
    except ServiceError as exc:
        return render(request, "partials/error.html", message=exc.message)
    then = f"/billing/runs/{job['id']}/summary"
    return render(request, "partials/job_progress.html", **progress_context("invoicing", job, then))


@router.get("/billing/runs/{run_id}/summary")
async def run_summary(request: Request, user: User, run_id: uuid.UUID) -> Response:
    """The run's summary: counts, totals per VAT rate and channel, what was left out and
    why, the invoices (or for a preview, the invoices it would create), and the PDF."""
    try:
        run = await call(request, "invoicing", "GET", f"/billing-runs/{run_id}")
        invoices = await call(request, "invoicing", "GET", f"/billing-runs/{run_id}/invoices", params={"limit": 200})
    except ServiceError as exc:
        return render(request, "partials/error.html", message=exc.message)
    rows = [_summary_row(item) for item in invoices.get("items", [])]
    return render(
        request,
        "billing/_summary.html",
        run=run,
        summary=run.get("summary") or {},
        rows=rows,
        rows_total=invoices.get("total", len(rows)),
    )


def _summary_row(item: dict[str, Any]) -> dict[str, Any]:
    """One invoice of a run: the service gives confirmed, draft and previewed invoices
    in one shape (an invoice's; a preview's ``status`` is ``preview``, with no id or
    number)."""
    return {
        "id": item.get("id"),
        "status": item.get("status"),
        "number": item.get("number"),
        "customer_number": item.get("customer_number"),
        "customer_name": item.get("customer_name"),
        "channel": item.get("channel"),
        "due_date": item.get("due_date"),
        "net": item.get("net"),
        "vat": item.get("vat"),
        "gross": item.get("gross"),
        "lines": item.get("lines") or [],
    }


@router.get("/billing/runs/{run_id}/summary.pdf")
async def run_summary_pdf(request: Request, user: User, run_id: uuid.UUID) -> Response:
    """*Lataa PDF*: the service's summary PDF in the clerk's language."""
    upstream = await call(
        request,
        "invoicing",
        "GET",
        f"/billing-runs/{run_id}/summary.pdf",
        params={"language": lang_of(request)},
        raw=True,
    )
    disposition = upstream.headers.get("content-disposition", f'attachment; filename="summary-{run_id}.pdf"')
    return Response(upstream.content, media_type="application/pdf", headers={"Content-Disposition": disposition})


# --- drafts ---------------------------------------------------------------------------


@router.get("/billing/drafts")
async def drafts(request: Request, user: User, kind: Kind = "subscription", page: paging.Page = 1) -> Response:
    params = {"status": "draft", "kind": kind, "limit": DRAFTS_LIMIT, "offset": paging.offset_of(page, DRAFTS_LIMIT)}
    try:
        found = await call(request, "invoicing", "GET", "/invoices", params=params)
    except ServiceError as exc:
        found = {"error": exc.message, "items": [], "total": 0}
    pager = paging.by_offset(
        "/billing/drafts",
        {"kind": kind},
        page=page,
        limit=DRAFTS_LIMIT,
        shown=len(found["items"]),
        total=int(found["total"]),
    )
    return render(
        request, "billing/drafts.html", active_tab="billing", kind=kind, kinds=KINDS, found=found, pager=pager
    )


@router.get("/billing/drafts/{invoice_id}")
async def draft(request: Request, user: User, invoice_id: InvoiceId) -> Response:
    invoice = await call(request, "invoicing", "GET", f"/invoices/{invoice_id}")
    return render(request, "billing/draft.html", active_tab="billing", invoice=invoice)


@router.post("/billing/drafts/{invoice_id}/lines/{line_no}")
async def edit_line(  # noqa: PLR0917 (form fields)
    request: Request,
    user: User,
    invoice_id: InvoiceId,
    line_no: Annotated[int, Path(ge=1, le=100_000)],
    quantity: Annotated[str, Form(max_length=20)] = "",
    chargeable: Annotated[bool, Form()] = False,
    has_chargeable: Annotated[bool, Form()] = False,
) -> Response:
    """Change a draft line's quantity and whether it is charged (a corrective draft's
    lines have only the new quantity: its form has no ``has_chargeable``)."""
    body: dict[str, Any] = {"chargeable": chargeable} if has_chargeable else {}
    if quantity.strip():
        try:
            body["quantity"] = str(Decimal(quantity.strip().replace(",", ".").replace("\u00a0", "")))
        except InvalidOperation:
            flash(request, "billing.bad_quantity", "error", value=quantity[:20])
            return RedirectResponse(f"/billing/drafts/{invoice_id}", status_code=303)
    if not body:
        flash(request, "billing.nothing_to_change", "error")
        return RedirectResponse(f"/billing/drafts/{invoice_id}", status_code=303)
    try:
        await call(request, "invoicing", "PATCH", f"/invoices/{invoice_id}/lines/{line_no}", json=body)
    except ServiceError as exc:
        flash(request, "errors.service", "error", message=exc.message)
    else:
        flash(request, "billing.line_saved", line=line_no)
    return RedirectResponse(f"/billing/drafts/{invoice_id}", status_code=303)


@router.post("/billing/drafts/{invoice_id}/lines/{line_no}/remove")
async def remove_line(
    request: Request, user: User, invoice_id: InvoiceId, line_no: Annotated[int, Path(ge=1, le=100_000)]
) -> Response:
    """Remove a line needing no correction from a corrective draft (seed 004)."""
    try:
        await call(request, "invoicing", "DELETE", f"/invoices/{invoice_id}/lines/{line_no}")
    except ServiceError as exc:
        flash(request, "errors.service", "error", message=exc.message)
    else:
        flash(request, "billing.line_removed", line=line_no)
    return RedirectResponse(f"/billing/drafts/{invoice_id}", status_code=303)


@router.post("/billing/drafts/{invoice_id}/delete")
async def delete_draft(request: Request, user: User, invoice_id: InvoiceId) -> Response:
    try:
        out = await call(request, "invoicing", "DELETE", f"/invoices/{invoice_id}")
    except ServiceError as exc:
        flash(request, "errors.service", "error", message=exc.message)
        return RedirectResponse(f"/billing/drafts/{invoice_id}", status_code=303)
    flash(request, "billing.draft_deleted", id=invoice_id, released=out["requests_released"])
    return RedirectResponse("/billing/drafts", status_code=303)


@router.post("/billing/drafts/{invoice_id}/confirm")
async def confirm_draft(request: Request, user: User, invoice_id: InvoiceId) -> Response:
    try:
        out = await call(request, "invoicing", "POST", f"/invoices/{invoice_id}/confirm")
    except ServiceError as exc:
        flash(request, "errors.service", "error", message=exc.message)
        return RedirectResponse(f"/billing/drafts/{invoice_id}", status_code=303)
    flash(request, "billing.draft_confirmed", number=out.get("number"))
    _flash_dropped(request, [out["dropped"]] if out.get("dropped") else [])
    kind = quote(str(out.get("kind", "subscription")), safe="")
    return RedirectResponse(safe_url(f"/billing/drafts?kind={kind}", "/billing/drafts"), status_code=303)


@router.post("/billing/drafts/confirm")
async def confirm_drafts(
    request: Request,
    user: User,
    kind: Annotated[Kind, Form()],
    ids: Annotated[list[int] | None, Form(max_length=10_000)] = None,
    select_all: Annotated[bool, Form()] = False,
) -> Response:
    """Confirm the selected drafts, or every draft of the kind."""
    if not select_all and not ids:
        flash(request, "billing.nothing_selected", "error")
        return RedirectResponse(f"/billing/drafts?kind={kind}", status_code=303)
    body: dict[str, Any] = {"all_of_kind": kind} if select_all else {"ids": ids}
    try:
        out = await call(request, "invoicing", "POST", "/invoices/confirm", json=body)
    except ServiceError as exc:
        flash(request, "errors.service", "error", message=exc.message)
    else:
        flash(
            request,
            "billing.drafts_confirmed",
            confirmed=out["confirmed"],
            non_chargeable=out["non_chargeable"],
            refused=len(out["refused"]),
        )
        _flash_dropped(request, out.get("dropped", []))
    return RedirectResponse(f"/billing/drafts?kind={kind}", status_code=303)


def _flash_dropped(request: Request, dropped: list[dict[str, Any]]) -> None:
    """Say which drafts lost lines of cancelled orders at confirmation (or went whole)."""
    for d in dropped[:20]:
        key = "billing.cancelled_draft" if d["whole_draft"] else "billing.cancelled_dropped"
        flash(request, key, "error", id=d["invoice_id"], lines=len(d["line_nos"]), orders=", ".join(d["order_ids"]))


@router.post("/billing/invoices/{invoice_id}/corrective")
async def corrective(
    request: Request,
    user: User,
    invoice_id: InvoiceId,
    return_mode: Annotated[Literal["ready", "non-chargeable"], Form()] = "ready",
) -> Response:
    """A corrective draft of a confirmed invoice; the clerk then sets the new
    quantities on its lines and confirms it like any draft."""
    try:
        out = await call(
            request, "invoicing", "POST", f"/invoices/{invoice_id}/corrective", json={"return_mode": return_mode}
        )
    except ServiceError as exc:
        flash(request, "errors.service", "error", message=exc.message)
        back = same_origin_path(request.headers.get("referer"), str(request.base_url))
        return RedirectResponse(safe_url(back, "/billing/drafts"), status_code=303)
    flash(request, "billing.corrective_created", original=invoice_id)
    return RedirectResponse(f"/billing/drafts/{out['id']}", status_code=303)


@router.get("/billing/corrective")
async def corrective_lookup(
    request: Request, user: User, number: Annotated[int, Query(ge=1, le=9_999_999_999)]
) -> Response:
    """Find a confirmed invoice by its number (to start a corrective from the drafts page)."""
    found = await call(
        request, "invoicing", "GET", "/invoices", params={"number": number, "status": "confirmed", "limit": 1}
    )
    if not found["items"]:
        flash(request, "billing.invoice_not_found", "error", number=number)
        return RedirectResponse("/billing/drafts", status_code=303)
    return render(request, "billing/corrective.html", active_tab="billing", invoice=found["items"][0])
