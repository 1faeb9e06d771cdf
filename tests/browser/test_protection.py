"""The console's protective headers and its one safe-URL rule, as a browser meets them
(no services needed): another site cannot frame the sign-in form, every response (page,
htmx fragment, redirect, 404, static file) carries the headers, a signed-in page is never
stored, and the sign-in page sends the clerk only to a page of the console afterwards."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.sync_api import Page, Response, expect

from tests.browser.conftest import DEMO_PASSWORD, DEMO_USER, sign_in
from tests.browser.csp import is_refusal
from tests.support.console_headers import PROTECTIVE
from tests.support.isolation import free_port

pytestmark = pytest.mark.integration


class ForeignSite:
    """Another origin (its own port) serving ``/frame?src=<url>``: a page that frames
    ``src``, and ``/own``: a harmless page of its own (to show framing works at all)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/own":
                    body = "<!doctype html><title>own</title><p id=own>framed fine</p>"
                else:
                    src = html.escape(parse_qs(parts.query)["src"][0])
                    body = f'<!doctype html><title>evil</title><iframe id="victim" src="{src}"></iframe>'
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def foreign_site() -> Iterator[ForeignSite]:
    site = ForeignSite()
    yield site
    site.close()


def _framed_page(page: Page, site: ForeignSite, src: str) -> list[str]:
    """Open the foreign page framing ``src``; the console messages about refusals."""
    refusals: list[str] = []
    page.on("console", lambda m: refusals.append(m.text) if is_refusal(m.text) else None)
    page.goto(f"{site.url}/frame?src={quote(src, safe='')}")
    page.wait_for_load_state("load")  # the iframe's load (or its error page) included
    return refusals


def test_another_site_cannot_frame_the_sign_in_form(
    console_only: Callable[..., str], new_page: Callable[[], Page], foreign_site: ForeignSite
) -> None:
    base = console_only()
    # the harness frames a page that allows it: its content shows
    page = new_page()
    _framed_page(page, foreign_site, f"{foreign_site.url}/own")
    expect(page.frame_locator("#victim").locator("#own")).to_have_text("framed fine")
    # the console's sign-in form does not render inside it
    page = new_page()
    refusals = _framed_page(page, foreign_site, f"{base}/login")
    frame = page.frame_locator("#victim")
    expect(frame.locator("body")).to_be_attached()
    expect(frame.locator("input[name=password]")).to_have_count(0)
    child = next(f for f in page.frames if f != page.main_frame)
    assert not child.url.startswith(base), child.url  # Chromium's error page, not the console
    assert any("frame-ancestors 'none'" in text for text in refusals), refusals


def _protected(response: Response, cache: str) -> list[str]:
    """What is wrong with ``response``'s headers (empty when all is right)."""
    headers = response.all_headers()
    wrong = [name for name, value in PROTECTIVE.items() if headers.get(name) != value]
    if headers.get("cache-control") != cache:
        wrong.append(f"cache-control={headers.get('cache-control')!r}")
    if "strict-transport-security" in headers:
        wrong.append("strict-transport-security on plain http")
    return wrong


def test_every_response_carries_the_headers_and_a_signed_in_page_is_never_stored(
    console_only: Callable[..., str], new_page: Callable[[], Page]
) -> None:
    base = console_only()
    page = new_page()
    seen: list[Response] = []
    page.on("response", lambda r: seen.append(r))  # noqa: PLW0108 (Playwright cannot wrap a builtin)

    page.goto(f"{base}/billing")  # a redirect to sign in, the sign-in page, its CSS and scripts
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("input[name=username]", DEMO_USER)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button.primary")  # a POST answered by a redirect, then the signed-in page
    expect(page.locator("[data-user]")).to_have_text(DEMO_USER)
    # an htmx fragment: the list (its service is not there: the fragment says so)
    page.locator("[hx-get^='/billing/requests']").first.click()
    expect(page.locator("#requests [data-service-error], #requests .notice.error").first).to_be_visible()
    page.goto(f"{base}/no-such-page")  # 404

    by_kind: dict[str, list[Response]] = {
        "redirect": [r for r in seen if r.status in (302, 303, 307)],
        "page": [r for r in seen if r.status == 200 and r.request.resource_type == "document"],
        "fragment": [r for r in seen if r.request.headers.get("hx-request") == "true"],
        "not found": [r for r in seen if r.status == 404],
        "static": [r for r in seen if urlsplit(r.url).path.startswith("/static/")],
    }
    assert all(by_kind.values()), {k: len(v) for k, v in by_kind.items()}
    problems = {
        f"{r.request.method} {urlsplit(r.url).path} {r.status}": wrong
        for r in seen
        if (wrong := _protected(r, "public, max-age=300" if "/static/" in r.url else "no-store"))
    }
    assert problems == {}
    signed_in = [r for r in by_kind["page"] if urlsplit(r.url).path == "/billing"]
    assert signed_in and signed_in[-1].all_headers()["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "target",
    ["/%09/evil.example", "/%0A/evil.example", "/%0D%0A/evil.example", "//evil.example", "https://evil.example"],
)
def test_after_sign_in_the_clerk_stays_on_the_console(
    console_only: Callable[..., str], new_page: Callable[[], Page], target: str
) -> None:
    base = console_only()
    page = new_page()
    page.goto(f"{base}/login?next={quote(target, safe='%')}")
    page.fill("input[name=username]", DEMO_USER)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button.primary")
    expect(page).to_have_url(f"{base}/billing")
    # the language switch's way back is held to the same rule
    page.goto(f"{base}/lang/en?next={quote(target, safe='%')}")
    expect(page).to_have_url(f"{base}/billing")


def test_a_signed_in_page_is_not_shown_again_from_the_cache_after_sign_out(
    console_only: Callable[..., str], new_page: Callable[[], Page]
) -> None:
    base = console_only()
    page = new_page()
    sign_in(page, base)
    expect(page.locator("[data-user]")).to_have_text(DEMO_USER)
    page.click("text=Kirjaudu ulos")
    expect(page).to_have_url(re.compile(r"/login"))
    page.go_back()  # the browser asks the console again (no-store): sign in first
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("[data-user]")).to_have_count(0)
