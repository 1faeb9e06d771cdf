"""Alembic, per service: each service has ``services/<name>/migrations`` whose
``env.py`` calls :func:`run_env`. :func:`upgrade` runs them from code (service start,
``billing migrate``); a PostgreSQL advisory lock makes concurrent starts safe."""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(migrations_dir: Path, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["lock_name"] = migrations_dir.parent.name
    return cfg


async def upgrade(migrations_dir: Path, url: str, revision: str = "head") -> None:
    cfg = alembic_config(migrations_dir, url)
    await asyncio.to_thread(command.upgrade, cfg, revision)


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's ``migrations/env.py`` (online mode, async engine)."""
    cfg = context.config
    url = cfg.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    lock = zlib.crc32(f"migrations:{cfg.attributes.get('lock_name', 'service')}".encode())

    def do_run(connection: Connection) -> None:
        # Transaction-scoped lock: released by the commit, or by the rollback when a
        # migration fails (whose error then surfaces as it is).
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock})
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()

    async def main() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                await conn.run_sync(do_run)
        finally:
            await engine.dispose()

    asyncio.run(main())
