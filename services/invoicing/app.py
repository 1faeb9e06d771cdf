"""Wiring only: settings, runtime (engine, broker, outbox relay), consumers, jobs, HTTP API."""

from __future__ import annotations

from datetime import time
from functools import partial
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import text

from services.invoicing import api, consumers, numbering_check
from services.invoicing.config import Settings
from services.invoicing.domain.vat import load_vat_table
from services.invoicing.handlers import run_parts, runs
from services.invoicing.tables import messaging, metadata
from services.invoicing.uow import InvoicingUnitOfWork
from shared import retention
from shared.events import topics
from shared.jobs import JobKind
from shared.runtime import Runtime, ServiceSpec

SPEC = ServiceSpec(
    name="invoicing",
    metadata=metadata,
    tables=messaging,
    migrations_dir=Path(__file__).parent / "migrations",
    produces=(topics.INVOICES, topics.BILLING_RUNS),
    consumes=(topics.BILLING_REQUESTS, topics.BILLING_PROFILES, topics.REFERENCE_PAYMENTS),
)


PURGED_WITH_JOBS = (
    # a preview run's rows (the invoices it would make, with the customers' snapshots)
    # exist only for the clerk to read; draft and confirmed runs stay (business record)
    retention.JobRows(
        "preview_runs",
        text("DELETE FROM billing_runs WHERE id = ANY(CAST(:ids AS uuid[])) AND mode = 'preview'"),
    ),
)


def build(settings: Settings | None = None) -> Runtime[InvoicingUnitOfWork]:
    settings = settings or Settings()
    runtime = Runtime(SPEC, settings, InvoicingUnitOfWork)
    consumers.register(runtime, load_vat_table(settings.vat_table_path))
    retention.install(runtime.jobs, settings, job_rows=PURGED_WITH_JOBS)
    numbering_check.install(runtime, settings)
    size = settings.run_chunk_customers
    runtime.jobs.register(  # partitioned: its parts are taken by whichever replicas run
        JobKind(
            runs.RUN,
            partial(run_parts.run_part, settings=settings),
            total=runs.count_run,
            chunk_size=size,
            plan=partial(run_parts.plan_run, settings=settings),
            finish=partial(run_parts.finish_run, settings=settings),
        )
    )
    runtime.jobs.register(JobKind(runs.DAILY, partial(runs.daily_chunk, settings=settings), chunk_size=size))
    if settings.daily_run_enabled:
        runtime.jobs.schedule_daily(
            runs.DAILY, at=time.fromisoformat(settings.daily_run_at), params=runs.daily_params(settings)
        )
    return runtime


def http_app(runtime: Runtime[InvoicingUnitOfWork], title: str = "Invoicing service") -> FastAPI:
    return runtime.http_app(list(api.ROUTERS), title=title, version="1")


def create_app(settings: Settings | None = None) -> FastAPI:
    return http_app(build(settings))
