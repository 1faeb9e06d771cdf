from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.customers.app import build
from services.customers.config import Settings
from services.customers.tables import CustomersUnitOfWork
from shared.runtime import Runtime
from tests.support.isolation import API_TOKEN, Sandbox

pytestmark = pytest.mark.integration


@pytest.fixture
async def customers(sandbox: Sandbox) -> AsyncIterator[Runtime[CustomersUnitOfWork]]:
    """The customers service in this process, on the test's own database (its schema
    copied from the session's migrated template) and topics."""
    await sandbox.migrated("customers")
    runtime = build(Settings(**sandbox.settings_kwargs()))
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest.fixture
async def customers_api(customers: Runtime[CustomersUnitOfWork]) -> AsyncIterator[httpx.AsyncClient]:
    from services.customers import api

    app = customers.http_app([api.router], title="customers (test)")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://customers", headers={"Authorization": f"Bearer {API_TOKEN}"}
    ) as client:
        yield client


@pytest.fixture
async def invoicing(sandbox: Sandbox) -> AsyncIterator[Runtime[Any]]:
    """The invoicing service in this process, on the test's own database and topics
    (no daily run: tests trigger runs themselves)."""
    await sandbox.migrated("invoicing")
    from services.invoicing.app import build as build_invoicing
    from services.invoicing.config import Settings as InvoicingSettings

    runtime = build_invoicing(
        InvoicingSettings(**sandbox.settings_kwargs(daily_run_enabled=False, jobs_poll_interval_s=0.1))
    )
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest.fixture
async def invoicing_api(invoicing: Runtime[Any]) -> AsyncIterator[httpx.AsyncClient]:
    from services.invoicing.app import http_app as invoicing_http_app

    transport = httpx.ASGITransport(app=invoicing_http_app(invoicing, title="invoicing (test)"))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://invoicing", headers={"Authorization": f"Bearer {API_TOKEN}"}
    ) as client:
        yield client
