"""What the Invoices and Sending tab tests share beyond the core's fixtures
(``tests/browser/conftest.py``): the dispatch settings for quick tests, channel workers
as real processes, and plain (sync) calls to a service's API for seeding the data a
clerk would find in the morning."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from billing_testkit.local import LocalSystem
from tests.browser.conftest import Stack
from tests.support.system import sandbox_system


def dispatch_overrides(tmp: Path, smtp_port: int) -> dict[str, Any]:
    """The dispatch service's and its workers' settings for a test (as
    ``tests.support.dispatch.dispatch_settings``, without the sandbox part, which the
    stack adds): folders under ``tmp``, quick polls, the test's SMTP sink."""
    return {
        "einvoice_folder": str(tmp / "einvoice"),
        "print_folder": str(tmp / "print"),
        "send_track_interval_s": 0.2,
        "retry_poll_interval_s": 0.2,
        "retry_base_s": 0.5,
        "print_close_interval_s": 0.2,
        "consumer_stall_max_s": 2.0,
        "message_id_domain": "billing.test",
        "mail_from": "laskutus@esimerkkimedia.example",
        "smtp_port": smtp_port,
        "smtp_timeout_s": 5.0,
    }


@contextmanager
def workers(stack: Stack, overrides: dict[str, Any], *channels: str) -> Iterator[LocalSystem]:
    """Channel workers as OS processes (the registry's rows, the kit's local backend) on
    the stack's dispatch database and topics."""
    local = sandbox_system(
        stack.sandbox,
        [f"dispatch-{channel}" for channel in channels],
        stack.log_dir.parent,
        log_dir=stack.log_dir,
        databases={"dispatch": stack.processes["dispatch"].env["DISPATCH_DATABASE_URL"]},
        settings={"dispatch": overrides},
        smtp=("127.0.0.1", int(overrides.get("smtp_port", 25))),
    )
    with local:
        yield local


def api(stack: Stack, service: str) -> httpx.Client:
    """A client of one service's API with the "seed" credential (setup, not the clerk)."""
    return httpx.Client(
        base_url=stack.service_url(service),
        headers={"Authorization": f"Bearer {stack.credentials.token('seed')}"},
        timeout=30,
    )


def finished_job(client: httpx.Client, response: httpx.Response, timeout: float = 90) -> dict[str, Any]:
    """Follow the job a POST started (202 + ``Location``) until it is done."""
    assert response.status_code == 202, response.text
    url = response.headers["location"]
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(url).json()
        if job["state"] in ("done", "failed"):
            assert job["state"] == "done", job
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def wait_until(check: Any, timeout: float = 60, what: str = "") -> Any:
    """Poll a sync ``check()`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"not reached in {timeout}s: {what}"
        time.sleep(0.3)
