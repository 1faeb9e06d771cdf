"""The console's FastAPI app: server-side sessions, CSRF check on every unsafe request,
sign-in redirect, translated error pages, the routers of each tab."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from console import auth, csrf, i18n, oidc
from console.backend import Backends, ServiceError, require_own_credential
from console.config import ConsoleSettings
from console.headers import ConsoleApp
from console.routes import bank_files, billing, customers, dead_letters, invoices, jobs, sending
from console.session import SessionMiddleware, Sessions, came_with_session, purge_periodically
from console.store import MemoryStore, Store
from console.urls import safe_url
from console.web import render


def make_store(settings: ConsoleSettings) -> Store:
    """PostgreSQL when ``database_url`` is set; otherwise the in-process store, which
    the settings refuse in production mode."""
    if settings.database_url is not None and settings.database_url.get_secret_value().strip():
        from console.store_pg import PostgresStore

        return PostgresStore(
            settings.database_url.get_secret_value(),
            migrate=settings.migrates_on_start,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
    return MemoryStore()


def create_app(
    settings: ConsoleSettings | None = None,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    *,
    clock: Callable[[], float] | None = None,
    store: Store | None = None,
) -> FastAPI:
    """The app; ``transports`` lets a test route a service's calls in-process, ``clock``
    (seconds since the epoch) lets it move time, ``store`` share a store between apps."""
    settings = settings or ConsoleSettings()
    settings.user_hashes()  # a malformed users list stops the start, not the first sign-in
    require_own_credential(settings)  # production: no start without its token and assertion key
    store = store if store is not None else make_store(settings)
    sessions = Sessions(
        store,
        idle_s=settings.session_idle_s,
        max_age_s=settings.session_max_age_s,
        failure_window_s=settings.login_lockout_s,
        **({"clock": clock} if clock is not None else {}),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.open()
        purging = asyncio.create_task(purge_periodically(sessions, settings.session_purge_interval_s))
        app.state.backends = Backends(settings, transports)
        try:
            yield
        finally:
            purging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purging
            await app.state.backends.aclose()
            await store.close()

    app = ConsoleApp(  # FastAPI with the security headers on every response
        title="Billing console",
        lifespan=lifespan,
        dependencies=[Depends(csrf.check)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.lockout = auth.Lockout(
        store,
        max_failures=settings.login_max_failures,
        max_failures_per_address=settings.login_max_failures_per_address,
        lockout_s=settings.login_lockout_s,
        clock=sessions.clock,
    )
    app.add_middleware(
        SessionMiddleware,
        sessions=sessions,
        cookie_name=settings.cookie_name,
        max_age=settings.session_max_age_s,
        always_secure=settings.cookie_secure,
    )
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")

    @app.exception_handler(auth.NotSignedIn)
    async def _not_signed_in(request: Request, exc: auth.NotSignedIn) -> Response:
        return auth.redirect_to_login(request, exc)

    @app.exception_handler(csrf.CsrfRefused)
    async def _csrf(request: Request, exc: csrf.CsrfRefused) -> Response:
        if not came_with_session(request):
            # no live session at all (ended, signed out, revoked): nothing done; to the sign-in page
            return auth.sign_in_again(request)
        return render(request, "error.html", status_code=403, title_key="errors.csrf_title", message_key="errors.csrf")

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Response:
        # a route that does not catch it itself: the message in the page, never a trace
        template = "partials/error.html" if request.headers.get("HX-Request") else "error.html"
        status = 200 if request.headers.get("HX-Request") else 502 if exc.status in (0, 500, 502, 503, 504) else 400
        return render(request, template, status_code=status, title_key="errors.title", message=exc.message)

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse("/billing", status_code=303)

    @app.get("/lang/{code}", include_in_schema=False)
    async def switch_language(request: Request, code: str, next: str = "/billing") -> Response:
        request.session["lang"] = i18n.normalise(code)
        return RedirectResponse(safe_url(next), status_code=303)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(oidc.router(settings))  # before auth: refuses a password when that is off
    app.include_router(auth.router)
    for module in (invoices, billing, sending, bank_files, customers, dead_letters, jobs):
        app.include_router(module.router)
    return app
