"""Wiring only: settings, runtime (engine, broker, outbox relay), HTTP API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.reminders.config import Settings
from services.reminders.tables import RemindersUnitOfWork, messaging, metadata
from shared.runtime import Runtime, ServiceSpec

SPEC = ServiceSpec(
    name="reminders",
    metadata=metadata,
    tables=messaging,
    migrations_dir=Path(__file__).parent / "migrations",
)


def build(settings: Settings | None = None) -> Runtime[RemindersUnitOfWork]:
    return Runtime(SPEC, settings or Settings(), RemindersUnitOfWork)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build(settings).http_app([], title="Reminders service", version="1")
