"""The built-in issuer: per-caller credentials in one JSON file that holds only hashes.

Every service is given the same file (``<PREFIX>CREDENTIALS_FILE``). A credential has a
name (the principal: ``order-system``, ``console``, ``ops-anna``), a kind (``system`` or
``person``), scope patterns (:mod:`shared.auth.scopes`) and one or more keys. A token is
``bk_<key id>_<secret>``: the key id finds the key, and the SHA-256 of the whole token is
compared in constant time with the stored hash (a token is 256 random bits, so a fast
hash is the right one; a password hash would cost every request).

Rotation adds a key and gives the old one an expiry (both valid during the overlap);
revocation stamps a key (or every key of a credential) revoked. The store re-reads the
file when it changes, so both take effect in running services without a restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from shared.auth.principal import Principal
from shared.auth.scopes import expand

TOKEN_PREFIX = "bk"  # noqa: S105 (the tokens' visible prefix, not a secret)
_TOKEN = re.compile(r"^bk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_NAME = r"^[a-z0-9][a-z0-9._-]{0,62}$"


class Key(BaseModel):
    id: str = Field(pattern=r"^[0-9a-f]{12}$")
    hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    created: datetime
    expires: datetime | None = None
    revoked: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        return self.revoked is None and (self.expires is None or now < self.expires)


class Credential(BaseModel):
    name: str = Field(pattern=_NAME)
    kind: Literal["system", "person"] = "system"
    scopes: list[str]
    keys: list[Key] = []
    description: str = ""

    @field_validator("scopes")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        expand(value)  # raises UnknownScope for a typo
        return value


class CredentialsFile(BaseModel):
    credentials: list[Credential] = []

    @field_validator("credentials")
    @classmethod
    def _unique(cls, value: list[Credential]) -> list[Credential]:
        names = [c.name for c in value]
        ids = [k.id for c in value for k in c.keys]
        if len(set(names)) != len(names):
            raise ValueError("two credentials have one name")
        if len(set(ids)) != len(ids):
            raise ValueError("two keys have one id")
        return value

    def find(self, name: str) -> Credential | None:
        return next((c for c in self.credentials if c.name == name), None)


class CredentialsError(Exception):
    """The credentials file cannot be read (the message names the file, never a hash)."""


def hash_token(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh ``(key id, token)``."""
    key_id = secrets.token_hex(6)
    return key_id, f"{TOKEN_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def now_utc() -> datetime:
    return datetime.now(UTC)


def add_key(cred: Credential, *, at: datetime, expires: datetime | None = None) -> str:
    """Give ``cred`` a new key; the token (shown once, never stored)."""
    key_id, token = new_token()
    cred.keys.append(Key(id=key_id, hash=hash_token(token), created=at, expires=expires))
    return token


def rotate(cred: Credential, *, at: datetime, overlap: timedelta) -> str:
    """A new key; every key still valid now stays valid for ``overlap`` more (at most)."""
    for key in cred.keys:
        if key.valid_at(at):
            end = at + overlap
            key.expires = end if key.expires is None else min(key.expires, end)
    return add_key(cred, at=at)


def revoke(cred: Credential, *, at: datetime, key_id: str | None = None) -> int:
    """Revoke one key (``key_id``) or every key; how many were revoked now."""
    count = 0
    for key in cred.keys:
        if (key_id is None or key.id == key_id) and key.revoked is None:
            key.revoked = at
            count += 1
    return count


def load(path: Path) -> CredentialsFile:
    try:
        return CredentialsFile.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise CredentialsError(f"credentials file {path}: {exc.strerror}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" if e["loc"] else e["msg"] for e in exc.errors()
        )
        raise CredentialsError(f"credentials file {path} is not valid: {problems}") from None


def save(path: Path, data: CredentialsFile) -> None:
    """Write atomically (a running service never reads half a file), owner-only."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    text = json.dumps(data.model_dump(mode="json", exclude_defaults=False), indent=2, ensure_ascii=False) + "\n"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def lock_path(path: Path) -> Path:
    """The sibling file an edit locks (``credentials.json.lock``); never removed, so two
    editors always lock the same inode."""
    return path.with_name(f"{path.name}.lock")


@contextlib.contextmanager
def edit(path: Path, *, create: bool = False) -> Iterator[CredentialsFile]:
    """Read-modify-write under an exclusive lock (``fcntl.flock`` on :func:`lock_path`),
    so two concurrent edits (two operators, a script) never lose each other's change.
    The contents are saved atomically when the block ends without an exception.
    ``create``: a missing file starts empty (it is written 0600)."""
    try:
        fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise CredentialsError(f"credentials file {path}: cannot lock it: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = CredentialsFile() if create and not path.exists() else load(path)
        yield data
        try:
            CredentialsFile.model_validate(data.model_dump())  # still a file every service can load
        except ValidationError as exc:
            raise CredentialsError(f"credentials file {path}: not saved: {exc.errors()[0]['msg']}") from None
        try:
            save(path, data)
        except OSError as exc:
            raise CredentialsError(f"credentials file {path}: cannot write it: {exc.strerror}") from None
    finally:
        os.close(fd)  # closing releases the lock


class CredentialStore:
    """Verifies bearer tokens against the file, re-reading it when it changes (checked
    at most once every ``recheck_s``). A file that turns invalid keeps the last good
    contents (and says so in the log) rather than locking every caller out."""

    def __init__(
        self,
        path: Path | None,
        *,
        recheck_s: float = 1.0,
        clock: Callable[[], datetime] = now_utc,
        data: CredentialsFile | None = None,
    ) -> None:
        self.path = path
        self.recheck_s = recheck_s
        self.clock = clock
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self._by_key: dict[str, tuple[Credential, Key]] = {}
        self.last_error: str | None = None
        if data is not None:
            self._index(data)
        elif path is not None:
            self._stamp = self._file_stamp()  # before reading: an edit in between is read at the next check
            self._index(load(path))  # a broken file stops the start

    def _index(self, data: CredentialsFile) -> None:
        self._by_key = {key.id: (cred, key) for cred in data.credentials for key in cred.keys}

    def _file_stamp(self) -> tuple[int, int] | None:
        assert self.path is not None
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _refresh(self) -> None:
        if self.path is None:
            return
        now = time.monotonic()
        if now - self._checked < self.recheck_s:
            return
        with self._lock:
            self._checked = now
            stamp = self._file_stamp()
            if stamp == self._stamp:
                return
            try:
                self._index(load(self.path))
                self.last_error = None
            except CredentialsError as exc:
                logging.getLogger(__name__).error("keeping the previous credentials: %s", exc)
                self.last_error = str(exc)
            self._stamp = stamp

    def verify(self, token: str) -> Principal | None:
        """The principal of a valid, unexpired, unrevoked token; otherwise None."""
        match = _TOKEN.match(token)
        if not match:
            return None
        self._refresh()
        found = self._by_key.get(match.group(1))
        if found is None:
            hmac.compare_digest(hash_token(token), hash_token(""))  # the same work either way
            return None
        cred, key = found
        if not hmac.compare_digest(hash_token(token).encode(), key.hash.encode()):
            return None
        if not key.valid_at(self.clock()):
            return None
        return Principal(subject=cred.name, kind=cred.kind, scopes=expand(cred.scopes), credential_id=key.id)

    def __len__(self) -> int:
        return len(self._by_key)
