"""A service's moving parts and their lifecycle, wired the same way for every service:

migrations -> topics -> outbox relay (own idempotent producer) -> FastStream broker
(subscribers) -> HTTP API. Stopping goes the other way, so in-flight batches finish
and commit before the relay and the database go away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import PlainTextResponse
from faststream import FastStream
from sqlalchemy import MetaData, func, select, text

from shared.db.engine import make_engine, make_session_factory
from shared.db.migrations import upgrade
from shared.db.uow import UnitOfWork
from shared.events.topics import TopicSpec
from shared.http import health_router, require_token
from shared.jobs.api import jobs_router
from shared.jobs.runner import JobRunner
from shared.messaging.broker import make_broker
from shared.messaging.connection import make_producer
from shared.messaging.consumer import ConsumerStats
from shared.messaging.outbox import OutboxRelay
from shared.messaging.tables import MessagingTables
from shared.serve import guard_payload_loggers
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)


@dataclass(frozen=True)
class ServiceSpec:
    """What makes a service itself: name, tables, migrations, topics."""

    name: str
    metadata: MetaData
    tables: MessagingTables
    migrations_dir: Path
    produces: Sequence[TopicSpec] = ()
    consumes: Sequence[TopicSpec] = ()


@dataclass
class Runtime(Generic[U]):
    spec: ServiceSpec
    settings: ServiceSettings
    uow_class: type[U]
    consumer_stats: list[ConsumerStats] = field(default_factory=list)

    def __post_init__(self) -> None:
        guard_payload_loggers()
        self.engine = make_engine(
            self.settings.database_url.get_secret_value(), pool_size=self.settings.database_pool_size
        )
        self.session_factory = make_session_factory(self.engine)
        self.broker = make_broker(self.settings)
        self.relay = OutboxRelay(
            self.engine,
            self.spec.tables,
            lock_name=self.spec.name,
            batch_size=self.settings.outbox_batch_size,
            poll_interval_s=self.settings.outbox_poll_interval_s,
            send_timeout_s=self.settings.outbox_send_timeout_s,
        )
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
        )

    def uow(self) -> U:
        return self.uow_class(
            self.session_factory,
            self.spec.tables,
            source=self.source,
            topic_prefix=self.settings.kafka_topic_prefix,
            on_commit=self.relay.notify,
        )

    async def start(self) -> None:
        if self.settings.run_migrations_on_start:
            await upgrade(self.spec.migrations_dir, self.settings.database_url.get_secret_value())
        if self.settings.kafka_create_topics:
            from shared.messaging.topics_admin import ensure_topics

            await ensure_topics(self.settings, self.spec.produces, self.spec.consumes)
        producer = make_producer(self.settings)  # aiokafka clients need the running loop
        await producer.start()
        self.relay.producer = producer
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
        if self.relay.producer is not None:
            await self.relay.producer.stop()
        await self.engine.dispose()
        log.info("%s stopped", self.spec.name)

    # --- readiness and metrics -------------------------------------------------

    async def db_ready(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def kafka_ready(self) -> bool:
        return await self.broker.ping(timeout=3.0)

    async def relay_ready(self) -> bool:
        return self._relay_task is not None and not self._relay_task.done() and self.relay.healthy

    async def metrics_text(self) -> str:
        lines = [
            "# TYPE billing_outbox_pending gauge",
            f'billing_outbox_pending{{service="{self.spec.name}"}} {await self.relay.pending()}',
            "# TYPE billing_outbox_published_total counter",
            f'billing_outbox_published_total{{service="{self.spec.name}"}} {self.relay.published}',
        ]
        async with self.engine.connect() as conn:
            dead = await conn.scalar(select(func.count()).select_from(self.spec.tables.dead_letters))
        lines += [
            "# TYPE billing_dead_letters gauge",
            f'billing_dead_letters{{service="{self.spec.name}"}} {dead}',
        ]
        for name in ("records", "handled", "duplicates", "dead_lettered", "retries"):
            lines.append(f"# TYPE billing_consumer_{name}_total counter")
            for s in self.consumer_stats:
                lines.append(
                    f'billing_consumer_{name}_total{{service="{self.spec.name}",topic="{s.topic}"}} {getattr(s, name)}'
                )
        return "\n".join(lines) + "\n"

    # --- the process's apps ----------------------------------------------------

    def faststream_app(self) -> FastStream:
        """The FastStream app (its AsyncAPI document is the published contract)."""
        return FastStream(self.broker)

    def http_app(self, routers: Sequence[APIRouter], *, title: str, **kwargs: Any) -> FastAPI:
        @contextlib.asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        app = FastAPI(title=title, lifespan=lifespan, **kwargs)
        app.state.runtime = self
        app.include_router(
            health_router({"database": self.db_ready, "kafka": self.kafka_ready, "outbox_relay": self.relay_ready})
        )
        token_getter: Callable[[Any], str] = lambda request: self.settings.api_token.get_secret_value()  # noqa: E731
        auth = Depends(require_token(token_getter))

        metrics = APIRouter()

        @metrics.get("/metrics", response_class=PlainTextResponse, tags=["ops"])
        async def metrics_endpoint() -> str:
            return await self.metrics_text()

        app.include_router(metrics)
        dead = APIRouter(prefix="/dead-letters", tags=["ops"], dependencies=[auth])

        @dead.get("")
        async def list_dead_letters(limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
            """Inbound records this service could not use, with the reason (newest first)."""
            async with self.uow() as uow:
                return await uow.dead_letters.list(limit=min(limit, 1000), offset=offset)

        app.include_router(dead)
        app.include_router(jobs_router(self.jobs), dependencies=[auth])
        for router in routers:
            app.include_router(router, dependencies=[auth])
        return app
