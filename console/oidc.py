"""Sign-in through an OpenID Connect provider (the production option).

Authlib's Starlette client does the protocol: the provider's discovery document, the
authorization code flow with PKCE (S256), ``state`` (kept in the session, so the callback
must come back to the browser that started it) and ``nonce`` (checked on the id token,
with the token's signature against the provider's JWKS, ``iss``, ``aud``, ``exp`` and
``at_hash``). This module adds what is the console's: the clerk's name from one claim
(a plain name: printable, at most 100 characters, no colon; an ``email`` only when
``email_verified``), the allow rule (subjects, named users and/or one group), a safe
local ``next``, and a translated page for every way it can go wrong, never a trace.

Routes (only when ``CONSOLE_OIDC_ISSUER`` is set): ``GET /login/oidc`` sends the browser
to the provider, ``GET /login/oidc/callback`` comes back with a code. With
``CONSOLE_PASSWORD_LOGIN=false`` a posted password is refused here too, before the
password route sees it.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError  # type: ignore[import-untyped]
from authlib.integrations.starlette_client import OAuth, OAuthError  # type: ignore[import-untyped]
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from joserfc.errors import JoseError

from console.config import ConsoleSettings
from console.session import begin_session, end_session
from console.urls import safe_url
from console.web import render

log = logging.getLogger(__name__)

CALLBACK_PATH = "/login/oidc/callback"
NEXT_KEY = "oidc_next"
"""Where the clerk was going, kept in the session between the two routes."""
NAME_MAX = 100
"""The longest name accepted (as long as the password form's)."""


class SignInFailed(Exception):
    """An OIDC sign-in that cannot go on: answered with a translated page."""

    def __init__(self, status: int, message_key: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.message_key = message_key
        self.reason = reason


def local_next(target: str | None) -> str:
    """A path on this console (:func:`console.urls.safe_url`, the one rule for every redirect)."""
    return safe_url(target)


def _start_session(request: Request, name: str) -> None:
    """What a good password does: a fresh session id and CSRF token, the language kept."""
    begin_session(request, name)


def _end_attempt(request: Request) -> None:
    """A refused sign-in leaves nobody signed in in this browser (the old session's row
    is deleted, as at sign-out)."""
    end_session(request)


def _failed(request: Request, exc: SignInFailed) -> Response:
    log.warning("OIDC sign-in failed: %s", exc.reason)  # the reason only, never a name or a token
    return render(
        request, "error.html", status_code=exc.status, title_key="oidc.failed_title", message_key=exc.message_key
    )


def username_of(claims: dict[str, Any], claim: str) -> str:
    value = claims.get(claim)
    if not isinstance(value, str):
        raise SignInFailed(403, "oidc.no_name", f"the {claim} claim is missing or not a string")
    name = value.strip()
    if not name or len(name) > NAME_MAX or name != value:
        raise SignInFailed(403, "oidc.no_name", f"the {claim} claim is empty, too long or padded")
    if not name.isprintable() or any(unicodedata.category(c).startswith(("C", "Z")) and c != " " for c in name):
        raise SignInFailed(403, "oidc.bad_name", f"the {claim} claim holds control or separator characters")
    if ":" in name:  # no clerk name has one (a password user's cannot): "oidc:…" is a system's
        raise SignInFailed(403, "oidc.bad_name", f"the {claim} claim holds a colon")
    if claim == "email" and claims.get("email_verified") is not True:
        # an address the provider has not verified may be anyone's (OIDC Core §5.7)
        raise SignInFailed(403, "oidc.email_unverified", "the email claim is not verified (email_verified)")
    return name


def groups_of(claims: dict[str, Any], claim: str) -> list[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [g for g in value if isinstance(g, str)]
    return []


class Provider:
    """The provider as the console sees it: Authlib's client for it, and what the console
    checks beyond the protocol."""

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        secret = settings.oidc_client_secret.get_secret_value()
        self.client: Any = OAuth().register(
            name="console",
            client_id=settings.oidc_client_id,
            client_secret=secret or None,
            server_metadata_url=f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": settings.oidc_scopes,
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "client_secret_basic" if secret else "none",
                "timeout": settings.oidc_timeout_s,
            },
        )

    async def discover(self) -> dict[str, Any]:
        try:
            metadata: dict[str, Any] = await self.client.load_server_metadata()
        except (httpx.HTTPError, OSError, ValueError) as exc:
            raise SignInFailed(502, "oidc.unreachable", f"discovery failed: {type(exc).__name__}") from exc
        if str(metadata.get("issuer", "")).rstrip("/") != self.issuer:
            self.client.server_metadata.clear()  # read it again next time (the provider may be fixed)
            raise SignInFailed(502, "oidc.unreachable", "the discovery document names another issuer")
        return metadata

    async def redirect(self, request: Request, redirect_uri: str) -> Response:
        await self.discover()
        response: Response = await self.client.authorize_redirect(request, redirect_uri)
        return response

    async def claims(self, request: Request) -> dict[str, Any]:
        """The verified id token's claims (plus the userinfo endpoint's, when the id token
        lacks the name or groups claim and the provider has that endpoint)."""
        await self.discover()
        try:
            token = await self.client.authorize_access_token(request)
        except OAuthError as exc:
            if exc.error == "mismatching_state":
                raise SignInFailed(400, "oidc.state", "state missing or not this browser's") from exc
            if exc.error == "access_denied":
                raise SignInFailed(403, "oidc.denied", "the provider answered access_denied") from exc
            raise SignInFailed(502, "oidc.provider_error", f"provider error {exc.error}") from exc
        except (JoseError, AuthlibBaseError) as exc:
            raise SignInFailed(400, "oidc.invalid_token", f"id token refused: {type(exc).__name__}") from exc
        except (httpx.HTTPError, OSError, ValueError) as exc:
            raise SignInFailed(502, "oidc.unreachable", f"token exchange failed: {type(exc).__name__}") from exc
        verified = token.get("userinfo")
        if not verified or "id_token" not in token:
            raise SignInFailed(400, "oidc.invalid_token", "the provider sent no id token")
        found = dict(verified)
        settings = self.settings
        wanted = [settings.oidc_username_claim] + ([settings.oidc_groups_claim] if settings.oidc_required_group else [])
        if any(c not in found for c in wanted) and self.client.server_metadata.get("userinfo_endpoint"):
            try:
                extra = dict(await self.client.userinfo(token=token))
            except (AuthlibBaseError, httpx.HTTPError, OSError, ValueError) as exc:
                raise SignInFailed(502, "oidc.unreachable", f"userinfo failed: {type(exc).__name__}") from exc
            if extra.get("sub") != found.get("sub"):
                raise SignInFailed(400, "oidc.invalid_token", "userinfo is about another subject")
            found = {**extra, **found}
        return found

    def clerk(self, claims: dict[str, Any]) -> str:
        """The clerk's name, if the allow rule lets this person in."""
        settings = self.settings
        name = username_of(claims, settings.oidc_username_claim)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise SignInFailed(400, "oidc.invalid_token", "the id token has no sub")
        if not settings.oidc_allows(name, groups_of(claims, settings.oidc_groups_claim), subject):
            raise SignInFailed(403, "oidc.not_allowed", "signed in at the provider but not allowed here")
        return name


def router(settings: ConsoleSettings) -> APIRouter:
    """The OIDC routes for ``settings``; no routes when OIDC is off."""
    routes = APIRouter()

    if not settings.password_login:

        @routes.post("/login", include_in_schema=False)
        async def password_login_off(request: Request) -> Response:
            return render(
                request, "error.html", status_code=403, title_key="oidc.failed_title", message_key="oidc.password_off"
            )

    if not settings.oidc_enabled:
        return routes
    provider = Provider(settings)

    @routes.get("/login/oidc", include_in_schema=False)
    async def oidc_start(request: Request, next: str = "/billing") -> Response:
        redirect_uri = settings.oidc_redirect_url or str(request.url_for("oidc_callback"))
        request.session[NEXT_KEY] = local_next(next)
        try:
            return await provider.redirect(request, redirect_uri)
        except SignInFailed as exc:
            return _failed(request, exc)

    @routes.get(CALLBACK_PATH, name="oidc_callback", include_in_schema=False)
    async def oidc_callback(request: Request) -> Response:
        target = local_next(request.session.get(NEXT_KEY))
        try:
            claims = await provider.claims(request)
        except SignInFailed as exc:
            # nothing verified: the session stays as it was (a forged link signs nobody out)
            return _failed(request, exc)
        try:
            name = provider.clerk(claims)
        except SignInFailed as exc:
            _end_attempt(request)  # someone else did sign in at the provider in this browser
            return _failed(request, exc)
        _start_session(request, name)
        log.info("clerk signed in with OIDC")
        return RedirectResponse(target, status_code=303)

    return routes
