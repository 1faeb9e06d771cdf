"""Browser tests: Debian's Chromium driven by Playwright against the console, which
calls the real services (as OS processes) on the real Kafka and PostgreSQL.

Fixtures for every tab's tests (reuse them, do not copy):

- ``browser``: one Chromium for the session (``/usr/bin/chromium``, never a downloaded one).
- ``console_only`` (factory): a console with no services behind it, for sign-in, session
  and CSRF tests: ``console_only(session_idle_s=2)`` -> its base URL.
- ``stack``: a fresh sandbox (database per service, topic prefix), the services named by
  the ``stack_services`` fixture (default: all four) with the overrides of
  ``stack_overrides`` (a test module overrides either fixture), and a console in front
  of them, all as processes (the registry's rows, run by the kit's local backend).
  ``stack.run(coro)`` runs async seeding code (``tests.support`` builders)
  from these sync tests; ``stack.inbound`` publishes as the outside systems do.
- ``page``: a Chromium page signed in to ``stack``'s console as ``DEMO_USER`` (Finnish);
  the test fails if the console's Content-Security-Policy refused anything on it
  (``tests/browser/csp.py``).
- ``sign_in(page, base_url, user, password)``; ``shot(page, name)`` for screenshots
  (``UPDATE_SCREENSHOTS=1`` writes them to ``docs/screenshots/``).

The tests are plain sync functions: Playwright's sync API cannot run inside the event
loop of an async test, so async work goes to a short-lived loop in another thread
(:func:`run_async`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from billing_testkit.credentials import Issued
from billing_testkit.local import Instance, LocalSystem
from console.auth import hash_password
from console.config import ConsoleSettings
from tests.browser.csp import CspWatch
from tests.support import servers as servers_mod
from tests.support.console_server import ConsoleServer
from tests.support.isolation import Sandbox, create_sandbox, drop_sandbox, free_port
from tests.support.kafka import Publisher
from tests.support.sales import Inbound
from tests.support.system import credentials_in, sandbox_system

CHROMIUM = "/usr/bin/chromium"
DEMO_USER = "anna"
DEMO_PASSWORD = "Laskutus-2026!"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
"""Where :func:`shot` writes when ``UPDATE_SCREENSHOTS=1`` (the README's pictures);
otherwise screenshots go to a temporary folder, so a test run leaves the checkout clean."""
ALL_SERVICES = ("customers", "invoicing", "reminders", "dispatch")
T = TypeVar("T")

_HASH = hash_password(DEMO_PASSWORD)

# The machines are small and shared: an assertion waits up to 20 s for the page to show
# what it expects (Playwright's default is 5 s), never a fixed sleep.
expect.set_options(timeout=20_000)


def run_async(coro: Awaitable[T]) -> T:
    """Run ``coro`` to completion on a fresh event loop in another thread."""

    async def wrapper() -> T:
        return await coro

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, wrapper()).result()


def console_settings(**overrides: Any) -> ConsoleSettings:
    values: dict[str, Any] = {
        "users": [f"{DEMO_USER}:{_HASH}"],
        "login_delay_s": 0.0,
    }
    values.update(overrides)
    return ConsoleSettings(**values)


# Per module, not per session: while Playwright's sync API is open its event loop counts as
# running in this thread, so every async test collected after the browser tests (pytest-
# asyncio's runner) would fail to start. Closed at the end of each browser module.
@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    b = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def console_only() -> Iterator[Callable[..., str]]:
    """Start consoles with no services behind them (the service URLs go nowhere)."""
    started: list[ConsoleServer] = []

    def start(**overrides: Any) -> str:
        nowhere = f"http://127.0.0.1:{free_port()}"
        urls = {f"{s}_url": nowhere for s in ALL_SERVICES}
        server = ConsoleServer(console_settings(**{**urls, **overrides})).start()
        started.append(server)
        return server.url

    yield start
    for s in started:
        s.stop()


@dataclass
class Stack:
    sandbox: Sandbox
    local: LocalSystem
    """The services and the console as processes (the registry's rows, the kit's local backend)."""
    log_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.local.url("console")

    @property
    def credentials(self) -> Issued:
        """Every caller's credential (``tests.support.system.TEST_PLAN``): the console
        calls with its own and a clerk assertion; a test's setup calls as ``seed``."""
        return credentials_in(self.log_dir.parent)

    @property
    def processes(self) -> dict[str, Instance]:
        """The services by name (each with its ``env`` and ``url``)."""
        return {name: inst for name, inst in self.local.instances.items() if name in ALL_SERVICES}

    def service_url(self, name: str) -> str:
        return self.local.url(name)

    def run(self, coro: Awaitable[T]) -> T:
        return run_async(coro)

    def publish(self, fn: Callable[[Inbound], Awaitable[None]]) -> None:
        """``stack.publish(lambda inbound: inbound.requests(...))``."""

        async def go() -> None:
            async with Publisher(self.sandbox.bootstrap) as pub:
                await fn(Inbound(self.sandbox, pub))

        run_async(go())

    async def scalar(self, service: str, sql: str, *args: Any) -> Any:
        """The first value of ``sql`` in ``service``'s own database."""
        url = self.processes[service].env[f"{service.upper()}_DATABASE_URL"].replace("+asyncpg", "", 1)
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    def wait_for(self, predicate: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
        """Poll an async predicate until it is truthy (``AssertionError`` after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if value := run_async(predicate()):
                return value
            time.sleep(0.2)
        raise AssertionError(f"not true within {timeout}s")


@pytest.fixture
def stack_services() -> tuple[str, ...]:
    """The services a test needs (override in a test module to start fewer)."""
    return ALL_SERVICES


@pytest.fixture
def stack_overrides() -> dict[str, dict[str, Any]]:
    """Per-service setting overrides (``{"dispatch": {"smtp_port": 2525}}``)."""
    return {}


@pytest.fixture
def stack(
    servers: servers_mod.Servers,
    stack_services: tuple[str, ...],
    stack_overrides: dict[str, dict[str, Any]],
    tmp_path: Path,
) -> Iterator[Stack]:
    """The services (each on its own database) and the console in front of them, started
    at once and awaited under one deadline; the services not started are nowhere."""
    sandbox = run_async(create_sandbox(servers))
    local: LocalSystem | None = None
    try:
        databases = {name: run_async(sandbox.own_database(name)) for name in stack_services}
        settings: dict[str, dict[str, Any]] = {name: {"jobs_poll_interval_s": 0.1} for name in stack_services}
        if "invoicing" in settings:
            settings["invoicing"]["daily_run_enabled"] = False
        for name, values in stack_overrides.items():
            settings.setdefault(name, {}).update(values)
        settings["console"] = {
            "users": json.dumps([f"{DEMO_USER}:{_HASH}"]),
            "login_delay_s": 0.0,
        }
        nowhere = f"http://127.0.0.1:{free_port()}"
        local = sandbox_system(
            sandbox,
            [*stack_services, "console"],
            tmp_path,
            databases=databases,
            settings=settings,
            smtp=("127.0.0.1", free_port()),  # nowhere, unless the test's overrides give its sink
            service_urls={s: nowhere for s in ALL_SERVICES},
        )
        local.start()
        local.wait_ready(180)
        yield Stack(sandbox, local, tmp_path / "logs")
    finally:
        if local is not None:
            local.stop()
        run_async(drop_sandbox(sandbox))


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot ``name`` (e.g. ``billing-errors.png``)."""
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else Path(tempfile.gettempdir()) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, base_url: str, user: str = DEMO_USER, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_load_state()


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="fi-FI")
    context.set_default_timeout(30_000)
    csp = CspWatch(context)  # every tab's test also fails on anything the CSP refused
    p = context.new_page()
    sign_in(p, stack.url)
    try:
        yield p
        csp.assert_none()
    finally:
        context.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    """Fresh pages in a fresh context (not signed in)."""
    contexts = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for c in contexts:
        c.close()
