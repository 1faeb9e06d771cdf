"""The whole system as real OS processes in one ``Sandbox``: the four services, N channel
workers per channel and the SMTP sink, each with its own log file, so a benchmark or a
chaos run can drive it through its APIs and SIGKILL any part of it.

    system = System(sandbox, out_dir, workers={"email": 2, "einvoice": 1, "print": 1},
                    overrides={"reminders": {"today": "2027-03-01"}})
    await system.start()                 # everything at once, then wait until each is ready
    system.url("invoicing"); system.headers   # the API and its token (X-Actor: clerk-1)
    pid = system.kill("email-1")         # SIGKILL, no grace
    await system.restart("email-1")      # the same port, env and log file (appended)
    await system.stop_all()              # SIGTERM (graceful) everywhere, then the sink

Each service owns its own database (as in production, §2 of the architecture); the
dispatch service and its workers share dispatch's (one outbox, one relay leader among
them). Outputs: ``out_dir/mail`` (.eml from the sink, when ``keep_mail``),
``out_dir/einvoice``, ``out_dir/print``, ``out_dir/sink.json`` (the sink's counts),
``out_dir/logs/<name>.log``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from tests.support.dispatch import WorkerProcess
from tests.support.isolation import API_TOKEN, Sandbox, ServiceProcess, free_port
from tests.support.servers import REPO

SERVICES = ("customers", "invoicing", "reminders", "dispatch")
CHANNELS = ("email", "einvoice", "print")


class SinkProcess(ServiceProcess):
    """The SMTP sink (``python -m tests.support.smtp_sink``) as a process that can be
    killed and restarted on the same port; what it received is in its folder/stats."""

    def __init__(self, out_dir: Path, log_dir: Path, keep_mail: bool) -> None:
        # not ServiceProcess.__init__: the sink has no service settings; stop() is inherited
        self.service = "smtp"
        self.env: dict[str, str] = {}
        self.port = free_port()
        self.folder = out_dir / "mail" if keep_mail else None
        self.stats = out_dir / "sink.json"
        self.log_path = log_dir / "smtp.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, extra_env: dict[str, str] | None = None) -> SinkProcess:
        args = [sys.executable, "-m", "tests.support.smtp_sink", "--port", str(self.port), "--stats", str(self.stats)]
        if self.folder is not None:
            args += ["--folder", str(self.folder)]
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(args, cwd=REPO, stdout=self._log, stderr=self._log)
        return self

    async def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"smtp sink exited with {self.proc.returncode}; see {self.log_path}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                await writer.wait_closed()
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise AssertionError(f"smtp sink not listening in {timeout}s; see {self.log_path}")

    def counts(self) -> dict[str, Any]:
        """The sink's last written counts (``received``, ``distinct_message_ids`` ...)."""
        try:
            return dict(json.loads(self.stats.read_text()))
        except (OSError, ValueError):
            return {"received": 0, "distinct_message_ids": 0}


@dataclass(frozen=True)
class Kill:
    """One SIGKILL of the chaos run (``at``: seconds since the system started)."""

    at: float
    name: str
    pid: int
    restarted_at: float | None = None


class System:
    """The processes by name: ``customers``, ``invoicing``, ``reminders``, ``dispatch``,
    ``email-1`` .. ``email-N``, ``einvoice-1`` .., ``print-1`` .., and ``smtp``."""

    def __init__(
        self,
        sandbox: Sandbox,
        out_dir: Path,
        workers: dict[str, int] | None = None,
        overrides: dict[str, dict[str, Any]] | None = None,
        partitions: int = 6,
        keep_mail: bool = False,
    ) -> None:
        self.sandbox = sandbox
        self.out_dir = out_dir
        self.log_dir = out_dir / "logs"
        self.workers = {"email": 1, "einvoice": 1, "print": 1, **(workers or {})}
        self.overrides = overrides or {}
        self.partitions = partitions
        self.keep_mail = keep_mail
        self.databases: dict[str, str] = {}
        self.processes: dict[str, ServiceProcess] = {}
        self.started_at = 0.0

    # --- the parts --------------------------------------------------------------------

    def dispatch_settings(self) -> dict[str, Any]:
        """What the dispatch service and its workers share (one ``DISPATCH_`` set)."""
        return {
            "smtp_port": self.sink.port,
            "einvoice_folder": str(self.out_dir / "einvoice"),
            "print_folder": str(self.out_dir / "print"),
            "message_id_domain": "billing.bench",
            "mail_from": "laskutus@esimerkkimedia.example",
            **self.overrides.get("dispatch", {}),
        }

    def _settings(self, service: str) -> dict[str, Any]:
        common: dict[str, Any] = {
            "database_url": self.databases[service],
            "kafka_partitions": self.partitions,
            "outbox_poll_interval_s": 0.1,
            "outbox_send_timeout_s": 15.0,
            "jobs_poll_interval_s": 0.2,
        }
        if service == "invoicing":
            common["daily_run_enabled"] = False
        if service == "dispatch":
            return {**common, **self.dispatch_settings()}
        return {**common, **self.overrides.get(service, {})}

    @property
    def sink(self) -> SinkProcess:
        sink = self.processes["smtp"]
        assert isinstance(sink, SinkProcess)
        return sink

    async def start(self, timeout: float = 300.0) -> None:
        """Create the databases, start every process at once, wait until each is ready
        (migrations and topics are each service's own start-up work)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for service in SERVICES:
            self.databases[service] = await self.sandbox.own_database(service)
        self.processes["smtp"] = SinkProcess(self.out_dir, self.log_dir, self.keep_mail).start()
        await self.sink.wait_ready()
        for service in SERVICES:
            proc = ServiceProcess(self.sandbox, service, self.log_dir, **self._settings(service))
            proc.log_path = self.log_dir / f"{service}.log"
            self.processes[service] = proc
        for channel in CHANNELS:
            for i in range(1, self.workers[channel] + 1):
                worker = WorkerProcess(self.sandbox, channel, self.log_dir, **self._settings("dispatch"))
                worker.log_path = self.log_dir / f"{channel}-{i}.log"
                self.processes[f"{channel}-{i}"] = worker
        self.started_at = time.monotonic()
        for name, proc in self.processes.items():
            if name != "smtp":
                proc.start()
        await asyncio.gather(*(p.wait_ready(timeout=timeout) for p in self.processes.values()))

    # --- what a client needs ------------------------------------------------------------

    def url(self, name: str) -> str:
        proc = self.processes[name]
        assert isinstance(proc, ServiceProcess)
        return proc.url

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {API_TOKEN}", "X-Actor": "clerk-1"}

    def dsn(self, service: str) -> str:
        """Plain asyncpg URL of ``service``'s database (dispatch: also its workers')."""
        return self.databases[service].replace("postgresql+asyncpg://", "postgresql://", 1)

    async def fetch(self, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Rows from ``service``'s database, riding out a short outage of the shared server."""
        for attempt in range(60):
            try:
                conn = await asyncpg.connect(self.dsn(service))
                try:
                    rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
                    return rows
                finally:
                    await conn.close()
            except (OSError, asyncpg.CannotConnectNowError):
                if attempt == 59:
                    raise
                await asyncio.sleep(1)
        raise AssertionError("unreachable")

    async def scalar(self, service: str, sql: str, *args: Any) -> Any:
        rows = await self.fetch(service, sql, *args)
        return rows[0][0] if rows else None

    def names(self, kind: str | None = None) -> list[str]:
        """Process names; ``kind`` "services", "workers" or None (all but the sink)."""
        names = [n for n in self.processes if n != "smtp"]
        if kind == "services":
            return [n for n in names if n in SERVICES]
        if kind == "workers":
            return [n for n in names if n not in SERVICES]
        return names

    # --- chaos ------------------------------------------------------------------------

    def pid(self, name: str) -> int:
        proc = self.processes[name].proc
        assert proc is not None
        return proc.pid

    def kill(self, name: str) -> int:
        """SIGKILL the process (no grace, no clean-up); its pid."""
        proc = self.processes[name].proc
        assert proc is not None
        pid = proc.pid
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        return pid

    async def restart(self, name: str, wait: bool = True, timeout: float = 120.0) -> int:
        """Start the process again (same port, settings and log, appended); its new pid."""
        proc = self.processes[name]
        if proc.proc is not None and proc.proc.poll() is None:
            raise RuntimeError(f"{name} is still running")
        if hasattr(proc, "_log"):
            proc._log.close()
        proc.start()
        if wait:
            await proc.wait_ready(timeout=timeout)
        return self.pid(name)

    def running(self, name: str) -> bool:
        proc = self.processes[name].proc
        return proc is not None and proc.poll() is None

    async def stop_all(self) -> None:
        """SIGTERM every process (graceful), the sink last: its counts are final."""
        others = [p for n, p in self.processes.items() if n != "smtp"]
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in others))
        if "smtp" in self.processes:
            await asyncio.to_thread(self.sink.stop)
