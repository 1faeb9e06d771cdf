"""Every page and action of the console, whoever's router it is: none works without a
signed-in clerk, and no state-changing request works without the CSRF token. The routes
are read from the app, so a route added later is covered without touching this test."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from console import backend
from console.app import create_app
from console.auth import hash_password
from console.config import ConsoleSettings

PASSWORD = "salasana ei ole tämä"
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout")}
"""Routes that work without a signed-in clerk (signing out when not signed in just
shows the sign-in page). The CSRF check still applies to both POSTs."""


def _app() -> tuple[TestClient, list[tuple[str, str]]]:
    settings = ConsoleSettings(users=[f"anna:{hash_password(PASSWORD)}"], login_delay_s=0)
    app = create_app(settings)
    # every route of every router, as the app's OpenAPI document lists them (the app
    # serves no such document; it is only read here)
    routes = [(method.upper(), path) for path, operations in app.openapi()["paths"].items() for method in operations]
    return TestClient(app), routes


def _concrete(path: str) -> str:
    """A path template with its parameters filled with plausible values."""
    path = path.replace("{service}", "customers").replace("{job_id}", str(uuid.uuid4()))
    path = path.replace("{run_id}", str(uuid.uuid4())).replace("{customer_number}", "C-1")
    return re.sub(r"{[a-z_]+}", "1", path)


@pytest.fixture
def client_and_routes() -> Iterator[tuple[TestClient, list[tuple[str, str]]]]:
    client, routes = _app()
    with client:
        yield client, routes


def test_there_are_routes_to_check(client_and_routes: tuple[TestClient, list[tuple[str, str]]]) -> None:
    _, routes = client_and_routes
    methods = {m for m, _ in routes}
    assert {"GET", "POST"} <= methods
    assert ("GET", "/billing") in routes
    assert ("POST", "/billing/runs") in routes
    assert len(routes) >= 15


def test_no_page_or_action_without_sign_in(client_and_routes: tuple[TestClient, list[tuple[str, str]]]) -> None:
    client, routes = client_and_routes
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        r = client.request(method, _concrete(path), headers={"X-CSRF-Token": token.group(1)}, follow_redirects=False)
        assert r.status_code == 303, (method, path, r.status_code)
        assert r.headers["location"].startswith("/login?next="), (method, path)


def test_no_state_change_without_the_csrf_token(client_and_routes: tuple[TestClient, list[tuple[str, str]]]) -> None:
    client, routes = client_and_routes
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    client.post("/login", data={"username": "anna", "password": PASSWORD, "csrf_token": token.group(1)})
    unsafe = [(m, p) for m, p in routes if m not in ("GET", "HEAD")]
    assert unsafe
    for method, path in unsafe:
        r = client.request(method, _concrete(path), data={"x": "1"}, follow_redirects=False)
        assert r.status_code == 403, (method, path, r.status_code)
        assert "Pyyntö hylättiin" in r.text


def _response(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_service_errors_in_the_clerks_language() -> None:
    refusal = {
        "detail": {"code": "x", "message_fi": "Asiakasta C-1 ei löydy.", "message_en": "Customer C-1 not found."}
    }
    assert backend.describe("customers", _response(404, refusal), "fi").message == "Asiakasta C-1 ei löydy."
    assert backend.describe("customers", _response(404, refusal), "en").message == "Customer C-1 not found."
    invalid = {
        "detail": [
            {"loc": ["body", "address", "postal_code"], "msg": "String too long", "msg_fi": "Teksti on liian pitkä."},
            {"loc": ["body", "email"], "msg": "Bad", "msg_fi": "Huono."},
        ]
    }
    fi = backend.describe("customers", _response(422, invalid), "fi")
    assert fi.fields == {"postal_code": "Teksti on liian pitkä.", "email": "Huono."}
    assert fi.message == "Tiedoissa on virheitä: address.postal_code: Teksti on liian pitkä.; email: Huono."
    en = backend.describe("customers", _response(422, invalid), "en")
    assert en.fields == {"postal_code": "String too long", "email": "Bad"}
    odd = backend.describe("invoicing", httpx.Response(502, text="<html>gateway</html>"), "en")
    assert odd.message == "The service answered with error 502"
