"""Wiring only: settings, runtime (engine, broker, outbox relay), consumers, jobs, HTTP API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.reminders import consumers
from services.reminders.config import Settings
from services.reminders.repositories import RemindersUnitOfWork
from services.reminders.tables import messaging, metadata
from shared.events import topics
from shared.runtime import Runtime, ServiceSpec

SPEC = ServiceSpec(
    name="reminders",
    metadata=metadata,
    tables=messaging,
    migrations_dir=Path(__file__).parent / "migrations",
    produces=(topics.REMINDERS,),
    consumes=(topics.INVOICES, topics.BILLING_PROFILES),
)


def build(settings: Settings | None = None) -> Runtime[RemindersUnitOfWork]:
    runtime = Runtime(SPEC, settings or Settings(), RemindersUnitOfWork)
    consumers.register(runtime)
    return runtime


def http_app(runtime: Runtime[RemindersUnitOfWork], title: str = "Reminders service") -> FastAPI:
    return runtime.http_app([], title=title, version="1")


def create_app(settings: Settings | None = None) -> FastAPI:
    return http_app(build(settings))
