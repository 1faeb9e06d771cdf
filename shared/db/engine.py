"""Async engine and session factory (SQLAlchemy 2 + asyncpg).

One session per message batch or HTTP request; ``expire_on_commit=False`` so objects
stay readable after commit without another round trip.

Every connection carries the service's timeouts (:class:`DatabaseTimeouts`, from
settings) as PostgreSQL session settings, so a runaway statement, a lock wait or a
transaction left open end on the server, whatever the client does. Errors never carry
statement parameters or the row values PostgreSQL quotes (``hide_parameters`` and
:func:`shared.db.errors.redact`): they may be names, addresses, e-mails.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.db.errors import redact_engine_error


@dataclass(frozen=True)
class DatabaseTimeouts:
    """Server-side limits per session (milliseconds; 0 = no limit) and the connect timeout."""

    statement_ms: int = 30_000
    lock_ms: int = 10_000
    idle_in_transaction_ms: int = 60_000
    connect_s: float = 10.0

    def server_settings(self) -> dict[str, str]:
        return {
            "statement_timeout": str(self.statement_ms),
            "lock_timeout": str(self.lock_ms),
            "idle_in_transaction_session_timeout": str(self.idle_in_transaction_ms),
        }


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    timeouts: DatabaseTimeouts | None = None,
    application_name: str | None = None,
) -> AsyncEngine:
    timeouts = timeouts or DatabaseTimeouts()
    server_settings = timeouts.server_settings()
    if application_name:
        server_settings["application_name"] = application_name  # shows in pg_stat_activity
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,  # the process's cap: pool_size + max_overflow
        pool_pre_ping=True,
        pool_recycle=1800,
        hide_parameters=True,
        connect_args={"server_settings": server_settings, "timeout": timeouts.connect_s},
    )
    event.listen(engine.sync_engine, "handle_error", redact_engine_error)
    return engine


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
