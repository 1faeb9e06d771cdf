"""Per-test isolation: a fresh database and a fresh topic/group prefix per test.

A service's own database (:meth:`Sandbox.own_database`, :meth:`Sandbox.migrated`) is a
copy of a template migrated once per session (``CREATE DATABASE x TEMPLATE t``: a file
copy, about a tenth of a second, where migrating is one to two seconds); the service then
finds its schema at head and its start-up migration does nothing. ``empty=True`` gives an
empty database where a test proves the migration itself."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.support import spawn
from tests.support.credentials import SYSTEM, credentials
from tests.support.servers import REPO, Servers

API_TOKEN = credentials().token(SYSTEM)
"""A system credential holding every scope (``*``): a call with it acts as ``tests``.
Narrower ones and a clerk's console call: :mod:`tests.support.credentials`."""


@dataclass
class Sandbox:
    servers: Servers
    database: str
    prefix: str
    extra_databases: list[str] = field(default_factory=list)

    @property
    def db_url(self) -> str:
        """asyncpg URL of this test's database (for SQLAlchemy)."""
        base = self.servers.admin_url.rsplit("/", 1)[0]
        return base.replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{self.database}"

    @property
    def plain_db_url(self) -> str:
        return self.servers.admin_url.rsplit("/", 1)[0] + f"/{self.database}"

    @property
    def bootstrap(self) -> str:
        return self.servers.kafka_bootstrap

    async def own_database(self, service: str, *, empty: bool = False) -> str:
        """A further database (one per service, as in production); its asyncpg URL.
        A service with migrations gets its schema at head (a copy of the session's
        template) unless ``empty``."""
        name = f"{self.database}_{service}"
        template = None if empty else await template_for(self.servers, service)
        await _create_database(self.servers, name, template)
        self.extra_databases.append(name)
        return self.db_url.rsplit("/", 1)[0] + f"/{name}"

    async def migrated(self, service: str) -> Sandbox:
        """This sandbox's own database as ``service``'s schema at head: while it is still
        empty and unused, replaced by a copy of the session's migrated template (what the
        service's start-up migration would make of it, in a tenth of the time); a database
        that already holds anything, or that someone is connected to, is left as it is (the
        service migrates it as before). The sandbox itself."""
        template = await template_for(self.servers, service)
        if template is None:
            raise ValueError(f"{service}: no migrations to copy")
        if await self.scalar(_ANY_RELATION):
            return self
        conn = await asyncpg.connect(self.servers.admin_url)
        try:
            try:
                await conn.execute(f'DROP DATABASE "{self.database}"')  # refused while anyone is connected
            except asyncpg.ObjectInUseError:
                return self
            await conn.execute(f'CREATE DATABASE "{self.database}" TEMPLATE "{template}"')
        finally:
            await conn.close()
        return self

    def topic(self, name: str) -> str:
        return self.prefix + name

    def group(self, name: str) -> str:
        return self.prefix + name

    def settings_kwargs(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "database_url": self.db_url,
            "kafka_bootstrap_servers": self.bootstrap,
            "kafka_topic_prefix": self.prefix,
            "kafka_group_prefix": self.prefix,
            "kafka_partitions": 3,
            **credentials().settings(),  # the callers' credentials and the console's assertion key
            # the production default: a commit wakes its own process's relay at once, so the poll
            # only finds rows of another process (a replica, a killed one); 0.05 s cost every idle
            # relay 20 transactions a second, in the tests and in PostgreSQL, for nothing
            "outbox_poll_interval_s": 0.2,
            "outbox_send_timeout_s": 5.0,
            "retention_purge_enabled": False,  # tests count the jobs they start
        }
        values.update(overrides)
        return values

    def env(self, service: str, **overrides: Any) -> dict[str, str]:
        up = service.upper()
        env = {k: v for k, v in os.environ.items() if not k.startswith(f"{up}_")}
        for key, value in self.settings_kwargs(**overrides).items():
            env[f"{up}_{key.upper()}"] = str(value)
        env["PYTHONPATH"] = str(REPO)
        return env

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.plain_db_url)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    async def scalar(self, sql: str, *args: Any) -> Any:
        rows = await self.fetch(sql, *args)
        return rows[0][0] if rows else None

    async def has(self, sql: str, want: Any) -> bool:
        """Does ``sql`` give ``want`` now? (for ``wait_for``)"""
        return await self.scalar(sql) == want


_ANY_RELATION = """
    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
"""


async def create_sandbox(servers: Servers) -> Sandbox:
    tag = uuid.uuid4().hex[:10]
    name = f"t_{tag}"
    await _create_database(servers, name, None)
    return Sandbox(servers, name, f"t{tag}.")


async def _create_database(servers: Servers, name: str, template: str | None) -> None:
    conn = await asyncpg.connect(servers.admin_url)
    try:
        if template is None:
            await conn.execute(f'CREATE DATABASE "{name}"')
            return
        for attempt in range(50):
            try:
                await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                return
            except asyncpg.ObjectInUseError:  # another copy of it starting at this instant
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)
    finally:
        await conn.close()


# --- the session's migrated templates ----------------------------------------------------

MIGRATIONS = {
    **{name: REPO / "services" / name / "migrations" for name in ("customers", "invoicing", "reminders", "dispatch")},
    "console": REPO / "console" / "migrations",
}
"""What has a schema of its own: its Alembic migrations."""

_templates_lock = threading.Lock()


async def template_for(servers: Servers, service: str) -> str | None:
    """The database ``service``'s migrations made once for these servers (its name), or
    None for a name without migrations. Built on first use (the test sessions that need
    no such database pay nothing), dropped when the servers close."""
    if service not in MIGRATIONS:
        return None
    return await asyncio.to_thread(_template, servers, service)


def _template(servers: Servers, service: str) -> str:
    with _templates_lock:  # one build per service even when tests ask at once
        if name := servers.templates.get(service):
            return name
        name = f"tpl_{uuid.uuid4().hex[:8]}_{service}"
        _in_own_thread(_build_template(servers, service, name))
        if not servers.templates:
            servers._cleanup.append(lambda: _in_own_thread(_drop_templates(servers)))
        servers.templates[service] = name
        return name


def _in_own_thread(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` on a loop of its own (the caller may be inside another loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


async def _build_template(servers: Servers, service: str, name: str) -> None:
    from shared.db.migrations import upgrade

    await _create_database(servers, name, None)
    base = servers.admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    await upgrade(MIGRATIONS[service], f"{base}/{name}")
    conn = await asyncpg.connect(servers.admin_url)
    try:  # a template: copied, never connected to again; a copy refuses while anyone is
        await conn.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
    finally:
        await conn.close()


async def _drop_templates(servers: Servers) -> None:
    try:
        conn = await asyncpg.connect(servers.admin_url)
    except (OSError, asyncpg.PostgresError):
        return  # the servers are gone with their templates
    try:
        for name in servers.templates.values():
            await conn.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE false')
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
    servers.templates.clear()


async def drop_sandbox(sandbox: Sandbox) -> None:
    await delete_sandbox_topics(sandbox)
    for _ in range(3):
        try:
            conn = await asyncpg.connect(sandbox.servers.admin_url)
            try:
                for name in [sandbox.database, *sandbox.extra_databases]:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()
            return
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(1)


async def delete_sandbox_topics(sandbox: Sandbox) -> None:
    """Delete the sandbox's topics (its prefix): a broker that kept every test's topics
    would hold one file handle per partition segment for ever and, after a few thousand
    tests, die of "Too many open files". Best effort: a broker that is down (an outage
    test) keeps them."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=sandbox.bootstrap, request_timeout_ms=10_000)
    try:
        await asyncio.wait_for(admin.start(), 10)
        mine = [t for t in await admin.list_topics() if t.startswith(sandbox.prefix)]
        if mine:
            await admin.delete_topics(mine)
    except Exception:  # cleanup must not fail the test that used the sandbox
        pass
    finally:
        await admin.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    """A service as a real OS process (``python -m services.<name>``)."""

    def __init__(self, sandbox: Sandbox, service: str, log_dir: Path, **overrides: Any) -> None:
        self.port = free_port()
        self.service = service
        if "today" in overrides:  # the fixed clock is a test hook: refused unless turned on
            overrides.setdefault("test_hooks", True)
        self.env = sandbox.env(service, http_port=self.port, **overrides)
        self.log_path = log_dir / f"{service}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | spawn.Forked | None = None

    def start(self, extra_env: dict[str, str] | None = None) -> ServiceProcess:
        env = {**self.env, **(extra_env or {})}
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = spawn.start([sys.executable, "-m", f"services.{self.service}"], env=env, cwd=REPO, log=self._log)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise AssertionError(f"{self.service} exited with {self.proc.returncode}; see {self.log_path}")
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"{self.service} not ready in {timeout}s; see {self.log_path}")

    async def wait_exit(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (code := self.proc.poll()) is not None:
                return code
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.service} still running after {timeout}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "_log"):
            self._log.close()
