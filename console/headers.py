"""Protective headers on every response of the console: pages, htmx fragments,
redirects, error pages (also the bare 500 of Starlette's outermost error handler),
static files.

A pure ASGI middleware (it only adds headers to ``http.response.start``; the body
streams through untouched). :class:`ConsoleApp` puts it outside everything else, so no
response can leave without it.

- ``Content-Security-Policy``: only the console's own scripts, styles and images; no
  inline script or style, no eval, no plugins, no ``<base>``, forms post only here, and
  no other site may frame the console (clickjacking of the sign-in form or an action).
- ``X-Frame-Options: DENY``: the same for browsers that predate ``frame-ancestors``.
- ``X-Content-Type-Options: nosniff``: a response is only ever what its type says.
- ``Referrer-Policy: same-origin``: a link out of the console does not carry its URLs
  (customer numbers, searches) to another site.
- ``Cross-Origin-Opener-Policy: same-origin``: a page of another site that opened the
  console gets no handle on its window.
- ``Cache-Control: no-store`` on everything but ``/static``: a signed-in page (names,
  amounts) is never kept by a browser or a shared cache; static files may be cached a
  short while.
- ``Strict-Transport-Security`` when the request came over https (uvicorn sets the
  scheme from ``X-Forwarded-Proto`` of a trusted proxy): the browser then never tries
  plain http for the console again.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

COMMON = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
NO_STORE = "no-store"
STATIC_CACHE = "public, max-age=300"
"""Static files (CSS, the scripts): five minutes, so a deploy's new files arrive soon."""
HSTS = "max-age=31536000"
STATIC_PREFIX = "/static/"


def headers_for(scope: Scope) -> dict[str, str]:
    """The headers a response to ``scope`` gets (they replace any the app set)."""
    headers = dict(COMMON)
    path = scope.get("path", "")
    headers["Cache-Control"] = STATIC_CACHE if path.startswith(STATIC_PREFIX) else NO_STORE
    if scope.get("scheme") == "https":
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeadersMiddleware:
    """Adds :func:`headers_for` to every HTTP response of ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ConsoleApp(FastAPI):
    """FastAPI with :class:`SecurityHeadersMiddleware` outside even Starlette's own
    ``ServerErrorMiddleware`` (``add_middleware`` would put it inside, and an unhandled
    error's 500 would go out without the headers)."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeadersMiddleware(super().build_middleware_stack())
