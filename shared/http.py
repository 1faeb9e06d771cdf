"""HTTP pieces every service's API has: health and readiness, and one shape for errors
(who may call is :mod:`shared.auth`).

Errors (install with :func:`install_error_handlers`):

- 422: FastAPI's own ``HTTPValidationError`` shape, the one every route's OpenAPI
  document declares: ``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}``, the
  field path in ``loc``, plus ``msg_fi``: the message in Finnish (by error type; the
  English ``msg`` is pydantic's). Input values are not echoed (they may be personal data).
  A route's own 422 (e.g. an empty patch) uses the same shape: raise
  :func:`unprocessable`.
- 401 (no valid credential), 403 (a scope missing), 404 and other errors a route
  raises: ``{"detail": {"code", "message_fi", "message_en"}}`` (:class:`ErrorResponse`; declare it with ``responses=``).
- Text that cannot be stored or sent (NUL, which PostgreSQL refuses in text with
  SQLSTATE 22021; other C0 control characters but tab, LF and CR; lone surrogates,
  which cannot be encoded as UTF-8) answers 422 ``invalid_character`` for every
  path, query and header parameter and every string in a JSON body, before any route
  code runs: :func:`refuse_unstorable_text`, a dependency of every service route.
- 500: an unhandled exception answers a generic body and is logged with its type, its
  SQLSTATE and the stack's last code lines only: never its message, which for a database
  error holds the statement's parameters (names, addresses, e-mails).
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db.errors import sqlstate

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message_fi: str
    message_en: str


class ErrorResponse(BaseModel):
    """The body of a 4xx/5xx error other than 422."""

    detail: ErrorDetail


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing, unknown, expired or revoked credential"},
    403: {
        "model": ErrorResponse,
        "description": "The credential lacks the route's scope (`forbidden`), or `X-Actor` names someone else",
    },
}
"""What every guarded route may answer (see :mod:`shared.auth.http`)."""
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "Not found"}}

_INTERNAL = {
    "detail": {
        "code": "internal_error",
        "message_fi": "Palvelussa tapahtui virhe. Yritä myöhemmin uudelleen.",
        "message_en": "The service failed. Please try again later.",
    }
}


def _clean(value: object) -> str | int:
    """A ``loc`` or ``msg`` part that encodes as UTF-8 (a lone surrogate would not) and
    holds no control character (an unknown key may be any text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return UNSTORABLE.sub("\ufffd", str(value))[:200]


_FINNISH = {
    "missing": "Pakollinen tieto puuttuu.",
    "extra_forbidden": "Tuntematon kenttä.",
    "string_too_long": "Teksti on liian pitkä.",
    "string_too_short": "Teksti on liian lyhyt.",
    "string_pattern_mismatch": "Arvo ei ole sallitussa muodossa.",
    "string_type": "Arvon pitää olla teksti.",
    "int_parsing": "Arvon pitää olla kokonaisluku.",
    "int_type": "Arvon pitää olla kokonaisluku.",
    "decimal_parsing": "Arvon pitää olla luku.",
    "decimal_type": "Arvon pitää olla luku.",
    "decimal_max_places": "Liian monta desimaalia.",
    "decimal_max_digits": "Liian monta numeroa.",
    "bool_type": "Arvon pitää olla true tai false.",
    "bool_parsing": "Arvon pitää olla true tai false.",
    "greater_than": "Arvo on liian pieni.",
    "greater_than_equal": "Arvo on liian pieni.",
    "less_than": "Arvo on liian suuri.",
    "less_than_equal": "Arvo on liian suuri.",
    "too_long": "Liian monta alkiota.",
    "too_short": "Liian vähän alkioita.",
    "literal_error": "Arvo ei ole mikään sallituista.",
    "enum": "Arvo ei ole mikään sallituista.",
    "date_from_datetime_parsing": "Arvon pitää olla päivämäärä (VVVV-KK-PP).",
    "date_parsing": "Arvon pitää olla päivämäärä (VVVV-KK-PP).",
    "date_type": "Arvon pitää olla päivämäärä (VVVV-KK-PP).",
    "uuid_parsing": "Arvon pitää olla UUID.",
    "json_invalid": "Pyynnön runko ei ole kelvollista JSONia.",
    "model_attributes_type": "Arvon pitää olla olio.",
    "dict_type": "Arvon pitää olla olio.",
    "list_type": "Arvon pitää olla lista.",
    "invalid_character": "Teksti sisältää ohjausmerkin tai muun merkin, jota ei voi tallentaa (esim. NUL).",
}
"""Finnish messages by pydantic error type; any other type: :data:`_FINNISH_DEFAULT`."""
_FINNISH_DEFAULT = "Virheellinen arvo."


def validation_detail(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Errors in the ``HTTPValidationError`` shape: field path, message (and its Finnish
    form), kind; no input."""
    out = []
    for e in errors:
        kind = str(_clean(e.get("type", "value_error")))
        out.append(
            {
                "loc": [_clean(p) for p in e.get("loc", ())],
                "msg": str(_clean(e.get("msg", ""))),
                "msg_fi": str(e.get("msg_fi") or _FINNISH.get(kind, _FINNISH_DEFAULT)),
                "type": kind,
            }
        )
    return out


def unprocessable(loc: Iterable[str | int], msg: str, kind: str, msg_fi: str | None = None) -> RequestValidationError:
    """A route's own 422, in the same shape as the framework's."""
    return RequestValidationError([{"loc": tuple(loc), "msg": msg, "type": kind, "msg_fi": msg_fi}])


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": validation_detail(exc.errors())}, status_code=422)


class SafeServerErrors:
    """ASGI middleware: an unhandled exception answers 500 with a generic body and is
    logged without its message (see the module docstring); it is not re-raised, so
    the server does not log it again with the message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            route = getattr(scope.get("route"), "path", None) or "(no route)"
            log.error(
                "unhandled %s (sqlstate %s) in %s %s; stack:\n%s",
                type(exc).__name__,
                sqlstate(exc),
                scope.get("method"),
                route,
                "".join(traceback.format_tb(exc.__traceback__, limit=-12)).rstrip(),
            )
            if not started:
                await JSONResponse(_INTERNAL, status_code=500)(scope, receive, send)


_PLAIN = {
    404: ("not_found", "Osoitetta ei löydy.", "No such address."),
    405: ("method_not_allowed", "Menetelmä ei ole sallittu tässä osoitteessa.", "Method not allowed here."),
}


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    """The framework's own errors (no route matched, wrong method) in the same shape as a
    route's: ``{"detail": {"code", "message_fi", "message_en"}}``."""
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.detail, dict):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    code, fi, en = _PLAIN.get(exc.status_code, (f"http_{exc.status_code}", str(exc.detail), str(exc.detail)))
    return JSONResponse(
        {"detail": {"code": code, "message_fi": fi, "message_en": en}}, status_code=exc.status_code, headers=exc.headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """422 in the declared shape, other HTTP errors in :class:`ErrorResponse`'s shape,
    and 500 without personal data (call before start)."""
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_middleware(SafeServerErrors)


UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters no text parameter takes: NUL (PostgreSQL text cannot hold it: SQLSTATE
22021), the other C0 controls but tab, LF and CR (nor can XML 1.0, e.g. Finvoice), lone
surrogates (not encodable as UTF-8) and the non-characters U+FFFE/U+FFFF. A field's
own pattern may refuse more."""

_UNSTORABLE_MSG = "Text contains a control character or another character that cannot be stored (e.g. NUL)."


def _unstorable_locs(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    """Where in a parsed JSON value a string (or an object's key) has an unstorable
    character (iterative: a deeply nested body does not exhaust the stack)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, loc)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, str):
            if UNSTORABLE.search(item):
                yield at
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and UNSTORABLE.search(key):
                    yield (*at, key)
                else:
                    stack.append((child, (*at, key)))
        elif isinstance(item, list):
            stack.extend((child, (*at, i)) for i, child in enumerate(item))


async def refuse_unstorable_text(request: Request) -> None:
    """Dependency of every service route: 422 ``invalid_character`` (field path in
    ``loc``, the value not echoed) when a path, query or header parameter or a string
    of the JSON body holds a character of :data:`UNSTORABLE`. Runs before the route's
    own parameters are validated, so no such text reaches a query or a table."""
    locs: list[tuple[str | int, ...]] = []
    locs += [("path", name) for name, value in request.path_params.items() if UNSTORABLE.search(str(value))]
    locs += [("query", name) for name, value in request.query_params.multi_items() if UNSTORABLE.search(value)]
    locs += [("header", name) for name, value in request.headers.items() if UNSTORABLE.search(value)]
    if request.method in ("POST", "PUT", "PATCH") and "json" in request.headers.get("content-type", ""):
        try:  # the route's own parse when it has a body (Request caches it): no second one
            body = await request.json() if await request.body() else None
        except (ValueError, RecursionError):
            body = None  # not JSON: the route's own body validation answers
        locs += _unstorable_locs(body, ("body",))
    if locs:
        raise RequestValidationError(
            [{"loc": loc, "msg": _UNSTORABLE_MSG, "type": "invalid_character"} for loc in dict.fromkeys(locs)]
        )


ReadinessCheck = Callable[[], Awaitable[bool]]


def health_router(checks: Mapping[str, ReadinessCheck], serving: Iterable[str] = ()) -> APIRouter:
    """``/healthz``: the process answers (liveness).

    ``/readyz``: the HTTP API can serve (Kubernetes' readiness probe). It answers 503
    only when a *serving* check fails (the database, the schema); a failing other check
    (Kafka, the outbox relay, the consumers) makes it ``"degraded"`` with 200, so a
    Kafka blip keeps the read APIs in service. ``/readyz/all``: every check passes
    (503 otherwise): what a test or an operator waits on for "fully working"."""
    router = APIRouter(tags=["health"])
    required = set(serving)

    async def results() -> dict[str, str]:
        out: dict[str, str] = {}
        for name, check in checks.items():
            try:
                out[name] = "ok" if await check() else "down"
            except Exception:
                out[name] = "down"
        return out

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        found = await results()
        serves = all(v == "ok" for k, v in found.items() if k in required)
        status = "not ready" if not serves else "ready" if all(v == "ok" for v in found.values()) else "degraded"
        return JSONResponse(
            {"status": status, "checks": found, "serving": sorted(required & found.keys())},
            status_code=200 if serves else 503,
        )

    @router.get("/readyz/all")
    async def readyz_all() -> JSONResponse:
        found = await results()
        ready = all(v == "ok" for v in found.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": found},
            status_code=200 if ready else 503,
        )

    return router
