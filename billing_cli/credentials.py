"""``billing credentials …``: the callers' credentials in the file every service reads
(``<PREFIX>CREDENTIALS_FILE``), and the console's clerk-assertion keys.

- ``create NAME --scopes …``: a new credential; its token is printed once, alone on
  stdout (``TOKEN=$(billing credentials create …)``), explanations go to stderr.
- ``list``: credentials, scopes and keys (never a token or a hash).
- ``rotate NAME --overlap 7d``: a new token; the old keys stay valid for the overlap.
- ``revoke NAME [--key ID]``: at once (a running service re-reads the file within a second).
- ``scopes``: the scope catalogue.
- ``assertion-keys --out DIR``: the console's Ed25519 keypair for the clerk assertion.

Every edit locks the file (a sibling ``.lock``) and writes it atomically. Exit codes:
0 done; 1 the file cannot be read or written; 2 a refused input (an unknown scope or
credential, a name taken, a bad duration, files that would be overwritten).
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from shared.auth import assertion
from shared.auth.credentials import (
    Credential,
    CredentialsError,
    Key,
    add_key,
    edit,
    load,
    now_utc,
    revoke,
    rotate,
)
from shared.auth.scopes import ACT_FOR_CLERKS, METRICS, OPERATIONS, UnknownScope, expand

app = typer.Typer(no_args_is_help=True, help="Callers' credentials: create, list, rotate, revoke; assertion keys.")

FileOpt = Annotated[
    Path,
    typer.Option(
        "--file",
        "-f",
        envvar="BILLING_CREDENTIALS_FILE",
        help="the credentials file every service reads (<PREFIX>CREDENTIALS_FILE)",
    ),
]
NameArg = Annotated[str, typer.Argument(help="the credential's name: the caller, e.g. order-system, ops-anna")]

_DURATION = re.compile(r"^(\d{1,5})([wdhm])$")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")

MEANING = {
    "read": "read {service}: every GET of its API (and its jobs and dead letters)",
    "write": "edit customer cards",
    "bill": "billing runs, confirming invoices, corrective invoices, payments and their allocation",
    "remind": "create reminders, mark disputes, hand over to collection",
    "send": "send and re-send documents, move them between channels, print batches",
    "replay": "replay or discard the dead letters of {service}",
    "admin": "operator actions of {service} (erasure, republishing, rates and the like); grants no other scope",
}


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"billing credentials: {message}", err=True)
    raise typer.Exit(code)


def _note(message: str) -> None:
    typer.echo(message, err=True)


def parse_duration(text: str, what: str) -> timedelta:
    """``90d``, ``7d``, ``12h``, ``30m``, ``2w``; ``0`` for none."""
    if text.strip() == "0":
        return timedelta(0)
    match = _DURATION.match(text.strip())
    if not match:
        _fail(f"{what} {text!r} is not a duration: a number and a unit, e.g. 90d, 12h, 30m, 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _parse_scopes(text: str) -> list[str]:
    patterns = [p.strip() for p in text.split(",") if p.strip()]
    if not patterns:
        _fail("--scopes is empty: give at least one scope (see `billing credentials scopes`)")
    try:
        expand(patterns)
    except UnknownScope as exc:
        _fail(f"unknown scope {str(exc)!r}; see `billing credentials scopes` for the catalogue and patterns")
    return patterns


def _find(data: Any, name: str) -> Credential:
    cred: Credential | None = data.find(name)
    if cred is None:
        known = ", ".join(c.name for c in data.credentials) or "none"
        _fail(f"no credential named {name!r} (there are: {known})")
    return cred


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else "-"


def _state(key: Key, now: datetime) -> str:
    if key.revoked is not None:
        return "revoked"
    if key.expires is not None and now >= key.expires:
        return "expired"
    return "valid"


@app.command()
def create(
    name: NameArg,
    *,
    file: FileOpt,
    scopes: Annotated[str, typer.Option("--scopes", help="scope patterns, comma-separated: invoicing:bill,*:read")],
    kind: Annotated[str, typer.Option("--kind", help="system (another system) | person (an ops user)")] = "system",
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="the key's lifetime, e.g. 90d (default: no expiry)")
    ] = None,
    description: Annotated[str, typer.Option("--description", help="who holds it, what for")] = "",
) -> None:
    """Create a credential; print its token (once: only its hash is kept)."""
    if kind not in ("system", "person"):
        _fail(f"--kind {kind!r} refused: system or person")
    if not _NAME.match(name):
        _fail(f"name {name!r} refused: lower-case letters, digits, '.', '_', '-' (at most 63), e.g. order-system")
    patterns = _parse_scopes(scopes)
    lifetime = parse_duration(expires_in, "--expires-in") if expires_in is not None else None
    if lifetime is not None and lifetime <= timedelta(0):
        _fail("--expires-in must be longer than 0")
    at = now_utc()
    with _editing(file, create=True) as data:
        if data.find(name) is not None:
            _fail(f"a credential named {name!r} exists already (rotate or revoke it instead)")
        cred = Credential(name=name, kind=kind, scopes=patterns, description=description)
        token = add_key(cred, at=at, expires=at + lifetime if lifetime is not None else None)
        data.credentials.append(cred)
    typer.echo(token)
    _note(
        f"created {name} ({kind}, scopes {','.join(patterns)}, key {cred.keys[0].id}"
        f"{', expires ' + _stamp(cred.keys[0].expires) if cred.keys[0].expires else ''}) in {file}. "
        "The token above is shown only now: give it to its holder (a secret store), it cannot be read back."
    )


@app.command("list")
def list_(
    file: FileOpt,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    """Credentials, their scopes and keys (id, created, expires, revoked, valid now)."""
    data = _load(file)
    now = now_utc()
    rows = [
        {
            "name": c.name,
            "kind": c.kind,
            "scopes": c.scopes,
            "description": c.description,
            "keys": [
                {
                    "id": k.id,
                    "created": _stamp(k.created),
                    "expires": _stamp(k.expires) if k.expires else None,
                    "revoked": _stamp(k.revoked) if k.revoked else None,
                    "state": _state(k, now),
                    "valid": k.valid_at(now),
                }
                for k in c.keys
            ],
        }
        for c in data.credentials
    ]
    if as_json:
        typer.echo(json.dumps({"credentials": rows}, indent=2, ensure_ascii=False))
        return
    if not rows:
        _note(f"no credentials in {file}")
    for row in rows:
        valid = sum(1 for k in row["keys"] if k["valid"])
        about = f"  ({row['description']})" if row["description"] else ""
        typer.echo(f"{row['name']}  {row['kind']}  scopes {','.join(row['scopes'])}  {valid} valid key(s){about}")
        for k in row["keys"]:
            typer.echo(
                f"  key {k['id']}  created {k['created']}  expires {k['expires'] or '-'}  "
                f"revoked {k['revoked'] or '-'}  {k['state']}"
            )


@app.command("rotate")
def rotate_(
    name: NameArg,
    file: FileOpt,
    overlap: Annotated[
        str, typer.Option("--overlap", help="how long the old key(s) stay valid, e.g. 7d, 12h; 0: end them now")
    ] = "7d",
    expires_in: Annotated[str | None, typer.Option("--expires-in", help="the new key's lifetime, e.g. 90d")] = None,
) -> None:
    """A new token for a credential (printed once); its current keys stay valid for the overlap."""
    window = parse_duration(overlap, "--overlap")
    lifetime = parse_duration(expires_in, "--expires-in") if expires_in is not None else None
    at = now_utc()
    with _editing(file) as data:
        cred = _find(data, name)
        if cred.keys and all(k.revoked is not None for k in cred.keys):
            _fail(f"{name} is revoked (every key): rotate does not bring it back; create a new credential on purpose")
        if lifetime is None:
            newest = max(cred.keys, key=lambda k: k.created, default=None)
            if newest is not None and newest.expires is not None:
                lifetime = newest.expires - newest.created  # the policy the last key was given
        ending = [k.id for k in cred.keys if k.valid_at(at)]
        token = rotate(cred, at=at, overlap=window)
        if lifetime is not None:
            cred.keys[-1].expires = at + lifetime
    typer.echo(token)
    old = f"old key(s) {', '.join(ending)} valid until {_stamp(at + window)}" if ending else "no old key was valid"
    _note(f"rotated {name}: new key {cred.keys[-1].id}; {old}. The token above is shown only now.")


@app.command("revoke")
def revoke_(
    name: NameArg,
    file: FileOpt,
    key: Annotated[str | None, typer.Option("--key", help="only this key id (default: every key)")] = None,
) -> None:
    """Revoke every key of a credential, or one (``--key``); services refuse it within a
    second of their file changing."""
    at = now_utc()
    with _editing(file) as data:
        cred = _find(data, name)
        if key is not None and all(k.id != key for k in cred.keys):
            _fail(f"{name} has no key {key!r} (its keys: {', '.join(k.id for k in cred.keys) or 'none'})")
        count = revoke(cred, at=at, key_id=key)
    already = "" if count else " (already revoked)"
    typer.echo(f"revoked {count} key(s) of {name}{already}")


@app.command()
def scopes() -> None:
    """The scopes a credential can hold, one line each, and the patterns."""
    for service, operations in OPERATIONS.items():
        for op in operations:
            typer.echo(f"{service + ':' + op:<18} {MEANING[op].format(service=service)}")
    typer.echo(f"{METRICS:<18} scrape /metrics of any service")
    typer.echo(f"{ACT_FOR_CLERKS:<18} only the console: carry a signed clerk assertion (the clerk becomes the actor)")
    star = "* (every scope but act-for-clerks, granted only by name)"
    _note(f"patterns: {star}, invoicing:* (every operation of one service), *:read (one operation everywhere)")


PRIVATE_NAME = "actor-assertion-private.pem"
PUBLIC_NAME = "actor-assertion-public.pem"


@app.command("assertion-keys")
def assertion_keys(
    out: Annotated[Path, typer.Option("--out", help="the folder to write the keypair into")],
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing keypair")] = False,
) -> None:
    """Write the console's Ed25519 keypair for the clerk assertion (private key 0600)."""
    private_path, public_path = out / PRIVATE_NAME, out / PUBLIC_NAME
    existing = [str(p) for p in (private_path, public_path) if p.exists()]
    if existing and not force:
        _fail(f"refusing to overwrite {', '.join(existing)} (--force replaces them; see README: rotating the keys)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        private, public = assertion.new_keypair()
        _write(private_path, private, 0o600)
        _write(public_path, public, 0o644)
    except OSError as exc:
        _fail(f"cannot write the keys into {out}: {exc.strerror}", 1)
    typer.echo(str(private_path))
    typer.echo(str(public_path))
    _note(
        f"{private_path}: the console's signing key, for the console only "
        "(CONSOLE_ACTOR_ASSERTION_KEY_FILE); keep it secret.\n"
        f"{public_path}: for every service (<PREFIX>ACTOR_ASSERTION_PUBLIC_KEYS_FILE); during a key "
        "rotation that file holds the old and the new public key one after the other."
    )


def _write(path: Path, content: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    os.chmod(tmp, mode)  # whatever the umask
    os.replace(tmp, path)


def _load(file: Path) -> Any:
    try:
        return load(file)
    except CredentialsError as exc:
        _fail(str(exc), 1)


class _editing:
    """:func:`shared.auth.credentials.edit` with its errors as one line and exit 1."""

    def __init__(self, file: Path, *, create: bool = False) -> None:
        self._cm = edit(file, create=create)

    def __enter__(self) -> Any:
        try:
            return self._cm.__enter__()
        except CredentialsError as exc:
            _fail(str(exc), 1)

    def __exit__(self, *exc: Any) -> bool:
        try:
            return bool(self._cm.__exit__(*exc))
        except CredentialsError as error:
            _fail(str(error), 1)
