"""Who calls the system, each with its own credential: the kit's credential plan.

The services take one credentials file (``<PREFIX>CREDENTIALS_FILE``: every caller's
name, kind, scopes and the SHA-256 of each token, never a token) and the console's
Ed25519 public key (``<PREFIX>ACTOR_ASSERTION_PUBLIC_KEYS_FILE``), with which they check
the clerk assertion the console signs for each call. :func:`issue` writes both for a
test system (and the console's private key), and returns each caller's token once.

The plan (:data:`PLAN`): the console (``act-for-clerks`` and the clerk's scopes, acting
for the signed-in clerk), the kit's clerk (a person credential with the clerk's scopes:
:class:`billing_testkit.clerk.Clerk` calls with it), an ops user (every operation of
every service; not ``act-for-clerks``, which ``*`` would grant too), each outside
system with only what it needs (the CRM reads customer cards, the order and
notice systems read their billing requests, the bank reads invoices), and Prometheus
(``metrics``). An integrator's test calls our APIs as its own system with
``billing_system.token("crm")``.

The file format is the services' (README, "Security"); the kit writes it itself, since
an outside system never imports our code.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SERVICES = ("customers", "invoicing", "reminders", "dispatch")
_WORK = {"customers": "write", "invoicing": "bill", "reminders": "remind", "dispatch": "send"}
CLERK_SCOPES: tuple[str, ...] = tuple(f"{s}:{op}" for s in SERVICES for op in ("read", _WORK[s], "replay"))
"""A billing clerk: read, do the service's work, replay dead letters; no ``admin``."""

CREDENTIALS_FILE = "credentials.json"
ASSERTION_PRIVATE_KEY = "actor-assertion-private.pem"
ASSERTION_PUBLIC_KEYS = "actor-assertion-public.pem"
TOKEN_FILE_PREFIX = "token-"  # noqa: S105 (a file name's prefix)


@dataclass(frozen=True)
class Caller:
    name: str
    kind: Literal["system", "person"]
    scopes: tuple[str, ...]
    description: str = ""


CONSOLE = "console"
CLERK = "testkit-clerk"
OPS = "ops"
PROMETHEUS = "prometheus"

PLAN: tuple[Caller, ...] = (
    Caller(CONSOLE, "system", ("act-for-clerks", *CLERK_SCOPES), "the clerk's console, acting for the signed-in clerk"),
    Caller(CLERK, "person", CLERK_SCOPES, "the test kit's clerk (billing_testkit.clerk.Clerk)"),
    Caller(OPS, "person", (*(f"{s}:*" for s in SERVICES), "metrics"), "an operator with the CLI"),
    Caller("crm", "system", ("customers:read",), "the CRM: reads the customer cards it sends"),
    Caller("order-system", "system", ("invoicing:read",), "the order system: reads its billing requests"),
    Caller("notice-system", "system", ("invoicing:read",), "the notice system: reads its billing requests"),
    Caller("bank", "system", ("invoicing:read",), "the bank import: reads invoices and payments"),
    Caller(PROMETHEUS, "system", ("metrics",), "scrapes every service's /metrics"),
)


@dataclass(frozen=True)
class Issued:
    """What :func:`issue` wrote (paths on this machine) and every caller's token."""

    folder: Path
    tokens: Mapping[str, str]

    @property
    def credentials_file(self) -> Path:
        return self.folder / CREDENTIALS_FILE

    @property
    def assertion_private_key(self) -> Path:
        return self.folder / ASSERTION_PRIVATE_KEY

    @property
    def assertion_public_keys(self) -> Path:
        return self.folder / ASSERTION_PUBLIC_KEYS

    def token_file(self, caller: str) -> Path:
        """The file holding ``caller``'s token (``token-<caller>``): what a process given
        ``<PREFIX>SERVICE_TOKEN_FILE`` reads."""
        self.token(caller)
        return self.folder / f"{TOKEN_FILE_PREFIX}{caller}"

    def token(self, caller: str) -> str:
        try:
            return self.tokens[caller]
        except KeyError:
            raise KeyError(f"no credential {caller!r}; one of {', '.join(self.tokens)}") from None


def new_token() -> tuple[str, str]:
    """A fresh ``(key id, token)``: ``bk_<12 hex>_<43 url-safe characters>``."""
    key_id = secrets.token_hex(6)
    return key_id, f"bk_{key_id}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def credentials_document(
    plan: Iterable[Caller], *, at: datetime | None = None
) -> tuple[dict[str, object], dict[str, str]]:
    """The credentials file's contents for ``plan`` and each caller's token."""
    created = (at or datetime.now(UTC)).isoformat()
    tokens: dict[str, str] = {}
    entries: list[dict[str, object]] = []
    for caller in plan:
        if caller.name in tokens:
            raise ValueError(f"two callers named {caller.name!r}")
        key_id, token = new_token()
        tokens[caller.name] = token
        key = {"id": key_id, "hash": token_hash(token), "created": created, "expires": None, "revoked": None}
        entries.append(
            {
                "name": caller.name,
                "kind": caller.kind,
                "scopes": list(caller.scopes),
                "keys": [key],
                "description": caller.description,
            }
        )
    return {"credentials": entries}, tokens


def assertion_keypair() -> tuple[bytes, bytes]:
    """``(private PEM, public PEM)`` of a fresh Ed25519 key for the console's assertions."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)  # whatever the umask
    os.replace(tmp, path)


def issue(folder: Path, plan: Iterable[Caller] = PLAN, *, mode: int = 0o600) -> Issued:
    """Write the credentials file, the console's key pair and each caller's token
    (``token-<caller>``: the console reads its own from there, a local stack's later
    commands theirs, :func:`ensure`) into ``folder``; the tokens.

    ``mode``: the files' permissions (``0o644`` when a container's user must read them
    from a folder only this test can reach)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o755 if mode & 0o044 else 0o700)
    document, tokens = credentials_document(plan)
    private, public = assertion_keypair()
    for name, token in tokens.items():
        _write(folder / f"{TOKEN_FILE_PREFIX}{name}", (token + "\n").encode(), mode)
    _write(folder / ASSERTION_PRIVATE_KEY, private, mode)
    _write(folder / ASSERTION_PUBLIC_KEYS, public, 0o644)
    _write(folder / CREDENTIALS_FILE, (json.dumps(document, indent=2) + "\n").encode(), mode)
    return Issued(folder, tokens)


def ensure(folder: Path, plan: Iterable[Caller] = PLAN) -> Issued:
    """A local stack's credentials: those already in ``folder`` (the file, the keys and a
    ``token-<caller>`` file per caller of ``plan``), else new ones made by :func:`issue`.
    Credentials added to the file later (``billing credentials create``) are kept."""
    wanted = [c.name for c in plan]
    files = [folder / CREDENTIALS_FILE, folder / ASSERTION_PRIVATE_KEY, folder / ASSERTION_PUBLIC_KEYS]
    tokens = {n: folder / f"{TOKEN_FILE_PREFIX}{n}" for n in wanted}
    if all(f.is_file() for f in files) and all(t.is_file() for t in tokens.values()):
        return Issued(folder, {n: t.read_text(encoding="ascii").strip() for n, t in tokens.items()})
    return issue(folder, plan)
