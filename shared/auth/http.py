"""The FastAPI side: who is calling (:func:`authenticate`), what a route needs
(:func:`require`), and who acted (:data:`Caller`), declared once here for every service.

- ``Authorization: Bearer <token>``: a credential from the credentials file
  (:mod:`shared.auth.credentials`) or, when configured, an OIDC access token
  (:class:`TokenVerifier`). Missing, unknown, expired or revoked: 401 ``unauthorized``.
- ``X-Actor-Assertion``: the console's signed clerk assertion
  (:mod:`shared.auth.assertion`), accepted only with a credential holding
  ``act-for-clerks``; the call then acts as that clerk with the scopes both have. A
  credential holding ``act-for-clerks`` that sends none is refused (403
  ``assertion-required``): the console's token alone acts for nobody.
- ``X-Actor`` is not an input: a value other than the authenticated actor is refused
  (403 ``actor-header-refused``), so no caller can write someone else into an audit trail.
- A route declares its scope with ``dependencies=[require("invoicing:bill")]``; without
  it: 403 ``forbidden`` naming the scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

import anyio.to_thread
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth import assertion
from shared.auth.credentials import TOKEN_PREFIX, CredentialStore
from shared.auth.principal import Principal
from shared.auth.scopes import ACT_FOR_CLERKS, ALL_SCOPES

_bearer = HTTPBearer(auto_error=False, description="A credential token (bk_…) or an OIDC access token")


class TokenVerifier(Protocol):
    """Verifies a bearer token that is not one of ours (an OIDC access token)."""

    def verify(self, token: str) -> Principal | None: ...


@dataclass
class Authenticator:
    """What a service checks callers against (``app.state.authenticator``)."""

    store: CredentialStore
    assertion_keys: list[Ed25519PublicKey] = field(default_factory=list)
    token_verifiers: list[TokenVerifier] = field(default_factory=list)

    async def principal(self, token: str) -> Principal | None:
        found = self.store.verify(token)
        if found is not None or token.startswith(f"{TOKEN_PREFIX}_"):
            return found
        for verifier in self.token_verifiers:
            # in a worker thread: a JWKS fetch must not pause the event loop
            found = await anyio.to_thread.run_sync(verifier.verify, token)
            if found is not None:
                return found
        return None


def _refuse(status_code: int, code: str, fi: str, en: str, **headers: str) -> HTTPException:
    return HTTPException(
        status_code, detail={"code": code, "message_fi": fi, "message_en": en}, headers=headers or None
    )


def _unauthorized(en: str = "Missing or wrong credential.") -> HTTPException:
    return _refuse(
        status.HTTP_401_UNAUTHORIZED,
        "unauthorized",
        "Tunnus puuttuu, on väärä, vanhentunut tai peruttu.",
        en,
        **{"WWW-Authenticate": "Bearer"},
    )


async def authenticate(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    """The caller of this request (401 when there is none); cached on ``request.state``."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    auth: Authenticator | None = getattr(request.app.state, "authenticator", None)
    if auth is None or credentials is None or not credentials.credentials:
        raise _unauthorized()
    principal = await auth.principal(credentials.credentials)
    if principal is None:
        raise _unauthorized()
    signed = request.headers.get(assertion.HEADER)
    if signed:
        if not principal.allows(ACT_FOR_CLERKS):
            raise _refuse(
                status.HTTP_403_FORBIDDEN,
                "assertion-not-allowed",
                "Tällä tunnuksella ei voi toimia virkailijan puolesta.",
                "This credential may not act for a clerk (it lacks the act-for-clerks scope).",
            )
        try:
            clerk = assertion.verify(signed, auth.assertion_keys)
        except assertion.AssertionRefused as exc:
            raise _unauthorized(str(exc)) from None
        scopes = principal.scopes if clerk.scopes is None else principal.scopes & clerk.scopes
        principal = Principal(
            subject=principal.subject,
            kind="person",
            scopes=scopes - {ACT_FOR_CLERKS},
            credential_id=principal.credential_id,
            on_behalf_of=clerk.name,
        )
    elif principal.allows(ACT_FOR_CLERKS):
        # the console's credential acts only for a signed-in clerk: its token alone (read
        # from a Secret, a log, a process list) is worth nothing without the private key
        raise _refuse(
            status.HTTP_403_FORBIDDEN,
            "assertion-required",
            "Tämä tunnus toimii vain virkailijan puolesta: kutsusta puuttuu virkailijan allekirjoitettu vakuutus.",
            "This credential acts only for a clerk: the call carries no signed clerk assertion (X-Actor-Assertion).",
        )
    claimed = request.headers.get("X-Actor")
    if claimed is not None and claimed != principal.actor:
        raise _refuse(
            status.HTTP_403_FORBIDDEN,
            "actor-header-refused",
            "X-Actor ei voi nimetä muuta kuin tunnistetun kutsujan; toimija on tunnuksen omistaja.",
            "X-Actor cannot name anyone but the authenticated caller: the actor is whoever the credential belongs to.",
        )
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(authenticate)]
"""A route parameter: the authenticated caller; ``caller.actor`` goes into audit trails."""


class ScopeCheck:
    """A route's required scope (the authorization-matrix test reads ``.scope``)."""

    def __init__(self, scope: str) -> None:
        if scope not in ALL_SCOPES:
            raise ValueError(f"unknown scope {scope!r}")
        self.scope = scope

    async def __call__(self, principal: Caller) -> Principal:
        if not principal.allows(self.scope):
            raise _refuse(
                status.HTTP_403_FORBIDDEN,
                "forbidden",
                f"Tunnukselta puuttuu oikeus {self.scope}.",
                f"The credential lacks the scope {self.scope}.",
            )
        return principal

    def __repr__(self) -> str:
        return f"ScopeCheck({self.scope!r})"


def require(scope: str) -> Any:
    """``dependencies=[require("invoicing:bill")]``: the route needs that scope."""
    return Depends(ScopeCheck(scope))


def required_scopes(route: Any) -> list[str]:
    """The scopes a FastAPI route declares with :func:`require` (for the matrix test)."""
    found: list[str] = []
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant is not None else []
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, ScopeCheck):
            found.append(dep.call.scope)
        stack.extend(dep.dependencies)
    return found
