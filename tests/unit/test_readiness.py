"""/readyz keeps the HTTP API in service while only Kafka-side checks fail; /readyz/all
is every check; /healthz is the process."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.http import health_router


def _client(database: bool, kafka: bool) -> TestClient:
    async def db() -> bool:
        return database

    async def broker() -> bool:
        if not kafka:
            raise ConnectionError("no broker")  # a check that raises counts as down
        return True

    app = FastAPI()
    app.include_router(health_router({"database": db, "kafka": broker}, serving=["database"]))
    return TestClient(app)


@pytest.mark.parametrize(
    ("database", "kafka", "ready", "status", "ready_all"),
    [
        (True, True, 200, "ready", 200),
        (True, False, 200, "degraded", 503),
        (False, True, 503, "not ready", 503),
        (False, False, 503, "not ready", 503),
    ],
)
def test_readiness_fails_only_on_a_serving_check(
    database: bool, kafka: bool, ready: int, status: str, ready_all: int
) -> None:
    client = _client(database, kafka)
    answer = client.get("/readyz")
    assert (answer.status_code, answer.json()["status"]) == (ready, status)
    assert answer.json()["checks"] == {"database": "ok" if database else "down", "kafka": "ok" if kafka else "down"}
    assert answer.json()["serving"] == ["database"]
    assert client.get("/readyz/all").status_code == ready_all
    assert client.get("/healthz").status_code == 200
