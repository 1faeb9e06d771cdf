"""The console's signed clerk assertion: which clerk a console call is made for.

The console signs a short-lived JWT (EdDSA, Ed25519) per call and sends it in
``X-Actor-Assertion`` next to its own bearer credential; a service verifies it with the
console's public key(s) (more than one during a key rotation) and accepts it only from a
credential that has the ``act-for-clerks`` scope. Only the console holds the private key,
so no service, and no outside caller, can make one. PyJWT does the signing and checking.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HEADER = "X-Actor-Assertion"
ISSUER = "billing-console"
AUDIENCE = "billing-services"
ALGORITHM = "EdDSA"
LIFETIME_S = 60
MAX_LIFETIME_S = 300
"""An assertion valid for longer than this is refused, whatever its ``exp`` says."""
LEEWAY_S = 10
"""Clock difference tolerated between the console and a service."""


class AssertionRefused(Exception):
    """Not a valid assertion (the message says why, without the token)."""


@dataclass(frozen=True)
class Clerk:
    name: str
    scopes: frozenset[str] | None
    """The clerk's scopes if the assertion names them; None: no narrowing."""


def new_keypair() -> tuple[bytes, bytes]:
    """``(private PEM, public PEM)`` of a fresh Ed25519 key."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the actor-assertion key must be an Ed25519 private key")
    return key


def load_public_keys(pems: Sequence[str]) -> list[Ed25519PublicKey]:
    keys = []
    for pem in pems:
        key = serialization.load_pem_public_key(pem.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("an actor-assertion public key must be Ed25519")
        keys.append(key)
    return keys


def sign(key: Ed25519PrivateKey, clerk: str, scopes: Sequence[str] | None = None, *, now: float | None = None) -> str:
    """The assertion that ``clerk`` makes this call (valid :data:`LIFETIME_S`)."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": clerk,
        "iat": issued,
        "exp": issued + LIFETIME_S,
        "jti": secrets.token_urlsafe(12),
    }
    if scopes is not None:
        claims["scope"] = " ".join(sorted(scopes))
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def verify(token: str, keys: Sequence[Ed25519PublicKey]) -> Clerk:
    """The clerk a valid assertion names; :class:`AssertionRefused` otherwise."""
    if not keys:
        raise AssertionRefused("this service has no actor-assertion key configured")
    last: Exception | None = None
    for key in keys:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.InvalidSignatureError as exc:
            last = exc
            continue
        except jwt.PyJWTError as exc:
            raise AssertionRefused(f"actor assertion refused: {type(exc).__name__}") from None
        if int(claims["exp"]) - int(claims["iat"]) > MAX_LIFETIME_S:
            raise AssertionRefused("actor assertion refused: valid for too long")
        name = claims["sub"]
        if not isinstance(name, str) or not name or len(name) > 100 or not name.isprintable():
            raise AssertionRefused("actor assertion refused: no usable clerk name")
        raw = claims.get("scope")
        scopes = frozenset(raw.split()) if isinstance(raw, str) else None
        return Clerk(name=name, scopes=scopes)
    raise AssertionRefused(f"actor assertion refused: {type(last).__name__ if last else 'no key matched'}")
