"""Where the console keeps its sessions, its sign-in failures and the bank files a clerk
uploaded for a preview (until she confirms them or they expire): one small interface,
two stores.

- :class:`console.store_pg.PostgresStore`: the console's own PostgreSQL database
  (``CONSOLE_DATABASE_URL``), shared by every replica and kept across restarts.
- :class:`MemoryStore`: in the process, for development without a database (refused in
  ``CONSOLE_MODE=production``): a restart signs everyone out and forgets the failures.

A session is found by the SHA-256 of its id (the cookie's value); the id itself is never
stored, so a copy of the table signs nobody in. Times are seconds since the epoch from
the console's clock (injectable, so tests never wait).

A session row is only ever *created* with a fresh id and otherwise *updated*: a request
still running when the session is ended (sign-out, revocation) cannot bring it back.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class SessionRecord:
    data: dict[str, Any]
    created_at: float
    last_seen_at: float

    @property
    def user(self) -> str | None:
        user = self.data.get("user")
        return user if isinstance(user, str) and user else None


@dataclass(frozen=True)
class Upload:
    """A file a clerk uploaded for a preview, kept on the server until she confirms it
    (the browser holds only an opaque token): the import sends exactly these bytes."""

    user: str
    file_name: str
    data: bytes
    sha256: str
    expires_at: float


@dataclass(frozen=True)
class SessionEnds:
    """Which sessions have ended at one moment: last seen at or before ``idle_before``
    (``anonymous_idle_before`` for one nobody signed in to), or created at or before
    ``created_before``."""

    idle_before: float
    anonymous_idle_before: float
    created_before: float

    def ended(self, record: SessionRecord) -> bool:
        idle_before = self.idle_before if record.user else self.anonymous_idle_before
        return record.last_seen_at <= idle_before or record.created_at <= self.created_before


class Store(Protocol):
    async def open(self) -> None:
        """Connect (and, when asked, migrate or check the schema)."""

    async def close(self) -> None: ...

    # --- sessions, by the SHA-256 (hex) of the id ---
    async def get(self, key: str) -> SessionRecord | None: ...

    async def create(self, key: str, record: SessionRecord) -> None: ...

    async def update(self, key: str, data: dict[str, Any], last_seen_at: float) -> bool:
        """Replace the data and last-seen time of a session that still exists."""
        ...

    async def touch(self, key: str, last_seen_at: float) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def delete_user(self, user: str) -> int:
        """End every session of ``user``; how many there were."""
        ...

    async def purge(self, now: float, ends: SessionEnds, window_before: float) -> int:
        """Delete the sessions ``ends`` says have ended, failure counts begun before
        ``window_before`` that lock nothing any more, and uploads expired by ``now``;
        how many rows went."""
        ...

    # --- uploads waiting for their confirmation, by the SHA-256 (hex) of their token ---
    async def put_upload(self, key: str, upload: Upload) -> None: ...

    async def get_upload(self, key: str, user: str, now: float) -> Upload | None:
        """The upload under ``key`` when ``user`` made it and it has not expired."""
        ...

    async def delete_upload(self, key: str) -> None: ...

    # --- sign-in attempts, by an opaque key (console.auth hashes name and address) ---
    async def attempt(self, key: str, now: float, window_s: float) -> tuple[int, float | None]:
        """Count one sign-in attempt, in one atomic step (parallel attempts each see their
        own count): the attempts within ``window_s`` of the first one counted (an older
        count with no lock running starts again at 1), and the lock still running on
        ``key`` (None: none)."""
        ...

    async def forget_attempt(self, key: str) -> None:
        """Take back one counted attempt (it was refused for another key, or succeeded)."""
        ...

    async def lock(self, key: str, now: float, until: float) -> None:
        """Lock ``key`` until ``until`` (a later lock already running stays)."""
        ...

    async def clear_failures(self, key: str) -> None: ...


MAX_COUNT = 1_000_000
"""A count stops growing here (a script hammering a locked key)."""


@dataclass
class _Failures:
    count: int
    window_start: float
    locked_until: float | None = None


@dataclass
class MemoryStore:
    """The in-process store (development only)."""

    max_tracked: int = 10_000
    """Failure keys kept at once; beyond it the oldest are dropped, so a script trying
    endless names cannot grow the process's memory."""
    max_uploads: int = 20
    """Uploads kept at once (development only: up to 16 MiB each); beyond it the oldest
    are dropped (its clerk uploads it again)."""
    sessions: dict[str, SessionRecord] = field(default_factory=dict)
    failures: dict[str, _Failures] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def get(self, key: str) -> SessionRecord | None:
        found = self.sessions.get(key)
        if found is None:
            return None
        return SessionRecord(_copy(found.data), found.created_at, found.last_seen_at)

    async def create(self, key: str, record: SessionRecord) -> None:
        if key in self.sessions:
            raise KeyError("a session id was issued twice")
        self.sessions[key] = SessionRecord(_copy(record.data), record.created_at, record.last_seen_at)

    async def update(self, key: str, data: dict[str, Any], last_seen_at: float) -> bool:
        found = self.sessions.get(key)
        if found is None:
            return False
        found.data = _copy(data)
        found.last_seen_at = last_seen_at
        return True

    async def touch(self, key: str, last_seen_at: float) -> None:
        if (found := self.sessions.get(key)) is not None:
            found.last_seen_at = last_seen_at

    async def delete(self, key: str) -> None:
        self.sessions.pop(key, None)

    async def delete_user(self, user: str) -> int:
        keys = [k for k, r in self.sessions.items() if r.user == user]
        for k in keys:
            del self.sessions[k]
        return len(keys)

    async def purge(self, now: float, ends: SessionEnds, window_before: float) -> int:
        ended = [k for k, r in self.sessions.items() if ends.ended(r)]
        for k in ended:
            del self.sessions[k]
        old = [
            k
            for k, f in self.failures.items()
            if f.window_start < window_before and (f.locked_until is None or f.locked_until <= now)
        ]
        for k in old:
            del self.failures[k]
        expired = [k for k, u in self.uploads.items() if u.expires_at <= now]
        for k in expired:
            del self.uploads[k]
        return len(ended) + len(old) + len(expired)

    async def put_upload(self, key: str, upload: Upload) -> None:
        while len(self.uploads) >= self.max_uploads:
            self.uploads.pop(next(iter(self.uploads)))
        self.uploads[key] = upload

    async def get_upload(self, key: str, user: str, now: float) -> Upload | None:
        found = self.uploads.get(key)
        if found is None or found.user != user or found.expires_at <= now:
            return None
        return found

    async def delete_upload(self, key: str) -> None:
        self.uploads.pop(key, None)

    def _counted(self, key: str, now: float) -> _Failures:
        found = self.failures.get(key)
        if found is None:
            if len(self.failures) >= self.max_tracked:
                self.failures.pop(next(iter(self.failures)))
            found = self.failures[key] = _Failures(0, now)
        return found

    async def attempt(self, key: str, now: float, window_s: float) -> tuple[int, float | None]:
        with self._guard:  # no await inside: one step, like the database's UPSERT
            found = self._counted(key, now)
            locked = found.locked_until if found.locked_until is not None and found.locked_until > now else None
            if found.window_start <= now - window_s and locked is None:
                found.count, found.window_start, found.locked_until = 0, now, None
            found.count = min(found.count + 1, MAX_COUNT)
            return found.count, locked

    async def forget_attempt(self, key: str) -> None:
        with self._guard:
            if (found := self.failures.get(key)) is not None:
                if found.count <= 1 and found.locked_until is None:
                    del self.failures[key]  # a success leaves no trace
                else:
                    found.count = max(found.count - 1, 0)

    async def lock(self, key: str, now: float, until: float) -> None:
        with self._guard:
            found = self._counted(key, now)
            found.locked_until = max(until, found.locked_until or until)

    async def clear_failures(self, key: str) -> None:
        with self._guard:
            self.failures.pop(key, None)


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    """A deep copy through JSON, as the database stores it (so both stores behave alike)."""
    loaded: dict[str, Any] = json.loads(json.dumps(data))
    return loaded
