"""Wiring only: settings, rules, runtime (engine, broker, outbox relay), consumers, jobs, HTTP API."""

from __future__ import annotations

import logging
from datetime import date, time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from prometheus_client import Gauge, Summary

from services.reminders import api, consumers, handlers, rates_api
from services.reminders.config import Settings
from services.reminders.domain.clock import Clock, FixedClock, SystemClock
from services.reminders.domain.policy import default_policy
from services.reminders.domain.rates import RateMissing, default_rates
from services.reminders.reminding import Reminding
from services.reminders.repositories import RemindersUnitOfWork
from services.reminders.runtime import RemindersRuntime
from services.reminders.tables import messaging, metadata
from shared import retention
from shared.events import topics
from shared.jobs import DailySchedule, JobKind
from shared.runtime import ServiceSpec

log = logging.getLogger(__name__)

SPEC = ServiceSpec(
    name="reminders",
    metadata=metadata,
    tables=messaging,
    migrations_dir=Path(__file__).parent / "migrations",
    produces=(topics.REMINDERS,),
    consumes=(topics.INVOICES, topics.BILLING_PROFILES),
)
DAILY_AT = time(7, 0)


def rules(settings: Settings) -> handlers.Rules:
    clock: Clock = (
        FixedClock(settings.today, settings.jobs_timezone) if settings.today else SystemClock(settings.jobs_timezone)
    )
    rates = default_rates(settings.extra_reference_rates)
    today = clock.today()
    try:
        rates.at(today)
    except RateMissing as missing:
        log.warning(
            "no reference rate for %s..%s: reminders charge no interest for those days until it is added to "
            "services/reminders/domain/data/reference_rates.toml or REMINDERS_EXTRA_REFERENCE_RATES",
            missing.start,
            missing.end,
        )
    return handlers.Rules(default_policy(), rates, clock, settings.collection_agency)


def build(settings: Settings | None = None) -> RemindersRuntime:
    settings = settings or Settings()
    runtime = RemindersRuntime(SPEC, settings, RemindersUnitOfWork)
    runtime.rules = rules(settings)
    consumers.register(runtime)
    retention.install(runtime.jobs, settings)
    phases = Summary(
        "billing_reminders_create_phase_seconds",
        "Time the parts of reminder jobs spend per phase: select (lock and load the items), decide (the rules), "
        "documents (build and encode the reminders), insert (reminder rows, items moved to their level), outbox "
        "(outbox rows queued); the chunk's commit (outbox flush) is not in it",
        ["phase"],
        registry=runtime.metrics.registry,
    )
    rates_missing = Gauge(
        "billing_reminders_reference_rates_missing",
        "Half-years up to today without the Bank of Finland's reference rate: reminders made now charge no "
        "interest for their days until it is added (reference_rates.toml or REMINDERS_EXTRA_REFERENCE_RATES).",
        ["service"],
        registry=runtime.metrics.registry,
    )
    rates_missing.labels(runtime.metrics.service).set_function(
        lambda: len(runtime.rules.rates.missing(runtime.rules.clock.today()))
    )
    reminding = Reminding(runtime.rules, lambda phase, seconds: phases.labels(phase).observe(seconds))
    size = settings.create_chunk_size
    for kind in (handlers.JOB_CREATE, handlers.JOB_DAILY):  # partitioned: any replica takes a part
        runtime.jobs.register(
            JobKind(
                kind,
                reminding.chunk,
                total=reminding.total,
                chunk_size=size,
                plan=reminding.plan,
                finish=reminding.finish,
            )
        )
    if settings.daily_reminders:
        policy = runtime.rules.policy

        def daily_params(day: date) -> dict[str, Any]:
            """Every level of the day's policy, #1 first (a #2 is never due the day its #1 is made)."""
            return handlers.create_params(range(1, policy.at(day).levels + 1), day, None)

        schedule = DailySchedule(handlers.JOB_DAILY, DAILY_AT, daily_params)
        if settings.today is None:
            runtime.jobs.schedule_daily(handlers.JOB_DAILY, DAILY_AT, daily_params)
        else:  # a fixed day: that day's run, once, when the service starts (the job key makes it once)
            runtime.on_started.append(lambda: runtime.jobs.trigger_daily(schedule, runtime.rules.clock.today()))
    return runtime


def http_app(runtime: RemindersRuntime, title: str = "Reminders service") -> FastAPI:
    return runtime.http_app([api.router, rates_api.router], title=title, version="1")


def create_app(settings: Settings | None = None) -> FastAPI:
    return http_app(build(settings))
