"""The *Laskut / Invoices* tab (a placeholder in the skeleton; built on the
`console-tabs` branch)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.auth import User
from console.web import render

router = APIRouter()


@router.get("/invoices")
async def page(request: Request, user: User) -> Response:
    return render(request, "placeholder.html", active_tab="invoices")
