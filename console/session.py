"""Server-side sessions.

The cookie carries only an opaque random id (``secrets.token_urlsafe(32)``, 256 bits);
the session itself (the clerk, the language, the CSRF token, flash messages) lives in
the store (:mod:`console.store`) under the SHA-256 of that id. ``request.session`` stays
a plain dict, so the rest of the console does not know where it is kept.

- The server decides when a session ends: ``session_idle_s`` after its last request
  (last-seen is written at most once a minute, or a tenth of the idle time when that is
  shorter; 15 minutes at most before anyone signed in) and ``session_max_age_s`` after
  it began, however busy. An ended session,
  a forged or a deleted id all give an empty session: sign in again.
- :func:`begin_session` (sign-in) and :func:`end_session` (sign-out) throw the old id
  away: its row is deleted, and what the session still holds (the language) goes on under
  a new id. So an id seen before sign-in is worthless after it (no fixation), and a
  copied cookie is worthless after sign-out.
- The row is written back only when the dict changed (compared as JSON); a new id only
  when there is something to keep, so no row exists for a request that stored nothing.
- Cookie flags as before: HttpOnly (scripts cannot read it), SameSite=Lax (not sent on a
  cross-site POST; the token in :mod:`console.csrf` is the second line), Secure when
  ``cookie_secure`` is on or the request came over https (``X-Forwarded-Proto`` counts
  when uvicorn trusts the proxy). Max-Age: the absolute lifetime. A Secure cookie is
  named ``__Host-console_session`` (only this host can set it: no session planted from
  a sibling subdomain); over plain http (development) ``console_session``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console.store import SessionEnds, SessionRecord, Store

log = logging.getLogger(__name__)

Clock = Callable[[], float]
STATE = "console.session"
"""The scope key of the request's :class:`_State`."""
_ID = re.compile(r"[A-Za-z0-9_-]{32,64}")
NO_SESSION_PATHS = ("/static/", "/healthz")
ANONYMOUS_IDLE_S = 900.0
"""A session nobody signed in to (the sign-in page's CSRF token, a language) ends after
15 idle minutes, so a script fetching the sign-in page fills no table for an hour."""


def session_key(session_id: str) -> str:
    """The store's key of a session id: its SHA-256 (the id itself is never stored)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass
class Sessions:
    """The store with the lifetimes and the clock: what the middleware, sign-in and the
    revocation command share."""

    store: Store
    idle_s: float
    max_age_s: float
    failure_window_s: float = 0.0
    """How long :class:`console.auth.Lockout` counts failures (purge keeps them that long)."""
    clock: Clock = time.time

    @property
    def touch_every_s(self) -> float:
        return min(60.0, self.idle_s / 10)

    def ends(self, now: float) -> SessionEnds:
        anonymous = min(self.idle_s, ANONYMOUS_IDLE_S)
        return SessionEnds(now - self.idle_s, now - anonymous, now - self.max_age_s)

    def alive(self, record: SessionRecord, now: float) -> bool:
        return not self.ends(now).ended(record)

    async def load(self, key: str) -> SessionRecord | None:
        """The live session under ``key``; an ended one is deleted and gives ``None``."""
        record = await self.store.get(key)
        if record is None:
            return None
        if not self.alive(record, self.clock()):
            await self.store.delete(key)
            return None
        return record

    async def revoke_user(self, user: str) -> int:
        """End every session of ``user`` (on every replica: they share the store)."""
        return await self.store.delete_user(user)

    async def purge(self) -> int:
        """Delete ended sessions, and failure counts older than ``failure_window_s``
        that lock nothing any more; how many rows went."""
        now = self.clock()
        return await self.store.purge(now, self.ends(now), now - self.failure_window_s)


@dataclass
class _State:
    key: str | None
    """The store key of the live session this request came with (None: none)."""
    snapshot: str
    last_seen_at: float = 0.0
    renew: bool = False
    """Sign-in or sign-out: the old id is thrown away."""
    came_with_session: bool = False


def came_with_session(request: Any) -> bool:
    """Did the request come with a live session (not: none, ended, signed out, revoked)?"""
    state = request.scope.get(STATE)
    return bool(state and state.came_with_session)


def begin_session(request: Any, user: str) -> None:
    """Sign ``user`` in: a new session id (the old one, seen before sign-in, is
    deleted), a new CSRF token; the language chosen before is kept."""
    session: dict[str, Any] = request.session
    lang = session.get("lang")
    session.clear()
    session["user"] = user
    if lang:
        session["lang"] = lang
    request.scope[STATE].renew = True


def end_session(request: Any) -> None:
    """Sign out: the session's row is deleted (its cookie and CSRF token are worthless
    from now on); the language goes on under a new id."""
    session: dict[str, Any] = request.session
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    request.scope[STATE].renew = True


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


_HOST_PREFIX = "__Host-"


class SessionMiddleware:
    def __init__(
        self, app: ASGIApp, *, sessions: Sessions, cookie_name: str, max_age: int, always_secure: bool
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.cookie_name = cookie_name
        self.max_age = max_age
        self.always_secure = always_secure

    def name(self, secure: bool) -> str:
        """The cookie's name: ``__Host-<name>`` when it is Secure (a browser then takes it
        only from this very host, Secure, ``Path=/``, without ``Domain``, so a sibling
        subdomain cannot plant one); the plain name over http (development)."""
        plain = self.cookie_name.removeprefix(_HOST_PREFIX)
        return _HOST_PREFIX + plain if secure else plain

    async def _load(self, raw: str | None) -> tuple[str | None, SessionRecord | None]:
        if not raw or not _ID.fullmatch(raw):
            return None, None
        key = session_key(raw)
        return key, await self.sessions.load(key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope.get("path", "").startswith(NO_SESSION_PATHS):
            scope["session"] = {}  # a stylesheet or a health check: no look-up in the store
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        secure = self.always_secure or scope.get("scheme") == "https"
        name = self.name(secure)
        had_cookie = name in connection.cookies
        key, record = await self._load(connection.cookies.get(name))
        data = record.data if record is not None else {}
        state = _State(
            key if record is not None else None,
            _dump(data),
            record.last_seen_at if record else 0.0,
            came_with_session=record is not None,
        )
        scope["session"] = data
        scope[STATE] = state

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = await self._save(scope["session"], state)
                if cookie is not None or (had_cookie and state.key is None):
                    headers = MutableHeaders(scope=message)
                    flags = f"Path=/; HttpOnly; SameSite=Lax{'; Secure' if secure else ''}"
                    if cookie:
                        headers.append("Set-Cookie", f"{name}={cookie}; Max-Age={self.max_age}; {flags}")
                    else:
                        headers.append("Set-Cookie", f"{name}=; Max-Age=0; {flags}")
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _save(self, data: dict[str, Any], state: _State) -> str | None:
        """Write the session back; a new id to set as the cookie, or None. ``state.key``
        is None afterwards when the browser's cookie should be cleared."""
        store, now = self.sessions.store, self.sessions.clock()
        if state.key is not None and (state.renew or not data):
            await store.delete(state.key)
            state.key = None
        if state.key is None:
            if not data:
                return None
            new_id = secrets.token_urlsafe(32)
            await store.create(session_key(new_id), SessionRecord(data, now, now))
            return new_id
        if _dump(data) != state.snapshot:
            if not await store.update(state.key, data, now):
                state.key = None  # ended meanwhile (sign-out elsewhere, revoked): stays ended
        elif now - state.last_seen_at >= self.sessions.touch_every_s:
            await store.touch(state.key, now)
        return None


async def purge_periodically(sessions: Sessions, interval_s: float) -> None:
    """Delete ended sessions and stale failure counts every ``interval_s`` (a task of
    the app's lifespan; each replica does it, the deletes are idempotent). A failed
    purge is logged and tried again next time."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            gone = await sessions.purge()
        except Exception as exc:  # the database away for a while: the next round catches up
            log.warning("purging ended console sessions failed: %s", type(exc).__name__)
            continue
        if gone:
            log.info("purged %d ended console sessions and stale sign-in failure counts", gone)
