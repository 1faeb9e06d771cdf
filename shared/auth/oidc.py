"""OIDC / OAuth2 access tokens: a JWT from the organisation's identity provider, verified
against the provider's published keys (JWKS), with the same scope names as a credential.

Off unless ``<PREFIX>OIDC_ISSUER`` is set (then ``<PREFIX>OIDC_AUDIENCE`` is required).
The keys come from ``<PREFIX>OIDC_JWKS_URL`` or, without it, from the ``jwks_uri`` of the
issuer's discovery document (``<issuer>/.well-known/openid-configuration``). PyJWT's
:class:`jwt.PyJWKClient` fetches and caches them (5 minutes) and fetches again when a
token names a key id it does not know (at most once every ``refresh_cooldown_s``, so
made-up key ids cannot make a service hammer the provider).

A token is accepted when its signature verifies with a provider key, with an asymmetric
algorithm (RS256/384/512, PS256, ES256/384, EdDSA: never ``none`` or HMAC, whose "key"
would be public), ``iss`` is the issuer, ``aud`` names the audience, and ``exp`` (required),
``nbf`` and ``iat`` hold with :data:`LEEWAY_S`. Scopes come from ``<PREFIX>OIDC_SCOPE_CLAIM``
(default ``scope``: space-separated, or a list) and also ``scp`` (a list, or a string);
names outside the catalogue (``openid``, ``profile``, …) are ignored, and so are
patterns: an access token grants exact scope names only.

Who the caller is:
- a token issued to a person (it has ``preferred_username``: a clerk or an ops user who
  signed in): kind ``person``, subject the user name (below), so the audit trail names the
  person; ``act-for-clerks`` is dropped (a person acts as herself, never for another);
- otherwise (the client-credentials grant of another system): kind ``system``, subject
  ``client_id``, else ``azp``, else ``sub``.
Either way the subject is recorded as ``oidc:<user or client>``: a name the provider
gives (a user may be able to edit ``preferred_username``; a client id is anyone's choice)
can never equal a built-in credential's name (``console``, ``order-system``) in an audit
trail.

Whatever goes wrong is a 401 for the caller (``verify`` returns None) with one log line
saying why; the token itself is never logged. A provider whose keys cannot be fetched is
tried again after ``retry_s``, refusing OIDC tokens fast in between.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlparse

import jwt

from shared.auth.principal import Kind, Principal
from shared.auth.scopes import ACT_FOR_CLERKS, ALL_SCOPES

log = logging.getLogger(__name__)

ALGORITHMS: tuple[str, ...] = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
"""Asymmetric only: ``none`` and the HMAC family (HS*) are never accepted."""
LEEWAY_S = 30
"""Clock difference tolerated between the provider and a service (exp, nbf, iat)."""
DISCOVERY_PATH = "/.well-known/openid-configuration"
OIDC_SUBJECT_PREFIX = "oidc:"
SUBJECT_MAX = 100 - len(OIDC_SUBJECT_PREFIX)
"""The longest subject taken: with its prefix, what an event's ``actor`` holds (100)."""
"""Before every OIDC subject, so audit trails tell it from a built-in credential's name."""


class OidcSettingsError(ValueError):
    """The OIDC settings cannot work (stops the service at start)."""


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def check_url(url: str, what: str, *, production: bool) -> str:
    """An ``http(s)`` URL; in production ``https`` (``http`` only on this machine)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise OidcSettingsError(f"{what} {url!r} is not an http(s) URL")
    if production and parsed.scheme != "https" and not _is_loopback(url):
        raise OidcSettingsError(f"{what} must be https in production mode (got {url!r})")
    return url


class OidcTokenVerifier:
    """A :class:`shared.auth.http.TokenVerifier` for the provider's access tokens."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        jwks_url: str | None = None,
        scope_claim: str = "scope",
        leeway_s: float = LEEWAY_S,
        timeout_s: float = 5.0,
        retry_s: float = 10.0,
        refresh_cooldown_s: float = 30.0,
        cache_s: float = 300.0,
    ) -> None:
        if not issuer or not audience:
            raise OidcSettingsError("OIDC needs both an issuer and an audience")
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self.scope_claim = scope_claim
        self.leeway_s = leeway_s
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.refresh_cooldown_s = refresh_cooldown_s
        self.cache_s = cache_s
        self._client: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()
        self._failed_at: float | None = None
        self._failure = ""

    # --- the provider's keys -------------------------------------------------------

    def _discover(self) -> str:
        url = self.issuer.rstrip("/") + DISCOVERY_PATH
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 (checked http(s))
        with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:  # noqa: S310
            document = json.load(answer)
        if not isinstance(document, dict) or not isinstance(document.get("jwks_uri"), str):
            raise ValueError(f"the discovery document {url} has no jwks_uri")
        if document.get("issuer") != self.issuer:
            raise ValueError(f"the discovery document {url} names another issuer ({document.get('issuer')!r})")
        return str(document["jwks_uri"])

    def _keys(self) -> jwt.PyJWKClient | None:
        """The JWKS client (found by discovery on first use); None while the provider
        could not be reached less than ``retry_s`` ago."""
        if self._client is not None:
            return self._client
        with self._lock:
            if self._client is not None:
                return self._client
            if self._failed_at is not None and time.monotonic() - self._failed_at < self.retry_s:
                return None
            try:
                url = self.jwks_url or self._discover()
                self._client = jwt.PyJWKClient(
                    url,
                    lifespan=self.cache_s,
                    timeout=self.timeout_s,
                    cooldown_duration=self.refresh_cooldown_s,
                )
            except Exception as exc:  # unreachable, not JSON, no jwks_uri: the call is a 401
                self._failed(f"cannot read the discovery document of {self.issuer}: {_reason(exc)}")
                return None
            return self._client

    def _failed(self, why: str) -> None:
        self._failed_at = time.monotonic()
        self._failure = why
        log.error("OIDC access tokens refused for %.0f s: %s", self.retry_s, why)

    # --- verifying a token ---------------------------------------------------------

    def verify(self, token: str) -> Principal | None:
        """The caller a valid access token names; None (a 401) otherwise."""
        if token.count(".") != 2 or token.startswith("bk_"):
            return None  # not a JWT: one of our credential tokens, or garbage
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        if unverified.get("iss") != self.issuer:
            return None  # another issuer's token: not ours to judge, nothing fetched for it
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            log.warning("OIDC access token refused: algorithm %r is not accepted", str(alg)[:20])
            return None
        if self._failed_at is not None and time.monotonic() - self._failed_at < self.retry_s:
            log.warning("OIDC access token refused: the provider's keys are unavailable (%s)", self._failure)
            return None
        client = self._keys()
        if client is None:
            return None
        try:
            key = client.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            self._failed(f"cannot fetch the provider's keys from {client.uri}: {_reason(exc)}")
            return None
        except jwt.PyJWTError as exc:  # no key with that kid (after one refresh), a bad JWKS
            log.warning("OIDC access token refused: %s", _reason(exc))
            return None
        except Exception as exc:  # the endpoint answered something that is not JSON
            self._failed(f"the provider's keys at {client.uri} are unusable: {_reason(exc)}")
            return None
        self._failed_at = None
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            log.warning("OIDC access token refused: %s", type(exc).__name__)
            return None
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal | None:
        scopes = _catalogue(_names(claims.get(self.scope_claim)) + _names(claims.get("scp")))
        person = claims.get("preferred_username")
        kind: Kind
        if person is not None:
            subject, kind = person, "person"
            scopes -= {ACT_FOR_CLERKS}
        else:
            subject = claims.get("client_id") or claims.get("azp") or claims.get("sub")
            kind = "system"
        if not isinstance(subject, str) or not subject or len(subject) > SUBJECT_MAX or not subject.isprintable():
            log.warning("OIDC access token refused: no usable subject (client_id, azp, sub, preferred_username)")
            return None
        # ``oidc:<client or user>``: a provider's name (a user-editable username, a client
        # id) can never read as a built-in credential's (``console``, ``order-system``)
        return Principal(
            subject=f"{OIDC_SUBJECT_PREFIX}{subject}", kind=kind, scopes=scopes, credential_id=f"oidc:{self.issuer}"
        )


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _catalogue(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name for name in names if name in ALL_SCOPES)


def _reason(exc: BaseException) -> str:
    """An exception as one short line (its type and message; never a token)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def from_settings(settings: Any) -> OidcTokenVerifier | None:
    """The verifier the settings ask for (None: OIDC is off). Refuses, at start, an
    issuer without an audience (every token of that provider would do), an audience or
    a JWKS URL without an issuer, and plain http in production (except on loopback)."""
    issuer = settings.oidc_issuer
    audience = settings.oidc_audience
    jwks_url = settings.oidc_jwks_url
    prefix = str(settings.model_config.get("env_prefix") or "")
    if not issuer:
        if audience or jwks_url:
            raise OidcSettingsError(f"{prefix}OIDC_AUDIENCE / {prefix}OIDC_JWKS_URL need {prefix}OIDC_ISSUER")
        return None
    if not audience:
        raise OidcSettingsError(
            f"{prefix}OIDC_ISSUER is set without {prefix}OIDC_AUDIENCE: every token of that provider, "
            "for any application, would be accepted; set the audience the provider puts in this API's tokens"
        )
    production = settings.mode == "production"
    check_url(issuer, f"{prefix}OIDC_ISSUER", production=production)
    if jwks_url:
        check_url(jwks_url, f"{prefix}OIDC_JWKS_URL", production=production)
    return OidcTokenVerifier(issuer, audience, jwks_url=jwks_url or None, scope_claim=settings.oidc_scope_claim)
