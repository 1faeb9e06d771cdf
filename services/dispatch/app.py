"""Wiring only: the dispatch service (documents in, the Sending tab, send and preview
jobs, retries) and its channel workers (one consumer group per channel)."""

from __future__ import annotations

import functools
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import text

from services.dispatch import api, api_documents, channels, consumers, handlers
from services.dispatch.config import Settings
from services.dispatch.delivery import Deliverer
from services.dispatch.domain.outcomes import RetryPolicy
from services.dispatch.lease import WorkerLease
from services.dispatch.prerender import Prerendering, RenderAhead
from services.dispatch.print_batches import BatchCloser
from services.dispatch.repositories import DispatchUnitOfWork
from services.dispatch.runtime import DispatchRuntime, Loop
from services.dispatch.tables import messaging, metadata
from shared import retention
from shared.events import topics
from shared.events.customers import Channel
from shared.jobs import JobKind
from shared.messaging.consumer import subscribe
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="dispatch",
    metadata=metadata,
    tables=messaging,
    migrations_dir=Path(__file__).parent / "migrations",
    # The channel job topics are internal: dispatch writes them (outbox) and its workers
    # read them. Declared once, as consumed (with their dead-letter topics); declaring
    # them as produced too would give the AsyncAPI document two channels of one name.
    produces=(topics.DELIVERIES,),
    consumes=(
        topics.INVOICES,
        topics.REMINDERS,
        topics.BILLING_PROFILES,
        topics.EMAIL_JOBS,
        topics.EINVOICE_JOBS,
        topics.PRINT_JOBS,
    ),
)

WORKER_PORTS: dict[str, int] = {"email": 8011, "einvoice": 8012, "print": 8013}


PURGED_WITH_JOBS = (
    # a preview job's rendered documents: made for the clerk to look at, nothing else
    retention.JobRows("preview_items", text("DELETE FROM preview_items WHERE job_id = ANY(CAST(:ids AS uuid[]))")),
)


def worker_group(channel: str) -> str:
    """One consumer group per channel: its workers share the channel's partitions."""
    return f"dispatch-{channel}"


def build(settings: Settings | None = None) -> DispatchRuntime:
    """The dispatch service: issued documents in, the Sending tab, jobs, retries."""
    settings = settings or Settings()
    runtime = DispatchRuntime(SPEC, settings, DispatchUnitOfWork)
    consumers.register(runtime, settings)
    retention.install(runtime.jobs, settings, job_rows=PURGED_WITH_JOBS)
    runtime.jobs.register(
        JobKind(
            handlers.SEND,
            functools.partial(handlers.send_chunk, track_interval_s=settings.send_track_interval_s),
            total=handlers.count_selected,
            chunk_size=settings.send_chunk_size,
        )
    )
    runtime.jobs.register(
        JobKind(
            handlers.PREVIEW,
            functools.partial(handlers.preview_chunk, settings=settings),
            total=handlers.count_selected,
            chunk_size=50,
        )
    )
    metrics = runtime.dispatch_metrics

    async def retries() -> None:
        async with runtime.uow() as uow:
            counts = await handlers.queue_due_retries(uow)
            await uow.commit()
        for channel, n in counts.items():
            metrics.queued.labels(metrics.service, channel).inc(n)

    runtime.loops.append(Loop("retries", retries, settings.retry_poll_interval_s))
    return runtime


def build_worker(channel: Channel, settings: Settings | None = None) -> DispatchRuntime:
    """A channel worker: consumes ``dispatch.jobs.<channel>.v1`` in the channel's group,
    delivers, records; any number of replicas share the partitions."""
    settings = settings or Settings()
    runtime = DispatchRuntime(SPEC, settings, DispatchUnitOfWork)
    adapter = channels.make(channel, settings)
    lease = WorkerLease(runtime.engine, channel)
    policy = RetryPolicy(
        max_attempts=settings.retry_max_attempts,
        base_s=settings.retry_base_s,
        factor=settings.retry_factor,
        max_delay_s=settings.retry_max_delay_s,
    )
    deliverer = Deliverer(
        adapter,
        uow_factory=runtime.uow,
        lease=lease,
        policy=policy,
        concurrency=settings.concurrency(channel),
        metrics=runtime.dispatch_metrics,
    )
    runtime.before_start += [adapter.start, lease.start]
    runtime.after_stop += [adapter.stop, lease.stop]
    runtime.consumer_stats.append(
        subscribe(
            runtime.broker,
            settings,
            topic=topics.CHANNEL_JOBS[channel],
            group=worker_group(channel),
            handler=deliverer.handle,
            uow_factory=runtime.uow,
        )
    )
    if isinstance(adapter, Prerendering) and settings.render_ahead_interval_s > 0:
        ahead = RenderAhead(adapter, runtime.uow, runtime.dispatch_metrics, batch=settings.render_ahead_batch)
        runtime.loops.append(Loop("render-ahead", ahead.tick, settings.render_ahead_interval_s))
    if channel == "print":
        closer = BatchCloser(settings, runtime.uow, lease, runtime.dispatch_metrics)
        runtime.loops.append(Loop("print-batches", closer.tick, settings.print_close_interval_s))
    return runtime


def http_app(runtime: DispatchRuntime, title: str = "Dispatch service") -> FastAPI:
    return runtime.http_app([api.router, api_documents.router], title=title, version="1")


def worker_app(runtime: DispatchRuntime, channel: str) -> FastAPI:
    """A worker's HTTP side: health, readiness (a stopped partition shows), metrics."""
    return runtime.http_app([], title=f"Dispatch {channel} worker", version="1")


def create_app(settings: Settings | None = None) -> FastAPI:
    return http_app(build(settings))
