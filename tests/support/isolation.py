"""Per-test isolation: a fresh database and a fresh topic/group prefix per test."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

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

    async def own_database(self, service: str) -> str:
        """A further database (one per service, as in production); its asyncpg URL."""
        name = f"{self.database}_{service}"
        conn = await asyncpg.connect(self.servers.admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.extra_databases.append(name)
        return self.db_url.rsplit("/", 1)[0] + f"/{name}"

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
            "outbox_poll_interval_s": 0.05,
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


async def create_sandbox(servers: Servers) -> Sandbox:
    tag = uuid.uuid4().hex[:10]
    name = f"t_{tag}"
    conn = await asyncpg.connect(servers.admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return Sandbox(servers, name, f"t{tag}.")


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
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, extra_env: dict[str, str] | None = None) -> ServiceProcess:
        env = {**self.env, **(extra_env or {})}
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.service}"], env=env, cwd=REPO, stdout=self._log, stderr=self._log
        )
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
