"""A service's moving parts and their lifecycle, wired the same way for every service:

migrations (development mode) and the schema check -> topics -> outbox relay (own
idempotent producer) -> FastStream broker (subscribers) -> HTTP API. Stopping goes the
other way, so in-flight batches finish and commit before the relay and the database go away.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import Response
from faststream import FastStream
from sqlalchemy import MetaData, text

from shared.auth.credentials import CredentialsError
from shared.auth.http import authenticate, require
from shared.auth.scopes import METRICS
from shared.auth.setup import build_authenticator
from shared.db import schema_check
from shared.db.engine import DatabaseTimeouts, make_engine, make_session_factory
from shared.db.migrations import MigrationTimeouts, upgrade
from shared.db.uow import UnitOfWork
from shared.dead_letter_api import dead_letter_router
from shared.events.topics import TopicSpec
from shared.http import (
    AUTH_ERRORS,
    ReadinessCheck,
    health_router,
    install_error_handlers,
    refuse_unstorable_text,
)
from shared.jobs.api import jobs_router
from shared.jobs.runner import JobRunner
from shared.logs import guard_payload_loggers
from shared.messaging.broker import make_broker
from shared.messaging.connection import make_producer
from shared.messaging.consumer import ConsumerStats
from shared.messaging.outbox import OutboxRelay
from shared.messaging.tables import MessagingTables
from shared.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from shared.metrics import ServiceMetrics
from shared.settings import ServiceSettings, StartRefused

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)

DEV_MIGRATION_ATTEMPTS = 8
"""Tries of a migration at start (development mode) that hit the lock timeout."""


@dataclass(frozen=True)
class ServiceSpec:
    """What makes a service itself: name, tables, migrations, topics."""

    name: str
    metadata: MetaData
    tables: MessagingTables
    migrations_dir: Path
    produces: Sequence[TopicSpec] = ()
    consumes: Sequence[TopicSpec] = ()


def database_timeouts(settings: ServiceSettings) -> DatabaseTimeouts:
    return DatabaseTimeouts(
        statement_ms=settings.database_statement_timeout_ms,
        lock_ms=settings.database_lock_timeout_ms,
        idle_in_transaction_ms=settings.database_idle_in_transaction_timeout_ms,
        connect_s=settings.database_connect_timeout_s,
    )


@dataclass
class Runtime(Generic[U]):
    spec: ServiceSpec
    settings: ServiceSettings
    uow_class: type[U]
    consumer_stats: list[ConsumerStats] = field(default_factory=list)

    def __post_init__(self) -> None:
        guard_payload_loggers()
        self.engine = make_engine(
            self.settings.database_url.get_secret_value(),
            pool_size=self.settings.database_pool_size,
            max_overflow=self.settings.database_max_overflow,
            timeouts=database_timeouts(self.settings),
            application_name=self.spec.name,
        )
        self.session_factory = make_session_factory(self.engine)
        self.broker = make_broker(self.settings)
        self.relay = OutboxRelay(
            self.engine,
            self.spec.tables,
            lambda: make_producer(self.settings),
            lock_name=self.spec.name,
            batch_size=self.settings.outbox_batch_size,
            poll_interval_s=self.settings.outbox_poll_interval_s,
            send_timeout_s=self.settings.outbox_send_timeout_s,
        )
        self.readiness: dict[str, tuple[ReadinessCheck, bool]] = {
            "database": (self.db_ready, True),
            "kafka": (self.kafka_ready, False),
            "outbox_relay": (self.relay_ready, False),
            "consumers": (self.consumers_ready, False),
        }
        if self.settings.mode == "production":
            self.add_readiness_check("schema", self.schema_ready, serving=True)
        self._schema_state: schema_check.SchemaState | None = None
        self.start_hooks: list[Callable[[], Awaitable[None]]] = []
        """Awaited in :meth:`start` once the schema and the topics are there, before the
        relay, the consumers and the jobs start (a service's own start-up checks)."""
        self._relay_task: asyncio.Task[None] | None = None
        self.source = f"urn:billing:{self.spec.name}"
        self.jobs: JobRunner[U] = JobRunner(
            self.engine,
            self.uow,
            self.spec.metadata.tables["jobs"],
            poll_interval_s=self.settings.jobs_poll_interval_s,
            max_concurrent=self.settings.jobs_max_concurrent,
            timezone=self.settings.jobs_timezone,
            schedule_times=self.settings.jobs_schedule,
            chunk_sizes=self.settings.jobs_chunk_sizes,
            parts_table=self.spec.metadata.tables.get("job_parts"),
        )
        self.jobs.on_finished = self.metrics.job_finished  # billing_jobs_finished{kind, state}

    def add_readiness_check(self, name: str, check: ReadinessCheck, *, serving: bool) -> None:
        """A check ``/readyz`` reports. ``serving=True``: the HTTP API cannot serve
        without it (``/readyz`` answers 503); otherwise a failure only degrades it and
        shows in ``/readyz/all`` (see :func:`shared.http.health_router`)."""
        self.readiness[name] = (check, serving)

    def uow(self) -> U:
        return self.uow_class(
            self.session_factory,
            self.spec.tables,
            source=self.source,
            topic_prefix=self.settings.kafka_topic_prefix,
            on_commit=self.relay.notify,
            key_lock_stripes=self.settings.outbox_key_lock_stripes,
            max_key_locks=self.settings.outbox_max_key_locks,
        )

    async def start(self) -> None:
        if self.settings.run_migrations_on_start and not await self._database_ahead():
            # development only (refused in production). A database ahead of this code (the
            # expand step of a newer release) is not migrated: Alembic cannot locate its
            # revision; check_schema() accepts it below, as `billing migrate` does.
            # Replicas of a service start together here (the test kit starts dispatch and
            # its channel workers at once): those waiting on the first one's migration lock
            # try longer than `billing migrate` does.
            timeouts = MigrationTimeouts.from_settings(self.settings)
            timeouts = dataclasses.replace(timeouts, attempts=max(timeouts.attempts, DEV_MIGRATION_ATTEMPTS))
            await upgrade(self.spec.migrations_dir, self.settings.database_url.get_secret_value(), timeouts=timeouts)
        await self.check_schema()
        from shared.messaging.topics_admin import prepare_topics

        # development: creates the missing topics; production: checks them, creates nothing
        await prepare_topics(self.settings, self.spec.produces, self.spec.consumes)
        for hook in self.start_hooks:
            await hook()
        self.relay.on_batch = self.metrics.observe_relay
        self.metrics.declare_jobs(self.jobs.kinds)
        for stats in self.consumer_stats:
            stats.on_batch = self.metrics.observe_batch
            stats.on_stall = self.metrics.set_stalled
            stats.on_dead_letter = self.metrics.dead_lettered
        self._relay_task = asyncio.create_task(self.relay.run(), name=f"{self.spec.name}-outbox-relay")
        await self.broker.start()
        await self.jobs.start()
        log.info("%s started", self.spec.name)

    async def stop(self) -> None:
        await self.jobs.stop()
        await self.broker.stop()
        if self._relay_task is not None:
            self._relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay_task
        await self.engine.dispose()
        log.info("%s stopped", self.spec.name)

    async def _database_ahead(self) -> bool:
        """The database is at a revision this code does not know (read without raising)."""
        verdict = schema_check.compare(
            await schema_check.database_revisions(self.engine), schema_check.code_head(self.spec.migrations_dir)
        )
        return verdict.state is schema_check.SchemaState.AHEAD

    async def check_schema(self) -> schema_check.SchemaVerdict:
        """The database's schema against the head of this code's migrations: raises
        :class:`~shared.db.schema_check.SchemaBehind` (the process exits, not ready)
        when it is older; a newer revision the code does not know is accepted (the
        expand/contract rule)."""
        verdict = await schema_check.check(self.engine, self.spec.migrations_dir, self.spec.name)
        if verdict.state is not self._schema_state:
            self._schema_state = verdict.state
            if verdict.state is schema_check.SchemaState.AHEAD:
                log.info(
                    "%s: the database schema is at revision %s, newer than this code's head %s: accepted "
                    "(an expand step of a newer release; see the expand/contract rule)",
                    self.spec.name,
                    verdict.database_text,
                    verdict.head,
                )
        return verdict

    # --- readiness and metrics -------------------------------------------------

    async def schema_ready(self) -> bool:
        """Production: the schema is still not older than the code (a restored or
        rolled-back database makes ``/readyz`` 503)."""
        try:
            await self.check_schema()
        except schema_check.SchemaBehind as behind:
            if self._schema_state is not schema_check.SchemaState.BEHIND:
                self._schema_state = schema_check.SchemaState.BEHIND
                log.error("%s", behind)
            return False
        return True

    async def db_ready(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def kafka_ready(self) -> bool:
        return await self.broker.ping(timeout=3.0)

    async def relay_ready(self) -> bool:
        return self._relay_task is not None and not self._relay_task.done() and self.relay.healthy

    async def consumers_ready(self) -> bool:
        """False while a consumer has a stopped partition (a failure that is not the
        record's fault, retried until it is fixed): loud on purpose."""
        return not any(s.stalled for s in self.consumer_stats)

    @functools.cached_property
    def metrics(self) -> ServiceMetrics:
        """This service's metrics (own registry). The consumer loop and the relay feed
        them; counters they keep anyway and consumer lag are read when scraped."""
        metrics = ServiceMetrics(self.spec.name)
        metrics.watch(
            relay=lambda: getattr(self, "relay", None),  # the relay may be built with these metrics
            consumer_stats=lambda: self.consumer_stats,
            subscribers=lambda: self.broker.subscribers,
        )
        return metrics

    async def metrics_text(self) -> bytes:
        """The Prometheus text (``metrics.CONTENT_TYPE``). No ``count(*)``: see ``shared.metrics``."""
        await self.metrics.refresh(self.engine, self.spec.tables.outbox, self.spec.tables.dead_letters)
        return self.metrics.exposition()

    # --- the process's apps ----------------------------------------------------

    def faststream_app(self) -> FastStream:
        """The FastStream app (its AsyncAPI document is the published contract)."""
        return FastStream(self.broker)

    def http_app(self, routers: Sequence[APIRouter], *, title: str, **kwargs: Any) -> FastAPI:
        """The HTTP API: health and readiness open, everything else behind a caller's
        credential (``shared.auth``): each route declares its one scope, ``/metrics``
        needs ``metrics``. ``/docs``, ``/redoc`` and ``/openapi.json`` are served only in
        development. Production without a credentials file, or a credentials or key file
        that cannot be read, is refused (:class:`~shared.settings.StartRefused`)."""

        @contextlib.asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        settings = self.settings
        prefix = str(settings.model_config.get("env_prefix") or "")
        if settings.credentials_file is None:
            if settings.mode == "production":
                raise StartRefused(
                    f"{prefix}CREDENTIALS_FILE is not set: production refuses to start without the callers' "
                    "credentials (create them with `bin/billing credentials create`)"
                )
            log.warning(
                "%s: no credentials file is set (%sCREDENTIALS_FILE): every API call is refused with 401",
                self.spec.name,
                prefix,
            )
        if settings.mode == "production":
            kwargs = {**kwargs, "docs_url": None, "redoc_url": None, "openapi_url": None}
        app = FastAPI(title=title, lifespan=lifespan, **kwargs)
        install_error_handlers(app)  # 422 in the declared shape; 500 without personal data
        app.state.runtime = self
        try:
            app.state.authenticator = build_authenticator(settings)
        except (CredentialsError, OSError, ValueError) as exc:  # the message names the file, never a hash
            raise StartRefused(str(exc)) from None
        app.include_router(
            health_router(
                {name: check for name, (check, _) in self.readiness.items()},
                serving=[name for name, (_, serving) in self.readiness.items() if serving],
            )
        )
        # every guarded route: a caller (401 without one), then its own scope (403)
        guarded = [Depends(authenticate), Depends(refuse_unstorable_text)]  # NUL & co. answer 422

        metrics = APIRouter()

        @metrics.get("/metrics", response_class=Response, tags=["ops"], dependencies=[require(METRICS)])
        async def metrics_endpoint() -> Response:
            return Response(await self.metrics_text(), media_type=METRICS_CONTENT_TYPE)

        app.include_router(metrics, dependencies=[Depends(authenticate)], responses=AUTH_ERRORS)
        app.include_router(dead_letter_router(self.uow, self.spec.name), dependencies=guarded, responses=AUTH_ERRORS)
        app.include_router(jobs_router(self.jobs, self.spec.name), dependencies=guarded, responses=AUTH_ERRORS)
        for router in routers:
            app.include_router(router, dependencies=guarded, responses=AUTH_ERRORS)
        return app
