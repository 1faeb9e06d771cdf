"""*Virheelliset viestit / Dead letters* (ops): per service, what it could not use and
why, one record's detail, and replay once the cause is fixed (the service records the
signed-in clerk as the one who replayed)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from console import paging
from console.auth import User
from console.backend import ServiceError, call
from console.web import flash, render

router = APIRouter()

Service = Literal["customers", "invoicing", "reminders", "dispatch"]
SERVICES: tuple[Service, ...] = ("customers", "invoicing", "reminders", "dispatch")
LIST_LIMIT = 200
"""Dead letters on one page; the pager leads to the rest."""


@router.get("/dead-letters")
async def page(
    request: Request, user: User, service: Service = "customers", replayed: bool = False, page: paging.Page = 1
) -> Response:
    params = {"replayed": replayed, "limit": LIST_LIMIT, "offset": paging.offset_of(page, LIST_LIMIT)}
    try:
        found = await call(request, service, "GET", "/dead-letters", params=params)
        error = None
    except ServiceError as exc:
        found, error = {"total": 0, "items": []}, exc.message
    pager = paging.by_offset(
        "/dead-letters",
        {"service": service, "replayed": "true" if replayed else None},
        page=page,
        limit=LIST_LIMIT,
        shown=len(found["items"]),
        total=int(found["total"]),
    )
    return render(
        request,
        "dead_letters/index.html",
        active_tab="dead_letters",
        service=service,
        services=SERVICES,
        replayed=replayed,
        found=found,
        error=error,
        pager=pager,
    )


@router.get("/dead-letters/{service}/{dead_letter_id}")
async def show(
    request: Request, user: User, service: Service, dead_letter_id: Annotated[int, Path(ge=1, le=2**62)]
) -> Response:
    item = await call(request, service, "GET", f"/dead-letters/{dead_letter_id}")
    return render(request, "dead_letters/show.html", active_tab="dead_letters", service=service, item=item)


@router.post("/dead-letters/{service}/replay")
async def replay(
    request: Request,
    user: User,
    service: Service,
    ids: Annotated[list[int] | None, Form(max_length=10_000)] = None,
) -> Response:
    if not ids:
        flash(request, "dead_letters.nothing_selected", "error")
        return RedirectResponse(f"/dead-letters?service={service}", status_code=303)
    try:
        out = await call(request, service, "POST", "/dead-letters/replay", json={"ids": ids})
    except ServiceError as exc:
        flash(request, "errors.service", "error", message=exc.message)
    else:
        flash(request, "dead_letters.replayed", replayed=out["replayed"], skipped=out["skipped"])
    return RedirectResponse(f"/dead-letters?service={service}", status_code=303)
