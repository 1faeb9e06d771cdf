"""The services' authorization matrix (issue 19): every route of every service's HTTP
app × every scope, walked over the apps' real routes (not a list kept by hand).

- every route but the probes and the docs declares exactly one scope (``require``), and
  it is a scope of its own service (or ``metrics`` for ``/metrics``);
- without a token: 401; with a credential holding only another scope: 403 ``forbidden``
  naming the route's scope; with a credential holding only the route's own scope:
  neither 401 nor 403 (the app runs without its lifespan, so a handler that reaches for
  the database fails there instead: that is past the authorization, which is the point).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from shared.auth.http import required_scopes
from shared.auth.scopes import ACT_FOR_CLERKS, ALL_SCOPES, METRICS, OPERATIONS
from tests.support.credentials import credentials

SERVICES = tuple(OPERATIONS)
OPEN = {"/healthz", "/readyz", "/readyz/all"}
"""The probes: open by design (Kubernetes calls them without a token)."""
DOCS = {"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}

CATALOGUE: dict[str, dict[tuple[str, str], str]] = {
    # the routes whose operation is not read (every other route is a GET: <service>:read)
    "customers": {
        ("PATCH", "/customers/{customer_number}"): "write",
        ("POST", "/customers/{customer_number}/erasure"): "admin",
        ("POST", "/customers/republish-profiles"): "admin",
        ("POST", "/dead-letters/replay"): "replay",
    },
    "invoicing": {
        ("POST", "/billing-runs"): "bill",
        ("PATCH", "/invoices/{invoice_id}/lines/{line_no}"): "bill",
        ("DELETE", "/invoices/{invoice_id}/lines/{line_no}"): "bill",
        ("DELETE", "/invoices/{invoice_id}"): "bill",
        ("POST", "/invoices/{invoice_id}/confirm"): "bill",
        ("POST", "/invoices/confirm"): "bill",
        ("POST", "/invoices/{invoice_id}/corrective"): "bill",
        ("POST", "/payments/{payment_id}/allocate"): "bill",
        ("POST", "/payments/{reversal_id:path}/apply"): "bill",
        ("POST", "/payments/files/preview"): "bill",
        ("POST", "/payments/files"): "bill",
        ("POST", "/dead-letters/replay"): "replay",
    },
    "reminders": {
        ("POST", "/reminders/create"): "remind",
        ("PUT", "/invoices/{invoice_id}/dispute"): "remind",
        ("POST", "/collection/handover"): "remind",
        ("POST", "/dead-letters/replay"): "replay",
    },
    "dispatch": {
        ("POST", "/sending/{channel}/send"): "send",
        ("POST", "/documents/{document_id}/resend"): "send",
        ("POST", "/documents/{document_id}/move"): "send",
        ("POST", "/dead-letters/replay"): "replay",
    },
}
"""DESIGN19's catalogue, written out: what each write needs (a route added later that
is not here must be a GET, or this test says which scope it should have)."""


def service_app(service: str) -> FastAPI:
    config = importlib.import_module(f"services.{service}.config")
    module = importlib.import_module(f"services.{service}.app")
    settings = config.Settings(
        kafka_bootstrap_servers="localhost:1",
        database_url="postgresql+asyncpg://nobody:nothing@localhost:1/none",
        database_connect_timeout_s=1.0,
        **credentials().settings(),
    )
    app: FastAPI = module.create_app(settings)
    return app


def routes(app: FastAPI) -> Iterator[Any]:
    """Every API route as the app serves it (its full path and its dependencies, those of
    the router it is included with too)."""
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            yield from contexts()
        elif isinstance(route, APIRoute):
            yield route


def guarded(app: FastAPI) -> Iterator[tuple[str, str, Any]]:
    for route in routes(app):
        if route.path in OPEN or route.path in DOCS:
            continue
        for method in sorted(route.methods):
            yield method, route.path, route


def _filled(path: str) -> str:
    """A path with each ``{parameter}`` filled with a value its pattern takes."""
    values = {
        "channel": "email",
        "document_id": "00000000-0000-0000-0000-000000000001",
        "job_id": "00000000-0000-0000-0000-000000000001",
        "line_no": "1",
        "dead_letter_id": "1",
    }
    return re.sub(r"\{([^}:]+)(?::path)?\}", lambda m: values.get(m.group(1), "1"), path)


def worker_app(channel: str) -> FastAPI:
    from services.dispatch.app import build_worker
    from services.dispatch.app import worker_app as make
    from services.dispatch.config import Settings

    settings = Settings(
        kafka_bootstrap_servers="localhost:1",
        database_url="postgresql+asyncpg://nobody:nothing@localhost:1/none",
        database_connect_timeout_s=1.0,
        **credentials().settings(),
    )
    return make(build_worker(channel, settings), channel)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def apps() -> dict[str, FastAPI]:
    """The four services' apps and a channel worker's (health, metrics, dead letters, jobs)."""
    return {**{service: service_app(service) for service in SERVICES}, "dispatch-email": worker_app("email")}


def owner(app_name: str) -> str:
    """The service whose scopes guard an app (a channel worker's: dispatch's)."""
    return app_name.split("-", maxsplit=1)[0]


def expected_scope(app_name: str, method: str, path: str) -> str:
    if path == "/metrics":
        return METRICS
    service = owner(app_name)
    op = CATALOGUE[service].get((method, path.replace("{payment_id:path}", "{payment_id}")))
    if op is None:
        assert method == "GET", f"{service} {method} {path}: a write missing from the catalogue"
        op = "read"
    return f"{service}:{op}"


def test_every_route_declares_exactly_one_scope_the_catalogues(apps: dict[str, FastAPI]) -> None:
    seen: dict[str, int] = {}
    for service, app in apps.items():
        for method, path, route in guarded(app):
            scopes = required_scopes(route)
            assert scopes == [expected_scope(service, method, path)], f"{service} {method} {path}: {scopes}"
            seen[service] = seen.get(service, 0) + 1
        found = {(m, p.replace("{payment_id:path}", "{payment_id}")) for m, p, _ in guarded(app)}
        if service in SERVICES:
            assert set(CATALOGUE[service]) <= found, f"{service}: catalogue routes not served"
    # the walk found the routes (one that finds none would pass anything)
    assert seen["customers"] >= 12 and seen["invoicing"] >= 20 and seen["reminders"] >= 12 and seen["dispatch"] >= 13
    assert seen["dispatch-email"] == 6  # metrics, dead letters (3), jobs (2)


async def test_every_route_times_every_scope(apps: dict[str, FastAPI]) -> None:
    creds = credentials()
    checked = 0
    for service, app in apps.items():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # no lifespan: no database, no Kafka
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}") as client:
            for method, path, route in guarded(app):
                own = required_scopes(route)[0]
                url, what = _filled(path), f"{service} {method} {path}"
                anonymous = await client.request(method, url)
                assert anonymous.status_code == 401, f"{what} without a token: {anonymous.status_code}"
                assert anonymous.json()["detail"]["code"] == "unauthorized", what
                assert anonymous.headers["WWW-Authenticate"] == "Bearer", what
                for scope in sorted(ALL_SCOPES):
                    bearer = {"Authorization": f"Bearer {creds.only(scope)}"}
                    answer = await client.request(method, url, headers=bearer)
                    if scope == own:
                        assert answer.status_code not in (401, 403), f"{what} with {scope}: {answer.text[:200]}"
                    else:
                        assert answer.status_code == 403, f"{what} with only {scope}: {answer.status_code}"
                        detail = answer.json()["detail"]
                        if scope == ACT_FOR_CLERKS:  # acts only for a clerk, and carries none
                            assert detail["code"] == "assertion-required", (what, detail)
                        else:
                            assert detail["code"] == "forbidden" and own in detail["message_en"], (what, detail)
                    checked += 1
    assert checked >= 60 * len(ALL_SCOPES), checked


async def test_a_wrong_or_unknown_token_is_401_and_the_actor_header_cannot_name_someone_else(
    apps: dict[str, FastAPI],
) -> None:
    creds = credentials()
    transport = httpx.ASGITransport(app=apps["customers"], raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://customers") as client:
        for token in ("test-token", creds.only("customers:read")[:-1] + "x", "bk_000000000000_" + "a" * 43):
            answer = await client.get("/customers", params={"q": "a"}, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, token
        own = {"Authorization": f"Bearer {creds.only('customers:read')}"}
        refused = await client.get("/customers", params={"q": "a"}, headers={**own, "X-Actor": "clerk-1"})
        assert refused.status_code == 403 and refused.json()["detail"]["code"] == "actor-header-refused"
        # naming oneself is harmless: past the authorization (the handler then needs its database)
        same = await client.get("/customers", params={"q": "a"}, headers={**own, "X-Actor": "only-customers-read"})
        assert same.status_code not in (401, 403)
