"""Wiring only: settings, runtime (engine, broker, outbox relay), HTTP API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.dispatch.config import Settings
from services.dispatch.tables import DispatchUnitOfWork, messaging, metadata
from shared.runtime import Runtime, ServiceSpec

SPEC = ServiceSpec(
    name="dispatch",
    metadata=metadata,
    tables=messaging,
    migrations_dir=Path(__file__).parent / "migrations",
)


def build(settings: Settings | None = None) -> Runtime[DispatchUnitOfWork]:
    return Runtime(SPEC, settings or Settings(), DispatchUnitOfWork)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build(settings).http_app([], title="Dispatch service", version="1")
