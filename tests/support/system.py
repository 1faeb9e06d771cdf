"""The whole system as real OS processes in one ``Sandbox``: the four services, N channel
workers per channel and the SMTP sink, each with its own log file, so a benchmark or a
chaos run can drive it through its APIs and SIGKILL any part of it.

    system = System(sandbox, out_dir, workers={"email": 2, "einvoice": 1, "print": 1},
                    overrides={"reminders": {"today": "2027-03-01"}})
    await system.start()                 # everything at once, then wait until each is ready
    system.url("invoicing"); system.headers   # the API and clerk-1's own token
    pid = system.kill("email-1")         # SIGKILL, no grace
    await system.restart("email-1")      # the same port, env and log file (appended)
    await system.stop_all()              # SIGTERM (graceful) everywhere, then the sink

The processes are the registry's rows (``billing_testkit.processes``) run by its local
backend (``billing_testkit.local``); :func:`sandbox_system` plans them in a sandbox for
every test stack (this one, the end-to-end test's, the browser tests'). Each service
owns its own database (as in production, §2 of the architecture); the dispatch service
and its workers share dispatch's (one outbox, one relay leader among them). Outputs:
``out_dir/mail`` (.eml from the sink, when ``keep_mail``), ``out_dir/einvoice``,
``out_dir/print``, ``out_dir/sink.json`` (the sink's counts), ``out_dir/logs/<process>.log``,
``out_dir/auth`` (the callers' credentials, :data:`TEST_PLAN`: the kit's plus the test
stacks' own callers; every caller its own token).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from billing_testkit.credentials import CLERK_SCOPES, PLAN, Caller, Issued, ensure
from billing_testkit.local import Instance, LocalSystem, NotReady, free_ports, plan
from billing_testkit.processes import CHANNELS, SERVICES
from tests.support import spawn
from tests.support.isolation import Sandbox
from tests.support.servers import REPO

__all__ = ["CHANNELS", "SERVICES", "TEST_PLAN", "Kill", "System", "credentials_in", "sandbox_system"]

_OPERATOR = (*(f"{s}:*" for s in SERVICES), "metrics")
TEST_PLAN: tuple[Caller, ...] = (
    *PLAN,
    Caller("clerk-1", "person", CLERK_SCOPES, "the end-to-end test's, the bench's and the chaos run's clerk"),
    Caller("seed", "system", _OPERATOR, "a test's setup data (not the clerk)"),
)
"""The kit's callers and the test stacks' own: each its own credential."""


OWN_CREDENTIALS = ("credentials_file", "actor_assertion_public_keys_file")
"""The sandbox's in-process credentials (tests.support.credentials) are not the system's:
a system of processes has its own (:func:`credentials_in`)."""


def credentials_in(out: Path) -> Issued:
    """The callers' credentials of a test system writing to ``out`` (``out/auth``): made
    on first use, then the same ones (workers started later join the same system)."""
    return ensure(out / "auth", TEST_PLAN)


def sandbox_system(
    sandbox: Sandbox,
    names: Iterable[str],
    out: Path,
    *,
    databases: Mapping[str, str],
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    **kwargs: Any,
) -> LocalSystem:
    """Registry rows ``names`` planned in ``sandbox`` (not started): its Kafka, its topic
    and group prefix, each service on its database in ``databases``, free ports, quick
    outbox polls; ``settings`` per row on top (a worker takes ``dispatch``'s); the rest
    of :func:`billing_testkit.local.plan`'s arguments as they are; the credentials are
    :func:`credentials_in` ``out`` unless ``credentials=`` gives others."""
    common = {
        k: v
        for k, v in sandbox.settings_kwargs().items()
        if k not in ("database_url", "kafka_bootstrap_servers", *OWN_CREDENTIALS)
    }
    given = settings or {}
    per_row = {name: {**common, **given.get(name, {})} for name in SERVICES}
    per_row |= {name: dict(values) for name, values in given.items() if name not in SERVICES}
    for values in per_row.values():
        if "today" in values:  # the fixed clock is a test hook: refused unless turned on
            values.setdefault("test_hooks", True)
    local = plan(
        names,
        kafka_bootstrap=sandbox.bootstrap,
        database_urls=databases,
        credentials=kwargs.pop("credentials", None) or credentials_in(out),
        out=out,
        ports=free_ports(),
        settings=per_row,
        extra_env={"PYTHONPATH": str(REPO)},
        cwd=REPO,
        **kwargs,
    )
    for instance in local.instances.values():
        forked(instance)
    return local


def forked(instance: Instance) -> None:
    """``instance`` started by :func:`tests.support.spawn.start` (the fork server) rather
    than the kit's ``subprocess.Popen``: the same command, env, cwd and log file."""

    def start(detached: bool = False) -> int:
        instance.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(instance.log_path, "ab") as log:
            cwd = instance.cwd or Path.cwd()
            popen = spawn.start(instance.argv, env=instance.env, cwd=cwd, log=log, detached=detached)
        instance.popen = popen  # type: ignore[assignment]  # the Popen methods the kit uses
        instance.pid = popen.pid
        return popen.pid

    instance.spawn = start  # type: ignore[method-assign]


class Handle:
    """One process of :class:`System` by its name there (``email-1``)."""

    def __init__(self, local: LocalSystem, name: str) -> None:
        self.local = local
        self.name = name

    async def wait_ready(self, timeout: float = 60.0) -> None:
        try:
            await asyncio.to_thread(self.local.wait_ready, timeout, [self.name])
        except NotReady as exc:
            raise AssertionError(str(exc)) from None

    @property
    def url(self) -> str:
        return self.local.url(self.name)

    @property
    def log_path(self) -> Path:
        return self.local.instances[self.name].log_path


class SinkHandle(Handle):
    """The SMTP sink: what it received is in its folder and its stats file."""

    def __init__(self, local: LocalSystem, stats: Path) -> None:
        super().__init__(local, "mailcatcher")
        self.stats = stats

    @property
    def port(self) -> int:
        return self.local.instances[self.name].port

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
        self.processes: dict[str, Handle] = {}
        self.local: LocalSystem | None = None
        self.started_at = 0.0

    # --- the parts --------------------------------------------------------------------

    def _settings(self) -> dict[str, dict[str, Any]]:
        common: dict[str, Any] = {
            "kafka_partitions": self.partitions,
            "outbox_poll_interval_s": 0.1,
            "outbox_send_timeout_s": 15.0,
            "jobs_poll_interval_s": 0.2,
        }
        settings = {service: {**common, **self.overrides.get(service, {})} for service in SERVICES}
        settings["invoicing"] = {"daily_run_enabled": False, **settings["invoicing"]}
        settings["dispatch"] = {
            **common,
            "message_id_domain": "billing.bench",
            "mail_from": "laskutus@esimerkkimedia.example",
            **self.overrides.get("dispatch", {}),
        }
        return settings

    def _backend_names(self) -> dict[str, str]:
        """Our names -> the registry's (``email-1`` -> ``dispatch-email``, or
        ``dispatch-email-1`` when the channel has several workers)."""
        names = {"smtp": "mailcatcher", **{s: s for s in SERVICES}}
        for channel in CHANNELS:
            n = self.workers[channel]
            for i in range(1, n + 1):
                names[f"{channel}-{i}"] = f"dispatch-{channel}" if n == 1 else f"dispatch-{channel}-{i}"
        return names

    @property
    def sink(self) -> SinkHandle:
        sink = self.processes["smtp"]
        assert isinstance(sink, SinkHandle)
        return sink

    async def start(self, timeout: float = 300.0) -> None:
        """Create the databases, start every process at once, wait until each is ready
        (migrations and topics are each service's own start-up work)."""
        for service in SERVICES:
            self.databases[service] = await self.sandbox.own_database(service)
        names = self._backend_names()
        stats = self.out_dir / "sink.json"
        local = sandbox_system(
            self.sandbox,
            ["mailcatcher", *SERVICES, *(f"dispatch-{c}" for c in CHANNELS)],
            self.out_dir,
            databases=self.databases,
            settings=self._settings(),
            replicas={f"dispatch-{c}": n for c, n in self.workers.items()},
            keep_mail=self.keep_mail,
            options={"mailcatcher": {"--stats": str(stats)}},
        )
        self.local = local
        self.processes = {ours: Handle(local, theirs) for ours, theirs in names.items() if ours != "smtp"}
        self.processes["smtp"] = SinkHandle(local, stats)
        self.started_at = time.monotonic()
        local.start()
        try:
            await asyncio.to_thread(local.wait_ready, timeout)
        except NotReady as exc:
            raise AssertionError(str(exc)) from None

    def _local(self) -> LocalSystem:
        assert self.local is not None, "start() first"
        return self.local

    # --- what a client needs ------------------------------------------------------------

    def url(self, name: str) -> str:
        return self.processes[name].url

    @property
    def credentials(self) -> Issued:
        return credentials_in(self.out_dir)

    @property
    def headers(self) -> dict[str, str]:
        """clerk-1's own credential: the audit trails name clerk-1."""
        return {"Authorization": f"Bearer {self.credentials.token('clerk-1')}"}

    @property
    def scraper(self) -> dict[str, str]:
        """Prometheus's credential (the ``metrics`` scope): ``/metrics`` needs it."""
        return {"Authorization": f"Bearer {self.credentials.token('prometheus')}"}

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
        return self._local().pid(self.processes[name].name)

    def kill(self, name: str) -> int:
        """SIGKILL the process (no grace, no clean-up); its pid."""
        return self._local().kill(self.processes[name].name)

    async def restart(self, name: str, wait: bool = True, timeout: float = 120.0) -> int:
        """Start the process again (same port, settings and log, appended); its new pid."""
        pid = self._local().restart(self.processes[name].name, wait=False)
        if wait:
            await self.processes[name].wait_ready(timeout)
        return pid

    def running(self, name: str) -> bool:
        return self._local().running(self.processes[name].name)

    async def stop_all(self) -> None:
        """SIGTERM every process (graceful), the sink last: its counts are final."""
        if self.local is None:
            return
        others = [h.name for n, h in self.processes.items() if n != "smtp"]
        await asyncio.to_thread(self.local.stop, 20.0, others)
        await asyncio.to_thread(self.local.stop, 20.0, ["mailcatcher"])
