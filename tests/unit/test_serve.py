"""``shared.serve.main``: what every ``python -m services.<name>`` runs. The settings
come from the service's environment and name the logs; the processes themselves are
started in ``tests/integration/test_processes.py`` and ``test_json_logs.py``."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

import shared.serve
from services.invoicing.config import Settings


def test_main_serves_the_app_made_from_the_environment_s_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOICING_DATABASE_URL", "postgresql+asyncpg://u:p@db:5432/invoicing")
    monkeypatch.setenv("INVOICING_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("INVOICING_HTTP_HOST", "0.0.0.0")
    monkeypatch.setenv("INVOICING_HTTP_PORT", "18002")
    monkeypatch.setenv("INVOICING_LOG_FORMAT", "json")
    made: list[Settings] = []
    served: dict[str, Any] = {}

    def create_app(settings: Settings) -> FastAPI:
        made.append(settings)
        return FastAPI(title="invoicing")

    def run(app: FastAPI, host: str, port: int, *, service: str, log_format: str) -> None:
        served.update(app=app.title, host=host, port=port, service=service, log_format=log_format)

    monkeypatch.setattr(shared.serve, "run", run)
    shared.serve.main(Settings, create_app)

    assert [s.http_port for s in made] == [18002]
    expected = {"app": "invoicing", "host": "0.0.0.0", "port": 18002, "service": "invoicing", "log_format": "json"}
    assert served == expected
