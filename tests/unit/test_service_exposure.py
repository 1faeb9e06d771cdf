"""What a service exposes and when it refuses to start (issue 19, "Exposure"):

- ``/metrics`` needs the ``metrics`` scope; ``/docs``, ``/redoc``, ``/openapi.json`` are
  served in development only; the OpenAPI document declares the bearer scheme and the
  401/403 answers of every guarded route;
- production without a credentials file does not start (one line naming the setting);
  development without one starts and refuses every call (and says so once);
- the test hooks (``BILLING_FAILPOINTS``, ``REMINDERS_TODAY``) refuse the start unless
  ``BILLING_TEST_HOOKS=on`` (or the service's ``test_hooks`` setting).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.customers.app import build, http_app
from services.customers.config import Settings as CustomersSettings
from services.reminders.config import Settings as RemindersSettings
from shared.settings import StartRefused
from tests.support.credentials import credentials
from tests.support.servers import REPO

SERVERS: dict[str, Any] = {
    "kafka_bootstrap_servers": "localhost:1",
    "database_url": "postgresql+asyncpg://nobody:nothing@localhost:1/none",
}


def customers(**settings: Any) -> Any:
    return http_app(build(CustomersSettings(**SERVERS, **settings)))


async def get(app: Any, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://customers") as client:
        return await client.get(path, headers=headers)


async def test_metrics_need_the_metrics_scope() -> None:
    app = customers(**credentials().settings())
    assert (await get(app, "/metrics")).status_code == 401
    read = await get(app, "/metrics", {"Authorization": f"Bearer {credentials().only('customers:read')}"})
    assert read.status_code == 403 and "metrics" in read.json()["detail"]["message_en"]
    scraped = await get(app, "/metrics", {"Authorization": f"Bearer {credentials().only('metrics')}"})
    assert scraped.status_code not in (401, 403)


async def test_the_docs_are_served_in_development_without_a_token_and_declare_the_bearer_scheme() -> None:
    app = customers(**credentials().settings())
    assert (await get(app, "/docs")).status_code == 200
    assert (await get(app, "/redoc")).status_code == 200
    doc = (await get(app, "/openapi.json")).json()
    assert doc["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A credential token (bk_…) or an OIDC access token",
    }
    operations = [(p, m, op) for p, item in doc["paths"].items() for m, op in item.items()]
    guarded = [(p, m, op) for p, m, op in operations if not p.startswith(("/healthz", "/readyz"))]
    assert len(guarded) >= 12
    for path, method, op in guarded:
        assert op.get("security") == [{"HTTPBearer": []}], (method, path)
        assert {"401", "403"} <= set(op["responses"]), (method, path)
    assert "security" not in doc["paths"]["/healthz"]["get"]


async def test_production_serves_no_docs() -> None:
    app = customers(mode="production", **credentials().settings())
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        assert (await get(app, path)).status_code == 404, path
    assert (await get(app, "/customers/C-1")).status_code == 401  # the API itself still answers


def test_production_without_a_credentials_file_refuses_to_start() -> None:
    with pytest.raises(StartRefused, match="CUSTOMERS_CREDENTIALS_FILE is not set"):
        customers(mode="production")


def test_a_credentials_file_that_cannot_be_read_refuses_the_start(tmp_path: Path) -> None:
    broken = tmp_path / "credentials.json"
    broken.write_text('{"credentials": [{"name": "x", "scopes": ["invocing:*"]}]}')
    with pytest.raises(StartRefused, match=r"credentials\.json is not valid"):
        customers(credentials_file=broken)
    with pytest.raises(StartRefused, match=r"missing\.json"):
        customers(credentials_file=tmp_path / "missing.json")
    with pytest.raises(StartRefused, match=r"^ACTOR_ASSERTION_PUBLIC_KEYS_FILE .*nope\.pem: No such file"):
        customers(actor_assertion_public_keys_file=tmp_path / "nope.pem")


async def test_development_without_a_credentials_file_refuses_every_call_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        app = customers()
    said = [r.getMessage() for r in caplog.records if "no credentials file" in r.getMessage()]
    assert said == [
        "customers: no credentials file is set (CUSTOMERS_CREDENTIALS_FILE): every API call is refused with 401"
    ]
    token = credentials().token()
    assert (await get(app, "/customers/C-1", {"Authorization": f"Bearer {token}"})).status_code == 401


def test_failpoints_refuse_the_settings_unless_test_hooks_are_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BILLING_TEST_HOOKS", raising=False)
    monkeypatch.setenv("BILLING_FAILPOINTS", "consumer.after_commit")
    with pytest.raises(StartRefused, match="BILLING_FAILPOINTS is a test hook"):
        CustomersSettings(**SERVERS)
    monkeypatch.setenv("BILLING_TEST_HOOKS", "off")
    with pytest.raises(StartRefused):
        CustomersSettings(**SERVERS)
    assert CustomersSettings(**SERVERS, test_hooks=True).test_hooks_on()
    monkeypatch.setenv("BILLING_TEST_HOOKS", "on")
    assert CustomersSettings(**SERVERS).test_hooks_on()


def test_a_fixed_reminders_clock_is_refused_unless_test_hooks_are_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BILLING_TEST_HOOKS", raising=False)
    monkeypatch.delenv("BILLING_FAILPOINTS", raising=False)
    with pytest.raises(StartRefused, match="REMINDERS_TODAY is a test hook"):
        RemindersSettings(**SERVERS, today=date(2026, 12, 1))
    assert RemindersSettings(**SERVERS).today is None  # the real clock needs nothing
    assert RemindersSettings(**SERVERS, today=date(2026, 12, 1), test_hooks=True).today == date(2026, 12, 1)
    monkeypatch.setenv("BILLING_TEST_HOOKS", "on")
    assert RemindersSettings(**SERVERS, today=date(2026, 12, 1)).today == date(2026, 12, 1)


def test_test_hooks_are_refused_in_production_even_when_switched_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BILLING_FAILPOINTS", raising=False)
    monkeypatch.setenv("BILLING_TEST_HOOKS", "on")
    with pytest.raises(StartRefused, match="refused in production mode"):
        CustomersSettings(**SERVERS, mode="production")
    monkeypatch.delenv("BILLING_TEST_HOOKS")
    with pytest.raises(StartRefused, match="refused in production mode"):
        RemindersSettings(**SERVERS, mode="production", test_hooks=True, today=date(2026, 12, 1))
    assert CustomersSettings(**SERVERS, mode="production").mode == "production"  # no hook, no refusal


def _start(service: str, env: dict[str, str], argv: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BILLING_", f"{service.upper()}_"))}
    prefix = service.upper()
    base |= {
        f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": SERVERS["kafka_bootstrap_servers"],
        f"{prefix}_DATABASE_URL": SERVERS["database_url"],
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        argv or [sys.executable, "-m", f"services.{service}"],
        env={**base, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("service", "env", "line"),
    [
        ("reminders", {"REMINDERS_TODAY": "2026-12-01"}, "REMINDERS_TODAY is a test hook"),
        ("customers", {"BILLING_FAILPOINTS": "consumer.after_commit"}, "BILLING_FAILPOINTS is a test hook"),
        ("invoicing", {"INVOICING_MODE": "production"}, "invoicing: INVOICING_CREDENTIALS_FILE is not set"),
    ],
)
def test_the_process_does_not_start_and_says_why_in_one_line(service: str, env: dict[str, str], line: str) -> None:
    done = _start(service, env)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert line in done.stderr and "Traceback" not in done.stderr


def test_billing_serve_refuses_a_test_hook_in_one_line_too() -> None:
    billing = str(Path(sys.executable).with_name("billing"))
    done = _start("customers", {"BILLING_FAILPOINTS": "consumer.after_commit"}, [billing, "serve", "customers"])
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "billing: customers: BILLING_FAILPOINTS is a test hook: refused unless BILLING_TEST_HOOKS=on (a test system); "
        "unset it"
    ), done.stderr
