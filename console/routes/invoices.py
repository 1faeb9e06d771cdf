"""The *Laskut / Invoices* tab (seed steps 1-6): payment reminders #1 and #2, the
collection hand-over, and the invoices themselves (search, open one).

- ``GET  /invoices``: the tab (reminder buttons, collection, search form)
- ``GET  /invoices/reminders/candidates?level=1``: *Hae maksumuistutettavat #1*
- ``POST /invoices/reminders/create``: *Luo maksumuistutus #1* (a job: its progress,
  then ``/invoices/reminders/jobs/{id}`` with the count created and skipped, why)
- ``GET  /invoices/collection``, ``POST /invoices/collection/handover``
- ``GET  /invoices/search``: the search results; ``GET /invoices/{id}``: one invoice

Every call goes through :func:`console.backend.call`, so the services see the clerk as
the actor. The rules of what is shown are in :mod:`console.routes.invoices_view`.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from console import paging
from console.auth import User
from console.backend import ServiceError, call
from console.routes import invoices_view as view
from console.routes.jobs import progress_context
from console.routes.sending_view import CHANNELS
from console.web import render

router = APIRouter()

SEARCH_LIMIT = 50
_ALL_STATES = ("waiting", "queued", "sending", "staged", "retry", "delivered", "failed")
Level = Annotated[str | None, Query(max_length=2)]
After = Annotated[str, Query(max_length=40, pattern=r"^[!-~]*$", description="The page after this invoice id")]
Start = Annotated[int, Query(ge=0, le=10_000_000, description="Rows on the pages before (for 'Näytetään')")]


def _error(request: Request, key: str) -> Response:
    return render(request, "partials/error.html", message_key=key)


async def _form(request: Request) -> tuple[dict[str, str], dict[str, list[str]]]:
    form = await request.form()
    single = {k: v for k, v in form.items() if isinstance(v, str)}
    lists = {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}
    return single, lists


async def _search(request: Request, query: dict[str, str]) -> dict[str, Any]:
    params, wrong = view.search_params(query)
    offset = view.page_offset(query.get("page"), SEARCH_LIMIT)
    found = await call(
        request, "invoicing", "GET", "/invoices", params={**params, "limit": SEARCH_LIMIT, "offset": offset}
    )
    page = offset // SEARCH_LIMIT + 1
    return {
        "results": found,
        "wrong": wrong,
        "query": query,
        "page": page,
        "pages": max(1, -(-int(found["total"]) // SEARCH_LIMIT)),
    }


async def _rate_gaps(request: Request) -> list[dict[str, Any]]:
    """Half-years without a reference rate up to the reminders service's today, as the
    service words them (a reminder made today charges no interest for their days). A
    service that does not answer leaves the warning out; fetching the list then says so."""
    try:
        answer = await call(request, "reminders", "GET", "/reminders/reference-rates")
    except ServiceError:
        return []
    return list(answer.get("missing") or [])


@router.get("/invoices")
async def page(request: Request, user: User) -> Response:
    """The tab. With search terms in the query (a search without JavaScript, or a
    bookmarked one) the results are in the page."""
    query = {
        k: v
        for k, v in request.query_params.items()
        if k in {*view.SEARCH_CHOICES, "number", "customer_number", "page"}
    }
    searched = await _search(request, query) if query else None
    rate_gaps = await _rate_gaps(request)
    return render(
        request,
        "invoices/page.html",
        active_tab="invoices",
        levels=view.LEVELS,
        search=searched,
        choices=view.SEARCH_CHOICES,
        query=query,
        rate_gaps=rate_gaps,
    )


@router.get("/invoices/reminders/candidates")
async def candidates(
    request: Request, user: User, level: Level = None, after: After = "", start: Start = 0
) -> Response:
    """*Hae maksumuistutettavat #N*: who would get reminder #N today, with what it
    would charge, and the near ones left out with why; one page (``after`` the last
    invoice of the page before), with the pager to the rest."""
    try:
        lvl = view.parse_level(level)
    except view.SelectionError as exc:
        return _error(request, exc.key)
    params: dict[str, Any] = {"level": lvl, "limit": view.LIST_LIMIT, "after": after}
    listing = await call(request, "reminders", "GET", "/reminders/candidates", params=params)
    split = view.split_listing(listing)
    pager = paging.by_cursor(
        "/invoices/reminders/candidates",
        {"level": lvl},
        start=start if after else 0,
        shown=len(split.candidates),
        total=int(split.totals.get("candidates", 0)),
        next_after=listing.get("next_after"),
        target="#reminder-list",
    )
    return render(
        request, "invoices/_candidates.html", level=lvl, listing=listing, view=split, pager=pager, paged=bool(after)
    )


@router.post("/invoices/reminders/create")
async def create(request: Request, user: User) -> Response:
    """*Luo maksumuistutus #N* for the ticked invoices (or all, after *Valitse kaikki*):
    the job's progress, which then loads the confirmation."""
    form, lists = await _form(request)
    try:
        level = view.parse_level(form.get("level"))
        body = view.selection_body(
            form.get("select_all") == "1", lists.get("invoice_id", []), beyond_shown=form.get("more") == "1"
        )
    except view.SelectionError as exc:
        return _error(request, exc.key)
    job = await call(request, "reminders", "POST", "/reminders/create", json={"level": level, **body})
    then = f"/invoices/reminders/jobs/{job['id']}?level={level}"
    return render(request, "partials/job_progress.html", **progress_context("reminders", job, then))


@router.get("/invoices/reminders/jobs/{job_id}")
async def created(request: Request, user: User, job_id: uuid.UUID, level: Level = None) -> Response:
    """The confirmation: how many reminders #N were created, and skipped with why."""
    try:
        lvl = view.parse_level(level)
    except view.SelectionError as exc:
        return _error(request, exc.key)
    summary = await call(request, "reminders", "GET", f"/reminders/jobs/{job_id}/summary")
    return render(request, "invoices/_created.html", outcome=view.reminder_outcome(summary, lvl), job=summary["job"])


@router.get("/invoices/collection")
async def collection(request: Request, user: User, after: After = "", start: Start = 0) -> Response:
    """Still open after the last reminder: each with its whole claim (one page, with
    the pager to the rest)."""
    params = {"limit": view.LIST_LIMIT, "after": after}
    listing = await call(request, "reminders", "GET", "/collection/candidates", params=params)
    split = view.split_listing(listing)
    pager = paging.by_cursor(
        "/invoices/collection",
        {},
        start=start if after else 0,
        shown=len(split.candidates),
        total=int(split.totals.get("candidates", 0)),
        next_after=listing.get("next_after"),
        target="#collection-list",
    )
    return render(request, "invoices/_collection.html", listing=listing, view=split, pager=pager, paged=bool(after))


@router.post("/invoices/collection/handover")
async def handover(request: Request, user: User) -> Response:
    form, lists = await _form(request)
    try:
        body = view.selection_body(
            form.get("select_all") == "1", lists.get("invoice_id", []), beyond_shown=form.get("more") == "1"
        )
    except view.SelectionError as exc:
        return _error(request, exc.key)
    result = await call(request, "reminders", "POST", "/collection/handover", json=body)
    return render(request, "invoices/_handover.html", result=result)


@router.get("/invoices/search")
async def search(request: Request, user: User) -> Response:
    """The search results (htmx replaces the list under the form)."""
    query = {k: v for k, v in request.query_params.items() if len(v) <= 64}
    return render(request, "invoices/_search.html", search=await _search(request, query))


@router.post("/invoices/{invoice_id}/dispute")
async def dispute(request: Request, user: User, invoice_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    """Mark the invoice disputed (with why) or clear it: no reminders, no hand-over
    while disputed. The reminders service records the clerk as the actor."""
    form, _ = await _form(request)
    disputed = form.get("disputed") == "1"
    reason = " ".join((form.get("reason") or "").split())[:500] or None
    body = {"disputed": disputed, "reason": reason if disputed else None}
    item = await call(request, "reminders", "PUT", f"/invoices/{invoice_id}/dispute", json=body)
    return render(request, "invoices/_dispute.html", item=item)


async def _optional(request: Request, service: str, path: str, **kwargs: Any) -> Any:
    """A lookup the invoice page can do without (the service does not know this
    invoice, or is away): None and a note, never a broken page."""
    try:
        return await call(request, service, "GET", path, **kwargs)
    except ServiceError as exc:
        return None if exc.status == 404 else exc


async def _deliveries(request: Request, invoice: dict[str, Any]) -> tuple[list[view.Delivery], ServiceError | None]:
    """From the dispatch service: every document about this invoice number (the
    invoice, its reminders) on every channel, each with its attempts."""
    if invoice.get("number") is None:
        return [], None
    params = {
        "number": str(invoice["number"]),
        "customer_number": invoice["customer_number"],
        "state": list(_ALL_STATES),
        "limit": 50,
    }
    pages = await asyncio.gather(
        *(_optional(request, "dispatch", f"/sending/{c}/documents", params=params) for c in CHANNELS)
    )
    failed = next((p for p in pages if isinstance(p, ServiceError)), None)
    if failed is not None:
        return [], failed
    ids = [d["id"] for p in pages if p for d in p["items"]]
    details = await asyncio.gather(*(_optional(request, "dispatch", f"/documents/{i}") for i in ids))
    return view.deliveries([d for d in details if isinstance(d, dict)]), None


@router.get("/invoices/{invoice_id}")
async def invoice_page(request: Request, user: User, invoice_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    """One invoice: lines, VAT breakdown, references as printed, payments, corrective
    invoices (invoicing); its reminders (reminders); sent by which channel and when
    (dispatch)."""
    invoice = await call(request, "invoicing", "GET", f"/invoices/{invoice_id}")
    item, (deliveries, dispatch_error) = await asyncio.gather(
        _optional(request, "reminders", f"/invoices/{invoice_id}"), _deliveries(request, invoice)
    )
    return render(
        request,
        "invoices/detail.html",
        active_tab="invoices",
        invoice=invoice,
        item=item if isinstance(item, dict) else None,
        reminders_error=item if isinstance(item, ServiceError) else None,
        deliveries=deliveries,
        dispatch_error=dispatch_error,
    )
