"""Calls to the four services: one async httpx client each, with the console's own
credential (``CONSOLE_SERVICE_TOKEN``), and on every call made for a signed-in clerk a
short-lived assertion naming that clerk (``X-Actor-Assertion``, signed with the key in
``CONSOLE_ACTOR_ASSERTION_KEY_FILE``), so the services' audit trails name the person.
``X-Actor`` is never sent: the services take the actor only from what they verify.

A service's refusal becomes :class:`ServiceError` with the message in the clerk's
language (the services answer ``{"detail": {code, message_fi, message_en}}``, or a 422
list whose entries carry ``loc``, ``msg`` and ``msg_fi``); field errors are kept by field
name so a form can show each beside its field. A service that cannot be reached is
"service unavailable" in the page, never a stack trace.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Request

from console import i18n
from console.config import SERVICES, ConsoleSettings
from shared.auth import assertion
from shared.auth.scopes import CLERK_SCOPES, expand

log = logging.getLogger(__name__)


@dataclass
class ServiceError(Exception):
    """A service said no (``status`` 4xx/5xx) or could not be reached (``status`` 0)."""

    service: str
    status: int
    message: str
    code: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    """Field name (the last part of a 422 ``loc``) -> message, for forms."""
    extra: dict[str, Any] = field(default_factory=dict)
    """The refusal's other fields beside its code and messages (e.g. ``where`` in a
    bank file the service refused)."""

    def __str__(self) -> str:
        return self.message


def require_own_credential(settings: ConsoleSettings) -> None:
    """Production mode: refuse to start (``ValueError``) without the console's own token
    or without the key that signs the clerk assertions. Development only warns (the
    console then acts as itself, and the services record it, not the clerk)."""
    if settings.mode != "production":
        return
    if not settings.token():  # the file is read here: a missing or empty one stops the start
        raise ValueError(
            "CONSOLE_SERVICE_TOKEN or CONSOLE_SERVICE_TOKEN_FILE is required in production mode: "
            "the console calls the services with its own credential"
        )
    if settings.actor_assertion_key_file is None:
        raise ValueError(
            "CONSOLE_ACTOR_ASSERTION_KEY_FILE is required in production mode: without it the console "
            "cannot act for the signed-in clerk, and the services would record the console as who acted"
        )


class Backends:
    """The clients, made when the app starts and closed when it stops, and the key that
    signs the clerk assertions (read once at start: a missing or wrong key stops it)."""

    def __init__(self, settings: ConsoleSettings, transports: dict[str, httpx.AsyncBaseTransport] | None = None):
        token = settings.token()
        self.assertion_key: Ed25519PrivateKey | None = None
        if settings.actor_assertion_key_file is not None:
            path = settings.actor_assertion_key_file
            try:
                self.assertion_key = assertion.load_private_key(path.read_bytes())
            except (OSError, ValueError) as exc:
                raise ValueError(f"CONSOLE_ACTOR_ASSERTION_KEY_FILE {path}: {exc}") from None
        else:
            log.warning(
                "CONSOLE_ACTOR_ASSERTION_KEY_FILE is not set: calls carry no clerk assertion, "
                "and the services refuse the console's credential without one (assertion-required)"
            )
        self.clerk_scopes = sorted(expand(settings.clerk_scopes) if settings.clerk_scopes else CLERK_SCOPES)
        self.clients = {
            name: httpx.AsyncClient(
                base_url=settings.service_url(name),
                headers={"Authorization": f"Bearer {token}"},
                timeout=settings.service_timeout_s,
                transport=(transports or {}).get(name),
            )
            for name in SERVICES
        }

    async def aclose(self) -> None:
        for c in self.clients.values():
            await c.aclose()

    def acting_for(self, clerk: str) -> dict[str, str]:
        """The headers of a call made for ``clerk``: a fresh signed assertion (valid
        :data:`shared.auth.assertion.LIFETIME_S`) with the clerk's scopes."""
        if self.assertion_key is None:
            return {}
        return {assertion.HEADER: assertion.sign(self.assertion_key, clerk, self.clerk_scopes)}


def describe(service: str, response: httpx.Response, lang: str) -> ServiceError:
    """The service's error answer as a :class:`ServiceError` in ``lang``."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, dict) and ("message_fi" in detail or "message_en" in detail):
        message = detail.get(f"message_{lang}") or detail.get("message_en") or detail.get("message_fi")
        extra = {k: v for k, v in detail.items() if k not in ("code", "message_fi", "message_en")}
        return ServiceError(service, status, str(message), code=detail.get("code"), extra=extra)
    if isinstance(detail, list) and all(isinstance(e, dict) and "loc" in e for e in detail):
        fields: dict[str, str] = {}
        parts: list[str] = []
        for e in detail:
            message = str((e.get("msg_fi") if lang == "fi" else None) or e.get("msg") or "")
            loc = [str(p) for p in e["loc"] if p not in ("body", "query", "path")]
            name = ".".join(loc)
            fields.setdefault(loc[-1] if loc else "", message)
            parts.append(f"{name}: {message}" if name else message)
        summary = i18n.translate(lang, "errors.invalid", details="; ".join(parts))
        return ServiceError(service, status, summary, code="invalid", fields=fields)
    text = i18n.translate(lang, "errors.http", status=status)
    if detail is not None:
        text += ": " + json.dumps(detail, ensure_ascii=False)[:300]
    return ServiceError(service, status, text)


async def call(
    request: Request,
    service: str,
    method: str,
    path: str,
    *,
    raw: bool = False,
    **kwargs: Any,
) -> Any:
    """``method path`` on ``service`` as the signed-in clerk; the JSON answer (or the
    response itself with ``raw=True``). Raises :class:`ServiceError`."""
    lang = i18n.normalise(request.session.get("lang"))
    backends: Backends = request.app.state.backends
    headers = dict(kwargs.pop("headers", None) or {})
    user = request.session.get("user")
    if isinstance(user, str) and user:
        headers |= backends.acting_for(user)
    try:
        response = await backends.clients[service].request(method, path, headers=headers, **kwargs)
    except httpx.HTTPError:
        name = i18n.translate(lang, f"services.{service}")
        raise ServiceError(service, 0, i18n.translate(lang, "errors.unavailable", service=name)) from None
    if response.status_code >= 400:
        raise describe(service, response, lang)
    if raw:
        return response
    if response.status_code == 204 or not response.content:
        return None
    return response.json()
