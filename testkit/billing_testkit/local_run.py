"""Running instances of the registry's rows as OS processes (the machinery of
:mod:`billing_testkit.local`, which plans them): spawn with a log file, readiness,
SIGTERM/SIGKILL, restart, and pid files for a detached system."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from billing_testkit.processes import Process, process


class NotReady(RuntimeError):
    """Some process did not become ready (the message names each one and its log)."""


class PortInUse(RuntimeError):
    """Something already answers on a port an instance is to listen on."""


LISTEN_PORTS = (10000, 19999)
"""Where :func:`free_port` looks: below Linux's ephemeral range (32768-60999), which the
kernel hands to outgoing connections (a Kafka client's) and to ``bind(0)``, and below the
containers' host ports (``billing_testkit.infrastructure.PORTS``, 20000-32767)."""


def free_port(avoid: Iterable[int] = ()) -> int:
    """A port of :data:`LISTEN_PORTS` nothing listens on now and not in ``avoid`` (the
    ports already given to instances that may not listen yet)."""
    taken = set(avoid)
    for _ in range(500):
        port = random.randint(*LISTEN_PORTS)
        if port in taken:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no free port in {LISTEN_PORTS[0]}-{LISTEN_PORTS[1]}")


@dataclass
class Instance:
    """One OS process of a row (a scalable row may have several)."""

    name: str
    process: Process
    port: int
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    cwd: Path | None = None
    host: str = "127.0.0.1"
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def spawn(self, detached: bool = False) -> int:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(  # noqa: S603 (the registry's own command)
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=detached,
            )
        self.pid = self.popen.pid
        return self.pid

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return self.pid is not None and _runs(self.pid, self.argv)

    def exit_code(self) -> int | None:
        return self.popen.poll() if self.popen is not None else None

    def answers(self, timeout: float = 5.0) -> bool:
        """Ready by the row's measure: its HTTP path answers 200, or its port listens."""
        if self.process.readiness == "tcp":
            return _listening(self.host, self.port)
        try:
            with urllib.request.urlopen(self.url + self.process.readiness, timeout=timeout) as response:  # noqa: S310
                return int(response.status) == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def log_tail(self, size: int = 3000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - size))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def signal(self, sig: int) -> None:
        if self.alive() and self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def wait_exit(self, timeout: float) -> bool:
        """True when it exited within ``timeout`` (reaped when it is our child)."""
        if self.popen is not None:
            try:
                self.popen.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _runs(pid: int, argv: Sequence[str]) -> bool:
    """Does ``pid`` run ``argv`` (not some other process that got the pid since)?"""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc: trust the pid
    tail = [a.encode() for a in argv[1:]]
    return not tail or cmdline[-len(tail) :] == tail


class LocalSystem:
    """Instances by name, in start order; see the module's doc."""

    def __init__(self, instances: Iterable[Instance], run_dir: Path | None = None) -> None:
        self.instances: dict[str, Instance] = {i.name: i for i in instances}
        self.run_dir = run_dir

    # --- lifecycle ---------------------------------------------------------------------

    def start(self, names: Iterable[str] | None = None) -> list[str]:
        """Spawn those of ``names`` (default: all) not running; the names spawned."""
        chosen = [self.instances[n] for n in (names or self.instances)]
        todo = [i for i in chosen if not i.alive()]
        for inst in todo:
            if _listening(inst.host, inst.port):
                raise PortInUse(
                    f"{inst.name}: port {inst.port} already answers (another system? choose other ports,"
                    " e.g. BILLING_DEMO_PORT_OFFSET)"
                )
        for inst in todo:
            inst.spawn(detached=self.run_dir is not None)
        self._save()
        return [i.name for i in todo]

    def wait_ready(self, timeout: float = 300.0, names: Iterable[str] | None = None) -> None:
        """Until each is ready; one deadline for all. A process that exits is reported at
        once (:class:`NotReady` with its exit code and the end of its log)."""
        chosen = [self.instances[n] for n in (names or self.instances)]
        deadline = time.monotonic() + timeout
        failed: list[str] = []

        def one(inst: Instance) -> None:
            while not failed:
                if not inst.alive():
                    failed.append(inst.name)
                    raise NotReady(
                        f"{inst.name} exited ({inst.exit_code()}) before it was ready; see {inst.log_path}\n"
                        + inst.log_tail()
                    )
                if inst.answers():
                    return
                if time.monotonic() > deadline:
                    failed.append(inst.name)
                    raise NotReady(f"{inst.name} not ready in {timeout:.0f}s at {inst.url}; see {inst.log_path}")
                time.sleep(0.2)

        if not chosen:
            return
        with ThreadPoolExecutor(len(chosen)) as pool:
            futures = [pool.submit(one, inst) for inst in chosen]
            wait(futures, return_when=FIRST_EXCEPTION)
            errors = [str(e) for f in futures if (e := f.exception()) is not None]
        if errors:
            raise NotReady("\n".join(errors))

    def up(self, timeout: float = 300.0) -> LocalSystem:
        self.start()
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, grace: float = 20.0, names: Iterable[str] | None = None) -> list[str]:
        """SIGTERM in reverse start order (all told at once), then each awaited; SIGKILL
        for one still running after ``grace``. The names that were running."""
        chosen = [self.instances[n] for n in (names or self.instances)]
        running = [i for i in reversed(chosen) if i.alive()]
        for inst in running:
            inst.signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for inst in running:
            if not inst.wait_exit(max(0.0, deadline - time.monotonic())):
                inst.signal(signal.SIGKILL)
                inst.wait_exit(10.0)
        for inst in chosen:
            self._forget(inst)
        return [i.name for i in running]

    def kill(self, name: str) -> int:
        """SIGKILL (no grace, no clean-up); its pid."""
        inst = self.instances[name]
        assert inst.pid is not None, f"{name} never started"
        pid = inst.pid
        inst.signal(signal.SIGKILL)
        inst.wait_exit(10.0)
        return pid

    def restart(self, name: str, wait: bool = True, timeout: float = 120.0) -> int:
        """Start it again: the same port, environment and log (appended); its new pid."""
        inst = self.instances[name]
        if inst.alive():
            raise RuntimeError(f"{name} is still running")
        pid = inst.spawn(detached=self.run_dir is not None)
        self._save()
        if wait:
            self.wait_ready(timeout, [name])
        return pid

    def __enter__(self) -> LocalSystem:
        return self.up()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # --- what a client needs -----------------------------------------------------------

    def url(self, name: str) -> str:
        return self.instances[name].url

    def running(self, name: str) -> bool:
        return self.instances[name].alive()

    def pid(self, name: str) -> int:
        pid = self.instances[name].pid
        assert pid is not None, f"{name} never started"
        return pid

    def logs(self, size: int = 4000) -> str:
        """The end of every log (a failing test's report)."""
        return "\n".join(f"--- {i.log_path.name}\n{i.log_tail(size)}" for i in self.instances.values())

    # --- pid files (detached) ----------------------------------------------------------

    def _save(self) -> None:
        if self.run_dir is None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        state = []
        for inst in self.instances.values():
            if inst.pid is not None:
                (self.run_dir / f"{inst.name}.pid").write_text(f"{inst.pid}\n")
            state.append({"name": inst.name, "process": inst.process.name, "port": inst.port, "url": inst.url,
                          "argv": inst.argv, "log": str(inst.log_path)})  # fmt: skip
        (self.run_dir / "instances.json").write_text(json.dumps(state, indent=1) + "\n")

    def _forget(self, inst: Instance) -> None:
        if self.run_dir is not None:
            (self.run_dir / f"{inst.name}.pid").unlink(missing_ok=True)

    @classmethod
    def attach(cls, run_dir: Path) -> LocalSystem:
        """The system a detached start left in ``run_dir`` (for ``status`` and ``down``;
        environments are not kept, so it cannot restart)."""
        try:
            state = json.loads((run_dir / "instances.json").read_text())
        except FileNotFoundError:
            return cls([], run_dir)
        instances = []
        for row in state:
            pid_file = run_dir / f"{row['name']}.pid"
            pid = int(pid_file.read_text()) if pid_file.exists() else None
            inst = Instance(row["name"], process(row["process"]), row["port"], row["argv"], {}, Path(row["log"]))
            inst.pid = pid
            instances.append(inst)
        return cls(instances, run_dir)
