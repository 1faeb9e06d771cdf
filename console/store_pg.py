"""The console's PostgreSQL store (SQLAlchemy 2 async + asyncpg), in its own database
(``CONSOLE_DATABASE_URL``), with its own Alembic migrations (``console/migrations``):
``billing migrate console``, or at start in development.

Three tables: ``console_sessions`` (one row per session, keyed by the SHA-256 of its id),
``console_login_failures`` (failure counts and locks, keyed by a hash of the user
name and client address, or of the address alone: no name or address is stored) and
``console_uploads`` (a bank file between its preview and its confirmation, keyed by the
SHA-256 of the token the clerk's page holds, deleted once imported or expired).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    and_,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from console.store import MAX_COUNT, SessionEnds, SessionRecord, Upload
from shared.db import schema_check
from shared.db.engine import make_engine
from shared.db.migrations import upgrade

MIGRATIONS = Path(__file__).parent / "migrations"

metadata = MetaData()

sessions = Table(
    "console_sessions",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("user_name", String(200), nullable=True),
    Column("data", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Index("console_sessions_user_name", "user_name"),
    Index("console_sessions_last_seen_at", "last_seen_at"),
    Index("console_sessions_created_at", "created_at"),
)

login_failures = Table(
    "console_login_failures",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Index("console_login_failures_window_start", "window_start"),
)

uploads = Table(
    "console_uploads",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("user_name", String(200), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("console_uploads_expires_at", "expires_at"),
)


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class PostgresStore:
    def __init__(self, url: str, *, migrate: bool, pool_size: int = 5, max_overflow: int = 5) -> None:
        self.url = url
        self.migrate = migrate
        self.pool_size = pool_size
        self.max_overflow = max_overflow
        self._engine: AsyncEngine | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the console's store is not open")
        return self._engine

    async def open(self) -> None:
        """Migrate (development) or check that the schema is migrated (production:
        :class:`~shared.db.schema_check.SchemaBehind` stops the start)."""
        if self.migrate:
            await upgrade(MIGRATIONS, self.url)
        self._engine = make_engine(
            self.url, pool_size=self.pool_size, max_overflow=self.max_overflow, application_name="billing-console"
        )
        if not self.migrate:
            await schema_check.check(self._engine, MIGRATIONS, "console")

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    # --- sessions ---
    async def get(self, key: str) -> SessionRecord | None:
        query = select(sessions.c.data, sessions.c.created_at, sessions.c.last_seen_at).where(sessions.c.key == key)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        data: dict[str, Any] = row.data if isinstance(row.data, dict) else {}
        return SessionRecord(data, row.created_at.timestamp(), row.last_seen_at.timestamp())

    async def create(self, key: str, record: SessionRecord) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                sessions.insert().values(
                    key=key,
                    user_name=record.user,
                    data=record.data,
                    created_at=_at(record.created_at),
                    last_seen_at=_at(record.last_seen_at),
                )
            )

    async def update(self, key: str, data: dict[str, Any], last_seen_at: float) -> bool:
        user = data.get("user") if isinstance(data.get("user"), str) else None
        statement = (
            update(sessions)
            .where(sessions.c.key == key)
            .values(data=data, user_name=user or None, last_seen_at=_at(last_seen_at))
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(statement)
        return bool(result.rowcount)

    async def touch(self, key: str, last_seen_at: float) -> None:
        statement = (
            update(sessions)
            .where(sessions.c.key == key, sessions.c.last_seen_at < _at(last_seen_at))
            .values(last_seen_at=_at(last_seen_at))
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)

    async def delete(self, key: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(sessions).where(sessions.c.key == key))

    async def delete_user(self, user: str) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(sessions).where(sessions.c.user_name == user))
        return int(result.rowcount)

    async def purge(self, now: float, ends: SessionEnds, window_before: float) -> int:
        async with self.engine.begin() as conn:
            ended = await conn.execute(
                delete(sessions).where(
                    or_(
                        sessions.c.last_seen_at <= _at(ends.idle_before),
                        and_(
                            sessions.c.user_name.is_(None), sessions.c.last_seen_at <= _at(ends.anonymous_idle_before)
                        ),
                        sessions.c.created_at <= _at(ends.created_before),
                    )
                )
            )
            old = await conn.execute(
                delete(login_failures).where(
                    login_failures.c.window_start < _at(window_before),
                    or_(login_failures.c.locked_until.is_(None), login_failures.c.locked_until <= _at(now)),
                )
            )
            expired = await conn.execute(delete(uploads).where(uploads.c.expires_at <= _at(now)))
        return int(ended.rowcount) + int(old.rowcount) + int(expired.rowcount)

    # --- uploads waiting for their confirmation ---
    async def put_upload(self, key: str, upload: Upload) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                uploads.insert().values(
                    key=key,
                    user_name=upload.user,
                    file_name=upload.file_name,
                    data=upload.data,
                    sha256=upload.sha256,
                    expires_at=_at(upload.expires_at),
                )
            )

    async def get_upload(self, key: str, user: str, now: float) -> Upload | None:
        query = select(uploads).where(
            uploads.c.key == key, uploads.c.user_name == user, uploads.c.expires_at > _at(now)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return Upload(row.user_name, row.file_name, bytes(row.data), row.sha256, row.expires_at.timestamp())

    async def delete_upload(self, key: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(uploads).where(uploads.c.key == key))

    # --- sign-in attempts ---
    async def attempt(self, key: str, now: float, window_s: float) -> tuple[int, float | None]:
        """One UPSERT … RETURNING: PostgreSQL serialises parallel attempts on one key, so
        each sees its own count."""
        at = _at(now)
        table = login_failures
        not_locked = or_(table.c.locked_until.is_(None), table.c.locked_until <= at)
        stale = and_(table.c.window_start <= at - timedelta(seconds=window_s), not_locked)
        statement = (
            insert(table)
            .values(key=key, failures=1, window_start=at, locked_until=None)
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "failures": case((stale, 1), else_=func.least(table.c.failures + 1, MAX_COUNT)),
                    "window_start": case((stale, at), else_=table.c.window_start),
                    "locked_until": case((stale, None), else_=table.c.locked_until),
                },
            )
            .returning(table.c.failures, table.c.locked_until)
        )
        async with self.engine.begin() as conn:
            row = (await conn.execute(statement)).one()
        locked = row.locked_until.timestamp() if row.locked_until is not None else None
        return int(row.failures), locked if locked is not None and locked > now else None

    async def forget_attempt(self, key: str) -> None:
        table = login_failures
        async with self.engine.begin() as conn:
            # the only attempt counted, and no lock: no row left (a success leaves no trace)
            gone = await conn.execute(
                delete(table).where(table.c.key == key, table.c.failures <= 1, table.c.locked_until.is_(None))
            )
            if not gone.rowcount:
                await conn.execute(
                    update(table).where(table.c.key == key).values(failures=func.greatest(table.c.failures - 1, 0))
                )

    async def lock(self, key: str, now: float, until: float) -> None:
        table = login_failures
        statement = (
            insert(table)
            .values(key=key, failures=0, window_start=_at(now), locked_until=_at(until))
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={"locked_until": func.greatest(table.c.locked_until, _at(until))},
            )
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)

    async def clear_failures(self, key: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(login_failures).where(login_failures.c.key == key))
