"""The console's protective headers: on every kind of response (page, htmx fragment,
redirect, 404, 403, an unhandled error's 500, static file), HSTS only over https, and
no template left with something the Content-Security-Policy would refuse."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from console.app import create_app
from console.auth import hash_password
from console.config import SERVICES, ConsoleSettings
from tests.support.console_headers import PROTECTIVE as EXPECTED

PASSWORD = "salasana ei ole tämä"
TEMPLATES = Path(__file__).resolve().parents[3] / "console" / "templates"


def _broken(request: httpx.Request) -> httpx.Response:
    raise RuntimeError("a bug in the console's call, not a service error")


def _app(base_url: str = "http://testserver") -> TestClient:
    settings = ConsoleSettings(users=[f"anna:{hash_password(PASSWORD)}"], login_delay_s=0)
    transports: dict[str, httpx.AsyncBaseTransport] = {s: httpx.MockTransport(_broken) for s in SERVICES}
    return TestClient(create_app(settings, transports), base_url=base_url, raise_server_exceptions=False)


@pytest.fixture
def client() -> Iterator[TestClient]:
    with _app() as c:
        yield c


def _sign_in(client: TestClient) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    form = {"username": "anna", "password": PASSWORD, "csrf_token": token.group(1)}
    client.post("/login", data=form, follow_redirects=False)
    # the new session's token (every tab would call a service, which fails here)
    signed_in = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert signed_in
    return signed_in.group(1)


def _assert_protected(r: httpx.Response, cache: str = "no-store") -> None:
    for name, value in EXPECTED.items():
        assert r.headers.get(name) == value, (r.request.url, r.status_code, name)
    assert r.headers.get("cache-control") == cache, (r.request.url, r.status_code)
    assert "strict-transport-security" not in r.headers  # plain http


def test_every_kind_of_response_carries_the_headers(client: TestClient) -> None:
    anonymous = [
        client.get("/login"),  # a page
        client.get("/billing", follow_redirects=False),  # a redirect to sign in
        client.get("/billing/requests", headers={"HX-Request": "true"}),  # an htmx answer
        client.get("/no-such-page"),  # 404
        client.post("/logout", follow_redirects=False),  # 403: no CSRF token
        client.get("/healthz"),
    ]
    assert [r.status_code for r in anonymous] == [200, 303, 200, 404, 403, 200]
    for r in anonymous:
        _assert_protected(r)
    token = _sign_in(client)
    signed_in = [
        client.get("/dead-letters?service=customers"),  # a signed-in page (its service fails: 500)
        client.get("/billing/requests?kind=notice", headers={"HX-Request": "true"}),
        client.get("/lang/en?next=/billing", follow_redirects=False),
        client.post("/billing/drafts/1/delete", headers={"X-CSRF-Token": token}),
    ]
    assert signed_in[0].status_code == 500  # the unhandled error: Starlette's own bare 500
    assert signed_in[2].status_code == 303
    for r in signed_in:
        _assert_protected(r)
    css = client.get("/static/console.css")
    assert css.status_code == 200
    _assert_protected(css, cache="public, max-age=300")
    missing = client.get("/static/nothing.css")
    assert missing.status_code == 404
    _assert_protected(missing, cache="public, max-age=300")


def test_hsts_only_when_the_request_came_over_https() -> None:
    with _app("https://testserver") as c:
        r = c.get("/login")
        assert r.headers["strict-transport-security"] == "max-age=31536000"
        assert r.headers["content-security-policy"] == EXPECTED["content-security-policy"]
    with _app("http://testserver") as c:
        assert "strict-transport-security" not in c.get("/login").headers


def test_a_header_the_app_set_is_replaced_not_doubled(client: TestClient) -> None:
    # the static files set their own caching headers; ours win, and once
    r = client.get("/static/console.css")
    assert r.headers.get_list("cache-control") == ["public, max-age=300"]
    assert r.headers.get_list("x-frame-options") == ["DENY"]


def test_no_template_has_what_the_csp_refuses() -> None:
    """No inline script, style element, style attribute or on… handler: with
    ``script-src 'self'; style-src 'self'`` the browser would refuse each of them."""
    found = {}
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        bad = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:|hx-on|js:", text)
        if bad:
            found[str(path.relative_to(TEMPLATES))] = bad
    assert found == {}


def test_htmx_is_told_to_insert_no_style_and_eval_nothing() -> None:
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", base)
    assert meta
    assert '"includeIndicatorStyles": false' in meta.group(1)
    assert '"allowEval": false' in meta.group(1)
    assert base.index('name="htmx-config"') < base.index("htmx.min.js")
