"""Sign-in and sign-out, and :func:`require_user`, which every page and action depends on.

Passwords are checked with argon2-cffi (the reference Argon2 binding, maintained by the
PHC winner's ecosystem, constant-time verification inside ``verify``). A wrong password
or unknown name gives the same message and the same work (an unknown name is verified
against a dummy hash), plus a short pause.

:class:`Lockout` counts sign-in attempts in the console's store (console/store.py), so
the count holds across restarts and replicas, keyed by (user name, client address) and
by the client address alone, never by the name alone: repeated failures lock that name
*from that address*, and an address failing with many names is locked whatever name it
tries; a clerk at her own desk is never locked out by someone typing her name elsewhere.
Each attempt is counted *before* its password is checked, in one atomic store step, so
parallel guesses cannot all slip past the check: over the limit an attempt is refused
(429) unchecked. An IPv6 client counts by its /64. The client address is
``request.client.host`` (uvicorn decides whether a proxy's ``X-Forwarded-For`` counts:
``--forwarded-allow-ips``).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from console.config import ConsoleSettings
from console.session import begin_session, end_session
from console.store import Store
from console.urls import safe_url, same_origin_path
from console.web import render

_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("not a password of anyone")

router = APIRouter()


class NotSignedIn(Exception):
    """No signed-in clerk: answered with a redirect to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def hash_password(password: str) -> str:
    """An argon2id hash to put in ``CONSOLE_USERS`` or the users file."""
    return _HASHER.hash(password)


def verify_password(hashed: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(hashed or _DUMMY, password) and hashed is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt that was counted and may have its password checked."""

    pair: str
    alone: str
    pair_count: int
    alone_count: int


class Lockout:
    """Attempts per (name, address) and per address, and the locks they lead to.

    An attempt is *counted before* its password is checked (one atomic step in the
    store), so parallel guesses each see their own count: past the limit an attempt is
    refused without a check, however many arrive at once. A success takes its own count
    back (the name's count from that address starts again)."""

    def __init__(
        self,
        store: Store,
        *,
        max_failures: int,
        max_failures_per_address: int,
        lockout_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.max_failures = max_failures
        self.max_failures_per_address = max_failures_per_address
        self.lockout_s = lockout_s
        self.clock = clock

    @staticmethod
    def keys(name: str, address: str) -> tuple[str, str]:
        """The store keys of (name, address) and of the address: hashes, so the store
        holds no user name or address. An IPv6 address counts by its /64 (one
        subscriber's network: it holds more addresses than anyone could try)."""
        where = address_group(address)
        pair = hashlib.sha256(f"name-address\0{name}\0{where}".encode()).hexdigest()
        alone = hashlib.sha256(f"address\0{where}".encode()).hexdigest()
        return pair, alone

    async def attempt(self, name: str, address: str) -> Attempt | None:
        """Count this attempt; None when the name from this address, or the address,
        is over its limit or locked (refuse it, check no password)."""
        now = self.clock()
        pair, alone = self.keys(name, address)
        alone_count, alone_lock = await self.store.attempt(alone, now, self.lockout_s)
        if alone_lock is not None or alone_count > self.max_failures_per_address:
            return None
        pair_count, pair_lock = await self.store.attempt(pair, now, self.lockout_s)
        if pair_lock is not None or pair_count > self.max_failures:
            await self.store.forget_attempt(alone)  # never checked: the address's count keeps to checks
            return None
        return Attempt(pair, alone, pair_count, alone_count)

    async def failed(self, attempt: Attempt) -> None:
        """A wrong password: at its limit a key is locked for ``lockout_s`` from now."""
        now = self.clock()
        for key, count, limit in (
            (attempt.pair, attempt.pair_count, self.max_failures),
            (attempt.alone, attempt.alone_count, self.max_failures_per_address),
        ):
            if count >= limit:
                await self.store.lock(key, now, now + self.lockout_s)

    async def succeeded(self, attempt: Attempt) -> None:
        """The name's count from this address starts again; the address's own count
        only loses this attempt (one good account must not reset a script trying
        other names)."""
        await self.store.clear_failures(attempt.pair)
        await self.store.forget_attempt(attempt.alone)


def address_group(address: str) -> str:
    """What the lockout counts a client by: an IPv4 address itself, an IPv6 address by
    its /64 (an IPv4-mapped one as the IPv4 address); anything else as given."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_address(request: Request) -> str:
    """The address the request came from, as uvicorn saw it (after its proxy-headers
    handling, when the proxy is trusted)."""
    return request.client.host if request.client else "unknown"


def current_user(request: Request) -> str | None:
    user = request.session.get("user")
    return user if isinstance(user, str) and user else None


def _page_to_return_to(request: Request) -> str:
    """The page to come back to after sign-in: this page; for an htmx request the page
    the clerk was on (a partial's URL is no page); for a plain form post the Billing tab."""
    if request.headers.get("HX-Request") and request.headers.get("HX-Current-URL"):
        return safe_url(same_origin_path(request.headers["HX-Current-URL"], str(request.base_url)) or "/billing")
    if request.method not in ("GET", "HEAD"):
        return "/billing"
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return safe_url(path)


def require_user(request: Request) -> str:
    """The signed-in clerk's name; otherwise :class:`NotSignedIn` (a redirect to
    ``/login?next=<this page>``; for htmx an ``HX-Redirect``)."""
    user = current_user(request)
    if user is None:
        raise NotSignedIn(_page_to_return_to(request))
    return user


def sign_in_again(request: Request) -> Response:
    """The answer to an unsafe request that came with no live session at all (ended,
    signed out, revoked, never begun): nothing was done; to the sign-in page."""
    return redirect_to_login(request, NotSignedIn(_page_to_return_to(request)))


User = Annotated[str, Depends(require_user)]


def redirect_to_login(request: Request, exc: NotSignedIn) -> Response:
    target = f"/login?next={quote(exc.next_url, safe='')}"
    if request.headers.get("HX-Request"):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.get("/login")
async def login_page(request: Request, next: str = "/billing") -> Response:
    return render(request, "login.html", next=safe_url(next), error=None, username="")


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/billing",
) -> Response:
    settings: ConsoleSettings = request.app.state.settings
    lockout: Lockout = request.app.state.lockout
    name = username.strip()
    address = client_address(request)
    attempt = await lockout.attempt(name, address)  # counted before the check: parallel guesses too
    if attempt is None:
        return render(request, "login.html", status_code=429, next=safe_url(next), error="login.locked", username=name)
    hashed = settings.user_hashes().get(name)
    # argon2 takes tens of milliseconds of CPU: in a worker thread, so other requests go on
    if not await anyio.to_thread.run_sync(verify_password, hashed, password):
        await lockout.failed(attempt)
        await asyncio.sleep(settings.login_delay_s)
        return render(request, "login.html", status_code=401, next=safe_url(next), error="login.wrong", username=name)
    await lockout.succeeded(attempt)
    begin_session(request, name)  # a fresh session id and CSRF token (no fixation)
    return RedirectResponse(safe_url(next), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    end_session(request)  # the session's row is deleted: its cookie and token are worthless now
    return RedirectResponse("/login", status_code=303)
