"""The whole system as separate processes in a sandbox: the four services (each with its
own database, as in production), one dispatch worker per channel, and an SMTP sink.

Everything starts at once (the machine is small: the processes import and migrate in
parallel) and stops in reverse order; each process logs to its own file under the
test's temporary folder, named in every readiness failure.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.support.dispatch import WorkerProcess
from tests.support.isolation import API_TOKEN, Sandbox, ServiceProcess
from tests.support.smtp_sink import SmtpSink

SERVICES = ("customers", "invoicing", "reminders", "dispatch")
CHANNELS = ("email", "einvoice", "print")

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
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    workers: dict[str, WorkerProcess] = field(default_factory=dict)
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
        out = []
        for p in [*self.services.values(), *self.workers.values()]:
            with suppress(OSError):
                out.append(f"--- {p.log_path.name}\n{p.log_path.read_text(errors='replace')[-4000:]}")
        return "\n".join(out)


def _service_overrides(system: System, service: str, extra: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {**COMMON, "database_url": system.databases[service]}
    if service == "invoicing":
        values["daily_run_enabled"] = False  # the clerk runs the day by hand
    if service == "dispatch":
        values.update(
            einvoice_folder=str(system.einvoice_folder),
            print_folder=str(system.print_folder),
            smtp_host=system.sink.host,
            smtp_port=system.sink.port,
            send_track_interval_s=0.2,
            retry_poll_interval_s=0.5,
            retry_base_s=0.5,
            print_close_interval_s=0.2,
            message_id_domain="billing.test",
            mail_from="laskutus@esimerkkimedia.example",
        )
    values.update(extra)
    return values


async def wait_ready(process: ServiceProcess, timeout: float) -> None:
    """Like ``ServiceProcess.wait_ready``, with a patient client (a loaded machine can
    take seconds to answer) and the last answer of /readyz in the failure."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    async with httpx.AsyncClient(timeout=15.0) as client:
        while time.monotonic() < deadline:
            assert process.proc is not None
            if process.proc.poll() is not None:
                raise AssertionError(f"{process.log_path.name}: exited with {process.proc.returncode}")
            try:
                response = await client.get(f"{process.url}/readyz")
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:300]}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            await asyncio.sleep(0.3)
    raise AssertionError(f"{process.log_path} not ready in {timeout}s; last /readyz: {last}")


def _spawn(system: System, service: str, extra: dict[str, Any]) -> ServiceProcess:
    process = ServiceProcess(
        system.sandbox, service, system.folder / "logs", **_service_overrides(system, service, extra)
    ).start()
    system.services[service] = process
    system.clients[service] = httpx.AsyncClient(
        base_url=process.url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=60.0
    )
    return process


@asynccontextmanager
async def running_system(sandbox: Sandbox, folder: Path, **per_service: dict[str, Any]) -> AsyncIterator[System]:
    """The four services, one worker per channel and the SMTP sink, all ready.

    All seven processes start at once: on a small, busy machine most of a start is
    importing, and the migrations (advisory lock) and topic creation (an existing topic
    is fine) are safe to run side by side."""
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    urls = await asyncio.gather(*(sandbox.own_database(name) for name in SERVICES))
    databases = dict(zip(SERVICES, urls, strict=True))
    with SmtpSink() as sink:
        system = System(sandbox, folder, sink, databases)
        try:
            for name in SERVICES:
                _spawn(system, name, per_service.get(name, {}))
            overrides = _service_overrides(system, "dispatch", per_service.get("dispatch", {}))
            for channel in CHANNELS:
                system.workers[channel] = WorkerProcess(sandbox, channel, folder / "logs", **overrides).start()
            processes = [*system.services.values(), *system.workers.values()]
            await asyncio.gather(*(wait_ready(p, timeout=240) for p in processes))
            yield system
        finally:
            for client in system.clients.values():
                await client.aclose()
            processes = [*system.workers.values(), *reversed(system.services.values())]
            for process in processes:  # all told at once, then each awaited (and killed if stuck)
                if process.proc is not None and process.proc.poll() is None:
                    process.proc.send_signal(signal.SIGTERM)
            for process in processes:
                process.stop()
