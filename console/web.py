"""Rendering: :func:`render` fills every template with the clerk, the language, ``t()``,
the CSRF token, the formatters and the active tab, so a template never has to ask."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from console import csrf, i18n
from console.urls import safe_url

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

TABS = (
    ("invoices", "/invoices", "tabs.invoices"),
    ("billing", "/billing", "tabs.billing"),
    ("sending", "/sending", "tabs.sending"),
    ("bank_files", "/bank-files", "tabs.bank_files"),
    ("dead_letters", "/dead-letters", "tabs.dead_letters"),
)


def lang_of(request: Request) -> str:
    return i18n.normalise(request.session.get("lang"))


def flash(request: Request, key: str, kind: str = "ok", **values: Any) -> None:
    """A message shown once on the next page (after a redirect)."""
    request.session.setdefault("flash", []).append({"key": key, "kind": kind, "values": values})


def context(request: Request, **ctx: Any) -> dict[str, Any]:
    lang = lang_of(request)

    def t(key: str, **values: Any) -> str:
        return i18n.translate(lang, key, **values)

    user = request.session.get("user")
    return {
        "request": request,
        "user": user if isinstance(user, str) else None,
        "lang": lang,
        "languages": i18n.LANGUAGES,
        "t": t,
        "csrf_token": csrf.token(request.session),
        "csrf_field": csrf.FIELD,
        "money": lambda amount, currency="EUR": i18n.format_amount(amount, lang, currency),
        "day": lambda value: i18n.format_date(value, lang),
        "pct": lambda rate: i18n.format_rate(rate, lang),
        "num": lambda value: i18n.format_number(value, lang),
        "moment": lambda value: i18n.format_datetime(value, lang),
        "tabs": TABS,
        "active_tab": ctx.pop("active_tab", None),
        "flashes": request.session.pop("flash", []) if not request.headers.get("HX-Request") else [],
        # where the language switch comes back to: this page, when it is a safe path
        "here": safe_url(request.url.path + (("?" + request.url.query) if request.url.query else "")),
        **ctx,
    }


def render(request: Request, template: str, *, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    """The page or partial ``template`` with the common context plus ``ctx``."""
    return TEMPLATES.TemplateResponse(request, template, context(request, **ctx), status_code=status_code)
