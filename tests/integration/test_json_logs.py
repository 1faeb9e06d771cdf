"""JSON logs (``<PREFIX>LOG_FORMAT=json``) from a service running as its own process:
every line is one JSON object with timestamp, level, logger, message and service, a
line logged while an event is handled carries the event's trace id, and even at DEBUG
the payload loggers stay muted: no personal data in the log."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from shared.events.topics import CUSTOMER_UPSERTS
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.isolation import Sandbox, ServiceProcess
from tests.support.kafka import Publisher, ce_headers, wait_for

pytestmark = pytest.mark.integration

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


async def test_a_service_logs_one_json_object_a_line_with_its_trace_id_and_no_personal_data(
    sandbox: Sandbox, log_dir: Path
) -> None:
    service = ServiceProcess(sandbox, "customers", log_dir, log_format="json")
    service.start(extra_env={"BILLING_LOG_LEVEL": "DEBUG"})
    try:
        await service.wait_ready()
        async with Publisher(sandbox.bootstrap) as pub:
            body = upsert("C-77", delivery_channel="email", email="matti@")
            headers = [*ce_headers(UPSERT_TYPE), ("ce_traceparent", TRACEPARENT.encode())]
            await pub.send(sandbox.topic(CUSTOMER_UPSERTS.name), body, key="C-77", headers=headers)
        await wait_for(lambda: sandbox.scalar("SELECT count(*) FROM customers"), timeout=60)
        await wait_for(lambda: TRACE_ID in service.log_path.read_text(), timeout=30)
    finally:
        service.stop()
    text = service.log_path.read_text()
    lines: list[dict[str, Any]] = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert len(lines) > 5
    for line in lines:
        assert {"timestamp", "level", "logger", "message", "service"} <= line.keys(), line
        assert line["service"] == "customers"
        assert line["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        assert datetime.fromisoformat(line["timestamp"]).tzinfo is not None
    assert any(line["logger"] == "shared.messaging.outbox" and "relay leads" in line["message"] for line in lines)
    traced = [line for line in lines if line.get("trace_id") == TRACE_ID]
    assert any(line["logger"] == "shared.messaging.consumer" for line in traced)
    assert any(line["level"] == "DEBUG" for line in lines)  # the most talkative level ...
    assert "matti@" not in text  # ... and still no personal data
    assert "Kustannus Oy Esimerkki" not in text
