from __future__ import annotations

from collections.abc import AsyncIterator

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
    """The customers service in this process, on the test's own database and topics."""
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
