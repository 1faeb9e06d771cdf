"""Sign-in and sign-out, and :func:`require_user`, which every page and action depends on.

Passwords are checked with argon2-cffi (the reference Argon2 binding, maintained by the
PHC winner's ecosystem, constant-time verification inside ``verify``). A wrong password
or unknown name gives the same message and the same work (an unknown name is verified
against a dummy hash), plus a short pause; five failures in a row lock a name for a
while. The counter is per process, in memory: enough against a guessing script, and
nothing to store.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from console.config import ConsoleSettings
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


class Lockout:
    """Failures in a row per user name, and until when a name is locked."""

    def __init__(self, max_failures: int, lockout_s: float) -> None:
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.failures: dict[str, int] = {}
        self.locked_until: dict[str, float] = {}

    def locked(self, name: str) -> bool:
        return self.locked_until.get(name, 0.0) > time.monotonic()

    MAX_TRACKED = 10_000
    """Names counted at once; beyond it the oldest counts are dropped, so a script
    trying endless made-up names cannot grow the process's memory."""

    def failed(self, name: str) -> None:
        if len(self.failures) >= self.MAX_TRACKED and name not in self.failures:
            self.failures.pop(next(iter(self.failures)))
        now = time.monotonic()
        for locked in [n for n, until in self.locked_until.items() if until <= now]:
            del self.locked_until[locked]
        count = self.failures.get(name, 0) + 1
        self.failures[name] = count
        if count >= self.max_failures:
            self.locked_until[name] = time.monotonic() + self.lockout_s
            self.failures[name] = 0

    def succeeded(self, name: str) -> None:
        self.failures.pop(name, None)
        self.locked_until.pop(name, None)


def current_user(request: Request) -> str | None:
    user = request.session.get("user")
    return user if isinstance(user, str) and user else None


def require_user(request: Request) -> str:
    """The signed-in clerk's name; otherwise :class:`NotSignedIn` (a redirect to
    ``/login?next=<this page>``; for htmx an ``HX-Redirect``)."""
    user = current_user(request)
    if user is None:
        path = request.url.path
        if request.url.query:
            path += "?" + request.url.query
        if request.headers.get("HX-Request") and request.headers.get("HX-Current-URL"):
            # a partial's URL is no page to come back to; the page the clerk was on is
            path = same_origin_path(request.headers["HX-Current-URL"], str(request.base_url)) or "/billing"
        raise NotSignedIn(safe_url(path))
    return user


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
    if lockout.locked(name):
        return render(request, "login.html", status_code=429, next=safe_url(next), error="login.locked", username=name)
    hashed = settings.user_hashes().get(name)
    if not verify_password(hashed, password):
        lockout.failed(name)
        await asyncio.sleep(settings.login_delay_s)
        return render(request, "login.html", status_code=401, next=safe_url(next), error="login.wrong", username=name)
    lockout.succeeded(name)
    lang = request.session.get("lang")
    request.session.clear()  # a fresh session (and CSRF token) on sign-in
    request.session["user"] = name
    if lang:
        request.session["lang"] = lang
    return RedirectResponse(safe_url(next), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang
    return RedirectResponse("/login", status_code=303)
