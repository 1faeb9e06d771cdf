"""The signed session cookie.

Starlette's ``SessionMiddleware`` fixes the Secure flag when the app starts; this one
sets it per response: always when ``cookie_secure`` is on, and whenever the request came
over https (``X-Forwarded-Proto`` from a proxy counts, when uvicorn trusts the proxy).
The cookie is JSON signed with itsdangerous' ``TimestampSigner`` and re-signed on every
response, so ``max_age`` is an *idle* limit: a clerk who clicks nothing for that long
signs in again. HttpOnly (scripts cannot read it) and SameSite=Lax (not sent on a
cross-site POST, the first line against CSRF; the token in :mod:`console.csrf` is the
second).
"""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from typing import Any

from itsdangerous import BadSignature, TimestampSigner
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class SessionMiddleware:
    def __init__(self, app: ASGIApp, *, secret: str, cookie_name: str, max_age: int, always_secure: bool) -> None:
        self.app = app
        self.signer = TimestampSigner(secret, salt="console-session")
        self.cookie_name = cookie_name
        self.max_age = max_age
        self.always_secure = always_secure

    def _load(self, raw: str | None) -> dict[str, Any]:
        if not raw:
            return {}
        try:
            data = self.signer.unsign(raw.encode(), max_age=self.max_age)
            loaded = json.loads(b64decode(data))
        except (BadSignature, ValueError):
            # expired, tampered with or from another key: an empty session (sign in again)
            return {}
        return loaded if isinstance(loaded, dict) else {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        had_cookie = self.cookie_name in connection.cookies
        scope["session"] = self._load(connection.cookies.get(self.cookie_name))
        secure = self.always_secure or scope.get("scheme") == "https"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                session = scope["session"]
                flags = f"Path=/; HttpOnly; SameSite=Lax{'; Secure' if secure else ''}"
                if session:
                    value = self.signer.sign(b64encode(json.dumps(session).encode())).decode()
                    headers.append("Set-Cookie", f"{self.cookie_name}={value}; Max-Age={self.max_age}; {flags}")
                elif had_cookie:
                    headers.append("Set-Cookie", f"{self.cookie_name}=; Max-Age=0; {flags}")
            await send(message)

        await self.app(scope, receive, send_wrapper)
