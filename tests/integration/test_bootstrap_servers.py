"""A service given several bootstrap servers (``host:port,host:port``, as for a cluster)
starts and reaches Kafka through any of them: FastStream takes a string for one server,
so the list must reach it as a list (shared/messaging/connection.py). Found by
``make cluster-test``: every service failed at start on the three-broker cluster."""

from __future__ import annotations

import pytest

from services.customers.app import build
from services.customers.config import Settings
from tests.support.isolation import Sandbox, free_port

pytestmark = pytest.mark.integration


async def test_a_service_starts_with_a_dead_server_first_in_its_bootstrap_list(sandbox: Sandbox) -> None:
    servers = f"127.0.0.1:{free_port()},{sandbox.bootstrap}"  # nothing listens on the first
    runtime = build(Settings(**sandbox.settings_kwargs(kafka_bootstrap_servers=servers)))
    await runtime.start()
    try:
        assert await runtime.kafka_ready()
    finally:
        await runtime.stop()
