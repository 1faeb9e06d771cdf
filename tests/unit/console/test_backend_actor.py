"""The console calls the services with its own credential and a signed assertion naming
the signed-in clerk, never ``X-Actor``; a service (shared.auth, as every service wires it)
records the clerk. An outside system's credential cannot act as a clerk."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from console import backend
from console.config import ConsoleSettings
from shared.auth import assertion
from shared.auth.credentials import Credential, CredentialsFile, CredentialStore, add_key
from shared.auth.http import Authenticator, Caller, require
from shared.auth.scopes import ACT_FOR_CLERKS, CLERK_SCOPES

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _service(public_pem: bytes) -> tuple[FastAPI, dict[str, str], list[dict[str, str]]]:
    """A service with the real authentication: console (act-for-clerks + the clerk's
    scopes) and the CRM (customers:read) as callers. Records each request's headers."""
    console = Credential(name="console", scopes=[ACT_FOR_CLERKS, *sorted(CLERK_SCOPES)])
    crm = Credential(name="crm", scopes=["customers:read"])
    tokens = {"console": add_key(console, at=T0), "crm": add_key(crm, at=T0)}
    app = FastAPI()
    app.state.authenticator = Authenticator(
        store=CredentialStore(None, data=CredentialsFile(credentials=[console, crm])),
        assertion_keys=assertion.load_public_keys([public_pem.decode()]),
    )
    seen: list[dict[str, str]] = []

    @app.post("/billing-runs", dependencies=[require("invoicing:bill")])
    async def run(caller: Caller, request: Request) -> dict[str, Any]:
        seen.append(dict(request.headers))
        return {"actor": caller.actor, "kind": caller.kind, "admin": caller.allows("invoicing:admin")}

    @app.get("/customers/{number}", dependencies=[require("customers:read")])
    async def card(number: str, caller: Caller) -> dict[str, str]:
        return {"number": number, "actor": caller.actor}

    return app, tokens, seen


def _console(tmp_path: Path, token: str, service: FastAPI, **extra: Any) -> backend.Backends:
    settings = ConsoleSettings(service_token=token, **extra)
    return backend.Backends(settings, {name: httpx.ASGITransport(app=service) for name in ("customers", "invoicing")})


def _request(backends: backend.Backends, user: str | None) -> Any:
    session = {"lang": "en", **({"user": user} if user else {})}
    return SimpleNamespace(session=session, app=SimpleNamespace(state=SimpleNamespace(backends=backends)))


async def test_the_console_sends_an_assertion_for_the_clerk_and_never_x_actor(tmp_path: Path) -> None:
    private, public = assertion.new_keypair()
    (tmp_path / "key.pem").write_bytes(private)
    service, tokens, seen = _service(public)
    backends = _console(tmp_path, tokens["console"], service, actor_assertion_key_file=tmp_path / "key.pem")
    try:
        answer = await backend.call(_request(backends, "anna"), "invoicing", "POST", "/billing-runs")
        assert answer == {"actor": "anna", "kind": "person", "admin": False}  # the clerk, with the clerk's scopes
        headers = seen[-1]
        assert "x-actor" not in headers
        assert headers["authorization"] == f"Bearer {tokens['console']}"
        clerk = assertion.verify(headers["x-actor-assertion"], assertion.load_public_keys([public.decode()]))
        assert clerk.name == "anna" and clerk.scopes == CLERK_SCOPES
        # each call a fresh assertion (its own jti), so none outlives its minute
        await backend.call(_request(backends, "anna"), "invoicing", "POST", "/billing-runs")
        assert seen[-1]["x-actor-assertion"] != headers["x-actor-assertion"]
        # no clerk signed in: no assertion, and the console's credential alone acts for nobody
        with pytest.raises(backend.ServiceError) as alone:
            await backend.call(_request(backends, None), "customers", "GET", "/customers/C-1")
        assert (alone.value.status, alone.value.code) == (403, "assertion-required")
    finally:
        await backends.aclose()


async def test_a_narrower_clerk_scope_list_is_what_the_service_allows(tmp_path: Path) -> None:
    private, public = assertion.new_keypair()
    (tmp_path / "key.pem").write_bytes(private)
    service, tokens, _ = _service(public)
    backends = _console(
        tmp_path, tokens["console"], service, actor_assertion_key_file=tmp_path / "key.pem", clerk_scopes=["*:read"]
    )
    try:
        with pytest.raises(backend.ServiceError) as refused:
            await backend.call(_request(backends, "anna"), "invoicing", "POST", "/billing-runs")
        assert refused.value.status == 403 and "invoicing:bill" in refused.value.message
        assert (await backend.call(_request(backends, "anna"), "customers", "GET", "/customers/C-1"))["actor"] == "anna"
    finally:
        await backends.aclose()


async def test_an_outside_systems_credential_cannot_act_as_a_clerk(tmp_path: Path) -> None:
    private, public = assertion.new_keypair()
    service, tokens, _ = _service(public)
    crm = {"Authorization": f"Bearer {tokens['crm']}"}
    signed = assertion.sign(assertion.load_private_key(private), "anna")  # even a valid assertion
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service), base_url="http://s") as client:
        with_assertion = await client.get("/customers/C-1", headers={**crm, assertion.HEADER: signed})
        assert with_assertion.status_code == 403
        assert with_assertion.json()["detail"]["code"] == "assertion-not-allowed"
        named = await client.get("/customers/C-1", headers={**crm, "X-Actor": "anna"})
        assert named.status_code == 403 and named.json()["detail"]["code"] == "actor-header-refused"
        itself = await client.get("/customers/C-1", headers=crm)
        assert itself.json()["actor"] == "crm"


def test_a_missing_or_wrong_key_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CONSOLE_ACTOR_ASSERTION_KEY_FILE"):
        backend.Backends(ConsoleSettings(actor_assertion_key_file=tmp_path / "nope.pem"))
    (tmp_path / "public.pem").write_bytes(assertion.new_keypair()[1])
    with pytest.raises(ValueError, match="CONSOLE_ACTOR_ASSERTION_KEY_FILE"):
        backend.Backends(ConsoleSettings(actor_assertion_key_file=tmp_path / "public.pem"))
    with pytest.raises(ValueError, match="invocing"):
        ConsoleSettings(clerk_scopes=["invocing:read"])


def test_the_token_can_come_from_a_mounted_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("bk_0123456789ab_" + "x" * 43 + "\n")
    settings = ConsoleSettings(service_token_file=tmp_path / "token")
    assert settings.token() == "bk_0123456789ab_" + "x" * 43
    given = ConsoleSettings(service_token="own", service_token_file=tmp_path / "token")
    assert given.token() == "own"
    with pytest.raises(ValueError, match="CONSOLE_SERVICE_TOKEN_FILE"):
        ConsoleSettings(service_token_file=tmp_path / "nope").token()
