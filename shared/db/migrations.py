"""Alembic, per service: each service has ``services/<name>/migrations`` whose
``env.py`` calls :func:`run_env`. :func:`upgrade` runs them from code (``billing
migrate``; a service's start in development mode).

The migration connection has its own ``lock_timeout`` and ``statement_timeout``
(:class:`MigrationTimeouts`, from settings). The migrations of one service run in one
transaction under a transaction-scoped advisory lock, so concurrent runs wait for each
other; ``lock_timeout`` bounds that wait too (PostgreSQL applies it to advisory locks,
proven in tests/integration/test_migrate_command.py). A run that hits the lock timeout
is rolled back whole, retried with backoff, and then fails with
:class:`MigrationLockTimeout`, which says what blocked it (no query texts, no data).
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

log = logging.getLogger(__name__)

LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout
QUERY_CANCELED = "57014"  # statement_timeout
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class MigrationTimeouts:
    """The migration connection's limits (milliseconds, 0 = none) and its retries."""

    lock_ms: int = 5_000
    statement_ms: int = 600_000
    attempts: int = 4
    backoff_s: float = 2.0

    @classmethod
    def from_settings(cls, settings: Any) -> MigrationTimeouts:
        return cls(
            lock_ms=settings.migration_lock_timeout_ms,
            statement_ms=settings.migration_statement_timeout_ms,
            attempts=max(1, settings.migration_lock_attempts),
            backoff_s=settings.migration_lock_backoff_s,
        )


class MigrationError(Exception):
    """A migration failed in a way ``billing migrate`` reports in one clear line."""


class MigrationLockTimeout(MigrationError):
    """Every try waited longer than ``lock_timeout`` for a lock."""


class _LockTimeout(Exception):
    """One try hit the lock timeout; ``what`` says which lock and who holds it."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def lock_key(name: str) -> int:
    """The advisory lock key of a service's migrations (a 32-bit value, so in pg_locks
    it is ``classid = 0, objid = key, objsubid = 1``)."""
    return zlib.crc32(f"migrations:{name}".encode())


def alembic_config(migrations_dir: Path, url: str, timeouts: MigrationTimeouts | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["lock_name"] = migrations_dir.parent.name
    cfg.attributes["timeouts"] = timeouts or MigrationTimeouts()
    return cfg


async def upgrade(
    migrations_dir: Path, url: str, revision: str = "head", timeouts: MigrationTimeouts | None = None
) -> None:
    """Upgrade to ``revision``; retries a run that hit the lock timeout, then raises
    :class:`MigrationLockTimeout`."""
    timeouts = timeouts or MigrationTimeouts()
    cfg = alembic_config(migrations_dir, url, timeouts)
    name = migrations_dir.parent.name
    for attempt in range(1, timeouts.attempts + 1):
        try:
            await asyncio.to_thread(command.upgrade, cfg, revision)
            return
        except _LockTimeout as busy:
            if attempt == timeouts.attempts:
                raise MigrationLockTimeout(
                    f"{name}: the migrations waited longer than lock_timeout ({timeouts.lock_ms} ms) for a lock, "
                    f"{attempt} tries, nothing changed: {busy.what}. "
                    f"Run `billing migrate {name}` again once that has finished (settings: "
                    "<PREFIX>MIGRATION_LOCK_TIMEOUT_MS, <PREFIX>MIGRATION_LOCK_ATTEMPTS)."
                ) from None
            pause = min(timeouts.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S)
            log.warning(
                "%s: migration try %d hit the lock timeout (%s); again in %.1fs",
                name,
                attempt,
                busy.what,
                pause,
            )
            await asyncio.sleep(pause)
        except Exception as exc:
            if _sqlstate(exc) != QUERY_CANCELED:
                raise
            raise MigrationError(
                f"{name}: a migration statement ran longer than statement_timeout ({timeouts.statement_ms} ms) "
                "and was cancelled; the migrations were rolled back, nothing changed. A long backfill belongs "
                "in batches (see README: the expand/contract rule); or raise <PREFIX>MIGRATION_STATEMENT_TIMEOUT_MS."
            ) from exc


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, through SQLAlchemy's and asyncpg's wrappers."""
    seen: BaseException | None = exc
    while seen is not None:
        code = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(code, str):
            return code
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


BLOCKERS = """
    SELECT a.pid, coalesce(nullif(a.application_name, ''), '?') AS app, coalesce(a.state, '?') AS state,
           coalesce(extract(epoch FROM now() - a.xact_start)::int, 0) AS xact_s
    FROM pg_stat_activity a
    WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND {condition}
    ORDER BY a.xact_start LIMIT 5
"""
ADVISORY_HOLDERS = (
    "a.pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND classid = 0 AND objid = CAST(:k AS bigint)::oid AND objsubid = 1)"
)
LONG_TRANSACTIONS = "a.xact_start < now() - make_interval(secs => :s)"


def _describe(connection: Connection, condition: str, params: dict[str, Any]) -> str:
    """Sessions that match ``condition``: pid, application name, state, transaction age
    (never the query text: it may hold personal data)."""
    try:
        rows = connection.execute(text(BLOCKERS.format(condition=condition)), params).all()
    except Exception:  # a description is best effort; the timeout is the error
        return "(the blocking sessions could not be listed)"
    if not rows:  # gone since, or another role's session this role may not see
        return "(none this database role can see: look at pg_stat_activity and pg_locks as an administrator)"
    return "; ".join(f"pid {r.pid} ({r.app}, {r.state}, transaction open {r.xact_s} s)" for r in rows)


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's ``migrations/env.py`` (online mode, async engine)."""
    cfg = context.config
    url = cfg.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    name = cfg.attributes.get("lock_name", "service")
    timeouts: MigrationTimeouts = cfg.attributes.get("timeouts") or MigrationTimeouts()
    key = lock_key(name)

    def do_run(connection: Connection) -> None:
        # Transaction-scoped lock: released by the commit, or by the rollback when a
        # migration fails (whose error then surfaces as it is).
        try:
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
        except Exception as exc:
            if _sqlstate(exc) != LOCK_NOT_AVAILABLE:
                raise
            connection.rollback()
            holders = _describe(connection, ADVISORY_HOLDERS, {"k": key})
            connection.rollback()
            raise _LockTimeout(
                f"another migration of {name} holds its migration lock (a running `billing migrate {name}` "
                f"or a service starting in development mode): {holders}"
            ) from None
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        try:
            with context.begin_transaction():
                context.run_migrations()
        except Exception as exc:
            if _sqlstate(exc) != LOCK_NOT_AVAILABLE:
                raise
            connection.rollback()
            long = _describe(connection, LONG_TRANSACTIONS, {"s": timeouts.lock_ms / 1000})
            connection.rollback()
            raise _LockTimeout(
                f"a transaction holds a lock on a table a migration of {name} changes "
                f"(transactions open longer than the lock timeout: {long})"
            ) from None
        connection.commit()

    async def main() -> None:
        engine = create_async_engine(
            url,
            connect_args={
                "server_settings": {
                    "lock_timeout": str(timeouts.lock_ms),
                    "statement_timeout": str(timeouts.statement_ms),
                    "application_name": f"billing-migrate-{name}",
                }
            },
        )
        try:
            async with engine.connect() as conn:
                await conn.run_sync(do_run)
        finally:
            await engine.dispose()

    asyncio.run(main())
