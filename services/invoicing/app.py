"""Wiring only: settings, runtime (engine, broker, outbox relay), HTTP API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.invoicing.config import Settings
from services.invoicing.tables import messaging, metadata
from services.invoicing.uow import InvoicingUnitOfWork
from shared.events import topics
from shared.runtime import Runtime, ServiceSpec

SPEC = ServiceSpec(
    name="invoicing",
    metadata=metadata,
    tables=messaging,
    migrations_dir=Path(__file__).parent / "migrations",
    produces=(topics.INVOICES, topics.BILLING_RUNS),
    consumes=(topics.BILLING_REQUESTS, topics.BILLING_PROFILES, topics.REFERENCE_PAYMENTS),
)


def build(settings: Settings | None = None) -> Runtime[InvoicingUnitOfWork]:
    return Runtime(SPEC, settings or Settings(), InvoicingUnitOfWork)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build(settings).http_app([], title="Invoicing service", version="1")
