"""HTTP pieces every service's API has: bearer-token auth, health and readiness."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False)

ReadinessCheck = Callable[[], Awaitable[bool]]


def require_token(expected: Callable[[Request], str]) -> Callable[..., Awaitable[None]]:
    """Dependency refusing calls without the service's API token (401)."""

    async def check(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
        token = expected(request)
        if (
            not token
            or credentials is None
            or not secrets.compare_digest(credentials.credentials.encode(), token.encode())
        ):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail={
                    "code": "unauthorized",
                    "message_fi": "Tunnus puuttuu tai on väärä.",
                    "message_en": "Missing or wrong API token.",
                },
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check


def health_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    """``/healthz``: the process answers. ``/readyz``: every dependency answers."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                results[name] = "ok" if await check() else "down"
            except Exception:
                results[name] = "down"
        ready = all(v == "ok" for v in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": results},
            status_code=200 if ready else 503,
        )

    return router
