"""console.urls.safe_url: the one gate for every redirect and every link built from input,
and the routes that use it (sign-in ``next``, the language switch, the customer card's
``back``, htmx's ``HX-Current-URL``, the ``Referer`` of a failed corrective, a job's ``then``)."""

from __future__ import annotations

import html
import re
import string
from collections.abc import Iterator
from urllib.parse import quote, urljoin, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from console.app import create_app
from console.auth import hash_password
from console.config import SERVICES, ConsoleSettings
from console.urls import MAX_LENGTH, safe_url, same_origin_path

ORIGIN = "https://console.example"
PASSWORD = "salasana ei ole tämä"

OFF_SITE = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%5Cevil.example",
    "/%252F/evil.example",
    "/%09/x",  # decoded: a control character in the path
    "javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "/billing/../..//evil.example",
    "/./billing",
    "/\x00billing",
    "/billing\x7f",
    "/bïlling",
    "/billing\u3000",
    "/" + "a" * MAX_LENGTH,
    "",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_anything_but_a_plain_local_path_becomes_the_default(target: str) -> None:
    assert safe_url(target) == "/billing"
    assert safe_url(target, None) is None
    assert safe_url(target, "/billing/drafts") == "/billing/drafts"


@pytest.mark.parametrize(
    "target",
    [
        "/billing",
        "/invoices?x=1",
        "/billing?kind=notice&state=error&reason=a%20b&fetch=1",
        "/customers/C-1?back=%2Fbilling%3Fkind%3Dnotice",
        "/sending/email#failed",
        "/invoices/search?q=%25",
    ],
)
def test_a_local_path_goes_through_unchanged(target: str) -> None:
    assert safe_url(target) == target


def test_none_is_the_default() -> None:
    assert safe_url(None) == "/billing"
    assert safe_url(None, None) is None


@settings(max_examples=3000, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="/\\%.:@?#\t\n\r 09AaFfevil2c5", max_size=40)))
def test_whatever_goes_in_what_comes_out_stays_on_the_console(target: str) -> None:
    out = safe_url(target)
    resolved = urlsplit(urljoin(ORIGIN + "/somewhere/page", out))
    assert (resolved.scheme, resolved.netloc) == ("https", "console.example"), (target, out)
    assert out.startswith("/") and not out.startswith("//")
    assert not any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in out), (target, out)
    assert "\\" not in out


_SEGMENT = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(_SEGMENT, min_size=1, max_size=5), st.dictionaries(_SEGMENT, st.text(max_size=20), max_size=3))
def test_a_path_the_console_builds_survives(segments: list[str], query: dict[str, str]) -> None:
    target = "/" + "/".join(segments)
    if query:
        target += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
    assert safe_url(target) == target


def test_same_origin_path_takes_only_the_consoles_own_urls() -> None:
    base = "http://testserver/"
    assert same_origin_path("http://testserver/invoices?x=1", base) == "/invoices?x=1"
    assert same_origin_path("http://testserver", base) == "/"
    assert same_origin_path("http://testserver.evil.example/invoices", base) is None
    assert same_origin_path("https://testserver/invoices", base) is None  # another origin
    assert same_origin_path("http://evil.example/invoices", base) is None
    assert same_origin_path("http://testserver//evil.example", base) is None
    assert same_origin_path("/invoices", base) is None
    assert same_origin_path(None, base) is None


# --- the routes ----------------------------------------------------------------------------

CARD = {
    "customer_number": "C-1",
    "version": 1,
    "valid": True,
    "updated_at": "2026-12-01T10:00:00+00:00",
    "data": {"name": "Asiakas Oy"},
}


def _customers(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/history"):
        return httpx.Response(200, json=[])
    return httpx.Response(200, json=CARD)


JOB = "0f8e3f52-3c43-4e7e-9a55-5a8d8d1c8f11"


def _invoicing(request: httpx.Request) -> httpx.Response:
    if request.url.path == f"/jobs/{JOB}":
        return httpx.Response(200, json={"id": JOB, "state": "done", "done": 1, "total": 1})
    return httpx.Response(503, json={"detail": "down"})  # e.g. a corrective: refused


def _nowhere(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"detail": "down"})


@pytest.fixture
def client() -> Iterator[TestClient]:
    settings = ConsoleSettings(users=[f"anna:{hash_password(PASSWORD)}"], login_delay_s=0)
    transports: dict[str, httpx.AsyncBaseTransport] = {s: httpx.MockTransport(_nowhere) for s in SERVICES}
    transports["customers"] = httpx.MockTransport(_customers)
    transports["invoicing"] = httpx.MockTransport(_invoicing)
    with TestClient(create_app(settings, transports)) as c:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
        assert token
        c.post("/login", data={"username": "anna", "password": PASSWORD, "csrf_token": token.group(1)})
        yield c


def _links_stay_here(page: str) -> None:
    """Every link, form target and htmx URL of ``page``, as a browser reads it (TAB, CR, LF
    dropped), resolves to the console's own origin."""
    values = re.findall(r'\s(?:href|src|action|hx-get|hx-post|hx-push-url)="([^"]*)"', page)
    assert values
    for value in values:
        url = re.sub(r"[\t\r\n]", "", html.unescape(value))
        resolved = urlsplit(urljoin("http://testserver/customers/C-1", url))
        assert (resolved.scheme, resolved.netloc) == ("http", "testserver"), value


def _back_link(page: str) -> str | None:
    found = re.search(r'<a href="([^"]*)" data-back>', page)
    return html.unescape(found.group(1)) if found else None


@pytest.mark.parametrize("back", ["/%09/evil.example", "/%0A/evil.example", "/%0D%0A/evil.example",
                                  "//evil.example", "https://evil.example", "/%5Cevil.example"])  # fmt: skip
def test_the_cards_back_link_never_leaves_the_console(client: TestClient, back: str) -> None:
    r = client.get(f"/customers/C-1?back={back}")
    assert r.status_code == 200
    assert "Asiakas Oy" in r.text
    assert _back_link(r.text) is None
    _links_stay_here(r.text)


def test_the_cards_back_link_to_the_list_is_kept(client: TestClient) -> None:
    back = "/billing?kind=notice&state=error&fetch=1"
    r = client.get(f"/customers/C-1?back={quote(back, safe='')}")
    assert _back_link(r.text) == back
    _links_stay_here(r.text)


def test_the_language_switch_and_sign_in_go_back_only_to_a_local_path(client: TestClient) -> None:
    for target in ("/%09/evil.example", "//evil.example", "https://evil.example/"):
        r = client.get(f"/lang/en?next={quote(target, safe='')}", follow_redirects=False)
        assert r.headers["location"] == "/billing"
    r = client.get("/lang/en?next=%2Finvoices%3Fpage%3D2", follow_redirects=False)
    assert r.headers["location"] == "/invoices?page=2"
    client.cookies.clear()
    page = client.get("/login?next=%2F%0A%2Fevil.example").text
    assert 'name="next" value="/billing"' in page


def test_an_htmx_request_from_another_origin_is_sent_to_the_billing_tab_after_sign_in(client: TestClient) -> None:
    client.cookies.clear()
    for current, expected in (
        ("http://evil.example/x", "/login?next=%2Fbilling"),
        ("http://testserver//evil.example", "/login?next=%2Fbilling"),
        ("http://testserver/invoices?page=2", "/login?next=%2Finvoices%3Fpage%3D2"),
    ):
        r = client.get("/billing/requests", headers={"HX-Request": "true", "HX-Current-URL": current})
        assert r.headers["HX-Redirect"] == expected, current


def test_a_failed_corrective_goes_back_only_to_a_page_of_the_console(client: TestClient) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/billing").text)
    assert token
    headers = {"X-CSRF-Token": token.group(1)}
    for referer, expected in (
        ("https://evil.example/billing", "/billing/drafts"),
        ("http://testserver/billing/drafts/7", "/billing/drafts/7"),
    ):
        r = client.post(
            "/billing/invoices/7/corrective", headers={**headers, "Referer": referer}, follow_redirects=False
        )
        assert r.status_code == 303
        assert r.headers["location"] == expected


def test_a_jobs_then_is_dropped_unless_local(client: TestClient) -> None:
    hx = {"HX-Request": "true"}
    page = client.get(f"/jobs/invoicing/{JOB}?then=%2F%09%2Fevil.example", headers=hx).text
    assert "data-job-state" in page
    assert "evil.example" not in page and 'hx-trigger="load"' not in page
    page = client.get(f"/jobs/invoicing/{JOB}?then=%2Fbilling%2Fruns%2F1%2Fsummary", headers=hx).text
    assert 'hx-get="/billing/runs/1/summary" hx-trigger="load"' in page
