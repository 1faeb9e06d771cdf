"""CSRF protection: one random token per session, required on every state-changing
request, either as the form field ``csrf_token`` (every ``<form>`` has it as a hidden
input) or the header ``X-CSRF-Token`` (htmx sends it from ``hx-headers`` on ``<body>``).

SameSite=Lax on the session cookie already stops most cross-site posts; the token also
covers old browsers and same-site attackers (another app on a sibling subdomain).
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import Request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


class CsrfRefused(Exception):
    """A state-changing request without the session's CSRF token (answered 403)."""


def token(session: dict[str, Any]) -> str:
    """The session's token, made on first use."""
    value = session.get("csrf")
    if not isinstance(value, str) or not value:
        value = secrets.token_urlsafe(32)
        session["csrf"] = value
    return value


def valid(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; no token in the session or none given is never valid."""
    if not expected or not given:
        return False
    return secrets.compare_digest(expected.encode(), given.encode())


async def check(request: Request) -> None:
    """App-wide dependency: refuse an unsafe method without the right token."""
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(HEADER)
    if not given:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            field = form.get(FIELD)
            given = field if isinstance(field, str) else None
    if not valid(request.session.get("csrf"), given):
        raise CsrfRefused
