"""The container backend: the whole system from its images, on testcontainers.

One private network; from :mod:`billing_testkit.infrastructure` Kafka (KRaft, two
listeners: ``kafka:9092`` inside the network, and a host listener on a fixed free port
advertised as ``127.0.0.1:<port>``) and PostgreSQL (on a fixed free port too) with
one role and database per service and one for the console, the SMTP sink writing each
mail into a host folder, then every process of :mod:`billing_testkit.processes` from the
project image, with the settings :func:`~billing_testkit.processes.environment` makes for
container endpoints, each with only the credentials files it needs
(:func:`~billing_testkit.container_config.auth_mounts`). Services migrate their databases
at start (an advisory lock makes parallel starts safe); the console runs as in a real
deployment (``CONSOLE_MODE=production``: sessions in its database, migrated first by a
one-shot ``billing migrate console`` container while the services start).

Every container and the network carry the labels :data:`LABEL` and :data:`SESSION_LABEL`
(plus testcontainers' own); :meth:`ContainerSystem.close` removes them all, also after a
failed start. Image names come from :class:`Images` (constructor arguments, else the
``BILLING_TESTKIT_*_IMAGE`` environment variables, else the local build's names), so a
user with a registry can run ``apache/kafka:4.1.1`` and ``postgres:15``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from billing_testkit import infrastructure as infra
from billing_testkit.container_config import (
    Images,
    auth_mounts,
    container_endpoints,
    database_sql,
    kafka_environment,
    tuning,
)
from billing_testkit.credentials import issue
from billing_testkit.infrastructure import StartFailed
from billing_testkit.processes import MAIL_PORT, PROCESSES, Process, environment, with_test_hooks

__all__ = [
    "ContainerSystem",
    "Images",
    "StartFailed",
    "container_endpoints",
    "database_sql",
    "kafka_environment",
    "remove_leftovers",
    "tuning",
]

LABEL = "fi.billing.testkit"
SESSION_LABEL = "fi.billing.testkit.session"
APP_UID = 10001
"""The project image's user: the drop folders are made writable for it."""


def _writable_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)  # the image's uid writes here
    with contextlib.suppress(OSError):
        os.chown(path, APP_UID, APP_UID)
    return path


class ContainerSystem:
    """Start with :meth:`start`, stop with :meth:`close` (idempotent)."""

    def __init__(
        self,
        images: Images | None = None,
        *,
        processes: Sequence[str] | None = None,
        settings: Mapping[str, str] | None = None,
        auto_send: Iterable[str] = ("email", "einvoice", "print"),
        folder: Path | None = None,
        start_timeout_s: float = 300.0,
    ) -> None:
        self.images = images or Images()
        names = list(processes) if processes is not None else [p.name for p in PROCESSES]
        unknown = set(names) - {p.name for p in PROCESSES}
        if unknown:
            raise ValueError(f"unknown processes {sorted(unknown)}; known: {[p.name for p in PROCESSES]}")
        self.processes = [p for p in PROCESSES if p.name in names]
        self.settings = dict(settings or {})
        self.auto_send = tuple(auto_send)
        self.start_timeout_s = start_timeout_s
        self.session = uuid.uuid4().hex[:12]
        self._db_password = secrets.token_hex(12)
        self.console_user = ("clerk", secrets.token_urlsafe(12))
        """The console's one user (name, password): sign in at ``url("console")``."""
        self._console_hash_value = ""
        self._own_folder = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="billing-testkit-"))
        self.mail_folder = _writable_dir(self.folder / "mail")
        self.einvoice_folder = _writable_dir(self.folder / "data" / "einvoice")
        self.print_folder = _writable_dir(self.folder / "data" / "print")
        _writable_dir(self.folder / "data")
        self.credentials = issue(self.folder / "auth", mode=0o644)  # read by the image's user; the folder is ours
        """Every caller's credential (:data:`billing_testkit.credentials.PLAN`)."""
        self.kafka_port = 0
        self.host = "127.0.0.1"
        self._network: Network | None = None
        self._containers: dict[str, DockerContainer] = {}
        self._urls: dict[str, str] = {}

    # --- what a client needs -------------------------------------------------------
    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def token(self, caller: str) -> str:
        """The token of a caller in :data:`billing_testkit.credentials.PLAN` (``crm``,
        ``order-system``, ``testkit-clerk``, ``ops`` …)."""
        return self.credentials.token(caller)

    def url(self, name: str) -> str:
        """The host URL of a process's HTTP port (``customers``, ``console`` …)."""
        try:
            return self._urls[name]
        except KeyError:
            raise KeyError(f"{name!r} is not running; running: {sorted(self._urls)}") from None

    def logs(self, name: str, tail: int = 4000) -> str:
        c = self._containers.get(name)
        return "" if c is None else infra.container_logs(c, tail)

    # --- life cycle --------------------------------------------------------------------
    def _labels(self) -> dict[str, str]:
        return {LABEL: "true", SESSION_LABEL: self.session}

    def _name(self, name: str) -> str:
        return f"billing-testkit-{self.session}-{name}"

    def _container(self, name: str, image: str, *, alias: str | None = None) -> DockerContainer:
        assert self._network is not None
        c = DockerContainer(image, labels=self._labels())
        c.with_network(self._network).with_network_aliases(alias or name)
        c.with_name(self._name(name))
        self._containers[name] = c
        return c

    def start(self) -> ContainerSystem:
        atexit.register(self.close)  # a backstop: a test run that ends without closing
        try:
            self._check_images()
            self._network = Network(docker_network_kw={"labels": self._labels()}).create()
            self._start_infrastructure()
            self._start_processes()
        except BaseException:
            self.close()
            raise
        return self

    def _check_images(self) -> None:
        import docker

        try:
            client = docker.from_env()
        except docker.errors.DockerException as exc:
            where = os.environ.get("DOCKER_HOST") or "the default socket"
            raise StartFailed(
                f"no container engine answers at {where} ({exc}); start Docker or podman's API service "
                "(here: `make images` starts it and `deploy/containers/engine.sh env` prints the settings)"
            ) from None
        try:
            missing = []
            for image in dict.fromkeys(self.images.all()):
                try:
                    client.images.get(image)
                except docker.errors.ImageNotFound:
                    try:
                        client.images.pull(image)
                    except docker.errors.APIError:
                        missing.append(image)
            if missing:
                raise StartFailed(
                    f"images not found and not pullable: {', '.join(missing)} "
                    "(build them with `make images` in the billing repository, or name others: "
                    "Images(...) / BILLING_TESTKIT_*_IMAGE)"
                )
        finally:
            client.close()

    def _start_infrastructure(self) -> None:
        if any(p.role == "mail" for p in self.processes):
            mail = self._container("mailcatcher", self.images.mail)
            mail.with_volume_mapping(str(self.mail_folder), "/mail", mode="rw").with_exposed_ports(MAIL_PORT)
            mail.start()
        labels, net = self._labels(), self._network
        _, kafka = infra.start_servers(
            [
                self._kept(
                    "postgres",
                    infra.postgres(
                        self.images.postgres,
                        name=self._name("postgres"),
                        labels=labels,
                        password=self._db_password,
                        network=net,
                        alias="postgres",
                    ),
                ),
                self._kept(
                    "kafka",
                    infra.kafka(
                        self.images.kafka,
                        name=self._name("kafka"),
                        labels=labels,
                        env=kafka_environment,
                        network=net,
                        alias="kafka",
                    ),
                ),
            ],
            self.start_timeout_s,
        )
        self.kafka_port = kafka.port
        self._exec_sql(database_sql(self._db_password))

    def _kept(self, name: str, make: Callable[[int], infra.Server]) -> Callable[[int], infra.Server]:
        """``make``, its container kept for :meth:`logs` and :meth:`close` (even when a start is interrupted)."""

        def kept(port: int) -> infra.Server:
            server = make(port)
            self._containers[name] = server.container
            return server

        return kept

    def _running(self, name: str) -> None:
        c = self._containers[name]
        c.reload()
        if c.status in ("exited", "dead", "stopped"):
            raise StartFailed(f"{name} exited while starting; its log ends:\n{self.logs(name)}")

    def _exec_sql(self, statements: Sequence[str]) -> None:
        pg = self._containers["postgres"].get_wrapped_container()
        argv = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
        for sql in statements:
            argv += ["-c", sql]
        code, out = pg.exec_run(argv, environment={"PGPASSWORD": self._db_password})
        if code != 0:
            raise StartFailed(f"creating the databases failed: {out.decode(errors='replace')[-2000:]}")

    def process_environment(self, proc: Process) -> dict[str, str]:
        env = environment(proc, container_endpoints(self._db_password), proc.container_port)
        env |= tuning(proc, auto_send=self.auto_send)
        if proc.role == "console":
            env["CONSOLE_MODE"] = "production"  # as deployed: sessions in its database, its token and key required
            env["CONSOLE_USERS"] = json.dumps([f"{self.console_user[0]}:{self._console_hash()}"])
        env |= {k: v for k, v in self.settings.items() if proc.env_prefix and k.startswith(proc.env_prefix)}
        return with_test_hooks(env)

    def _console_hash(self) -> str:
        from argon2 import PasswordHasher

        if not self._console_hash_value:
            self._console_hash_value = PasswordHasher().hash(self.console_user[1])
        return self._console_hash_value

    def mounts(self, proc: Process) -> dict[str, tuple[str, str]]:
        """Host path -> (path in ``proc``'s container, mode): the credentials files it needs
        (read-only), and the drop folders for dispatch and its workers."""
        out = {host: (inside, "ro") for host, inside in auth_mounts(proc, self.credentials).items()}
        if proc.name.startswith("dispatch"):
            out[str(self.folder / "data")] = ("/data", "rw")
        return out

    def _migrate_console(self) -> None:
        """``billing migrate console`` in a one-shot container (the console in production
        mode checks its schema and never migrates at start), as compose's ``migrate`` does."""
        url = self.process_environment(next(p for p in self.processes if p.role == "console"))["CONSOLE_DATABASE_URL"]
        c = self._container("console-migrate", self.images.billing)
        c.with_command(["billing", "migrate", "console"]).with_env("CONSOLE_DATABASE_URL", url)
        c.start()
        done = c.get_wrapped_container().wait(timeout=self.start_timeout_s)
        if done.get("StatusCode") != 0:
            raise StartFailed(f"migrating the console's database failed; its log ends:\n{self.logs('console-migrate')}")

    def _start_processes(self) -> None:
        started: list[Process] = []
        for proc in self.processes:
            if proc.role == "mail":
                continue
            c = self._container(proc.name, self.images.billing)
            c.with_command(list(proc.command)).with_envs(**self.process_environment(proc))
            c.with_exposed_ports(proc.container_port)
            for host, (inside, mode) in self.mounts(proc).items():
                c.with_volume_mapping(host, inside, mode=mode)
            started.append(proc)
        consoles = [p for p in started if p.role == "console"]
        with ThreadPoolExecutor(max_workers=4) as pool:  # a create + start is ~1 s of the engine's time
            migrating = pool.submit(self._migrate_console) if consoles else None
            list(pool.map(lambda p: self._containers[p.name].start(), [p for p in started if p.role != "console"]))
            if migrating is not None:
                migrating.result()  # the console's schema first: production checks it at start
            list(pool.map(lambda p: self._containers[p.name].start(), consoles))
        deadline = time.monotonic() + self.start_timeout_s
        for proc in started:
            c = self._containers[proc.name]
            host = c.get_container_host_ip()
            self.host = "127.0.0.1" if host == "localhost" else host
            self._urls[proc.name] = f"http://{self.host}:{c.get_exposed_port(proc.container_port)}"
        pending = {p.name: p for p in started}
        last: dict[str, str] = dict.fromkeys(pending, "no answer")
        while pending:
            for name, proc in list(pending.items()):
                self._running(name)
                try:
                    with urllib.request.urlopen(self._urls[name] + proc.readiness, timeout=5) as r:  # noqa: S310
                        if r.status == 200:
                            del pending[name]
                except urllib.error.HTTPError as exc:
                    last[name] = f"{exc.code} {exc.read()[:300].decode(errors='replace')}"
                except (OSError, urllib.error.URLError) as exc:
                    last[name] = type(exc).__name__
            if pending and time.monotonic() > deadline:
                name = next(iter(pending))
                raise StartFailed(
                    f"not ready in {self.start_timeout_s:.0f} s: {sorted(pending)}; "
                    f"last {pending[name].readiness} of {name}: {last[name]}; its log ends:\n{self.logs(name)}"
                )
            if pending:
                time.sleep(0.5)

    def close(self) -> None:
        atexit.unregister(self.close)
        for name in reversed(list(self._containers)):
            c = self._containers.pop(name)
            with contextlib.suppress(Exception):
                c.stop()
        if self._network is not None:
            with contextlib.suppress(Exception):
                self._network.remove()
            self._network = None
        self._urls.clear()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def remove_leftovers(session: str | None = None) -> int:
    """Remove containers and networks the kit labelled (one session's, or all the
    kit's): for a run killed before it could clean up. Returns how many were removed."""
    import docker

    client = docker.from_env()
    try:
        return infra.remove_labelled(client, f"{SESSION_LABEL}={session}" if session else LABEL)
    finally:
        client.close()
