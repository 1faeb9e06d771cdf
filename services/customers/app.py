"""Wiring only: settings, runtime (engine, broker, outbox relay), consumers, HTTP API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.customers import api, consumers, handlers
from services.customers.config import Settings
from services.customers.tables import CustomersUnitOfWork, messaging, metadata
from shared import retention
from shared.events import topics
from shared.jobs import JobKind
from shared.runtime import Runtime, ServiceSpec

SPEC = ServiceSpec(
    name="customers",
    metadata=metadata,
    tables=messaging,
    migrations_dir=Path(__file__).parent / "migrations",
    produces=(topics.BILLING_PROFILES, topics.CUSTOMER_CORRECTIONS),
    consumes=(topics.CUSTOMER_UPSERTS,),
)


def build(settings: Settings | None = None) -> Runtime[CustomersUnitOfWork]:
    settings = settings or Settings()
    runtime = Runtime(SPEC, settings, CustomersUnitOfWork)
    consumers.register(runtime)
    retention.install(runtime.jobs, settings)
    runtime.jobs.register(
        JobKind(handlers.REPUBLISH_PROFILES, handlers.republish_profiles, total=handlers.count_cards, chunk_size=1000)
    )
    return runtime


def http_app(runtime: Runtime[CustomersUnitOfWork], title: str = "Customers service") -> FastAPI:
    return runtime.http_app([api.router], title=title, version="1")


def create_app(settings: Settings | None = None) -> FastAPI:
    return http_app(build(settings))
