"""The whole system as separate processes in a sandbox: the four services (each with its
own database, as in production), one dispatch worker per channel, and an SMTP sink (in
this process: the test reads what it received).

The processes are the registry's rows, planned by ``tests.support.system.sandbox_system``
and run by the kit's local backend: everything starts at once (the machine is small: the
processes import and migrate in parallel), all are awaited under one deadline, and they
stop in reverse order; each process logs to its own file under the test's temporary
folder, named in every readiness failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from billing_testkit.local import LocalSystem
from tests.support.isolation import Sandbox
from tests.support.smtp_sink import SmtpSink
from tests.support.system import CHANNELS, SERVICES, credentials_in, sandbox_system

__all__ = ["CHANNELS", "SERVICES", "System", "running_system"]

COMMON: dict[str, Any] = {
    "kafka_channel_partitions": 3,
    "jobs_poll_interval_s": 0.2,
}


def plain(url: str) -> str:
    """An asyncpg DSN from a SQLAlchemy asyncpg URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@dataclass
class System:
    sandbox: Sandbox
    folder: Path
    sink: SmtpSink
    databases: dict[str, str]
    local: LocalSystem
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    @property
    def einvoice_folder(self) -> Path:
        return self.folder / "einvoice"

    @property
    def print_folder(self) -> Path:
        return self.folder / "print"

    def api(self, service: str) -> httpx.AsyncClient:
        """An HTTP client for ``service`` with the token, as the CLI makes it."""
        return self.clients[service]

    async def fetch(self, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Read ``service``'s own database (checks across services, never business logic)."""
        conn = await asyncpg.connect(plain(self.databases[service]))
        try:
            rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
            return rows
        finally:
            await conn.close()

    async def scalar(self, service: str, sql: str, *args: Any) -> Any:
        rows = await self.fetch(service, sql, *args)
        return rows[0][0] if rows else None

    def logs(self) -> str:
        """Every process's log, for a failing test's report."""
        return self.local.logs()


def _settings(per_service: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    settings: dict[str, dict[str, Any]] = {name: {**COMMON} for name in SERVICES}
    settings["invoicing"]["daily_run_enabled"] = False  # the clerk runs the day by hand
    settings["dispatch"].update(
        send_track_interval_s=0.2,
        retry_poll_interval_s=0.5,
        retry_base_s=0.5,
        print_close_interval_s=0.2,
        message_id_domain="billing.test",
        mail_from="laskutus@esimerkkimedia.example",
    )
    for name, extra in per_service.items():
        settings[name].update(extra)
    return settings


@asynccontextmanager
async def running_system(sandbox: Sandbox, folder: Path, **per_service: dict[str, Any]) -> AsyncIterator[System]:
    """The four services, one worker per channel and the SMTP sink, all ready.

    All seven processes start at once: on a small, busy machine most of a start is
    importing, and the migrations (advisory lock) and topic creation (an existing topic
    is fine) are safe to run side by side."""
    urls = await asyncio.gather(*(sandbox.own_database(name) for name in SERVICES))
    databases = dict(zip(SERVICES, urls, strict=True))
    with SmtpSink() as sink:
        local = sandbox_system(
            sandbox,
            [*SERVICES, *(f"dispatch-{channel}" for channel in CHANNELS)],
            folder,
            databases=databases,
            settings=_settings(per_service),
            smtp=(sink.host, sink.port),
        )
        system = System(sandbox, folder, sink, databases, local)
        try:
            local.start()
            await asyncio.to_thread(local.wait_ready, 240)
            for name in SERVICES:
                system.clients[name] = httpx.AsyncClient(
                    base_url=local.url(name),
                    headers={"Authorization": f"Bearer {credentials_in(folder).token('clerk-1')}"},
                    timeout=60.0,
                )
            yield system
        finally:
            for client in system.clients.values():
                await client.aclose()
            await asyncio.to_thread(local.stop)
