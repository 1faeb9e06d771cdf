"""Starting the tests' service processes from a fork server.

A service process started as ``python -m services.<x>`` spends 2-3 CPU-seconds importing
its modules before it does anything, and the suite starts a few hundred of them. Here a
``multiprocessing`` fork server (one per pytest process, started on first use) imports
the heavy modules once (:data:`PRELOAD`); each start forks it, and the child then does what
the interpreter would do for the same command line:

- its environment becomes the test's env dict (``os.environ`` replaced) before anything
  reads settings: the preloaded modules read none at import (tests/unit/test_spawn.py
  checks that importing them reads no environment, starts no thread and opens nothing);
- stdin is /dev/null, stdout and stderr go to the test's log file, cwd and ``sys.argv``
  are the command's, and the module runs as ``__main__`` (``runpy``), or a console script
  (``billing``) runs its entry point, as ``python -m``/the script would;
- at the end: non-daemon threads joined, ``atexit`` functions run (logging flushed),
  stdout/stderr flushed, and the exit code (``sys.exit``'s, 1 for an uncaught exception)
  is the process's, which the handle reports like ``Popen.returncode`` (negative for a
  signal: SIGTERM and SIGKILL work on its pid as on any process).

:func:`start` returns a handle with the ``Popen`` methods the tests use (``pid``,
``poll``, ``returncode``, ``wait``, ``send_signal``, ``terminate``, ``kill``). A command
that is neither ``<python> -m <module> …`` nor this environment's ``billing`` script runs
as a plain ``subprocess.Popen``, and so does everything when ``BILLING_TEST_SPAWN=exec``.
The production entry points are not touched: the child runs exactly their code.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.process
import os
import runpy
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import IO, Any

SPAWN_ENV = "BILLING_TEST_SPAWN"
"""``exec``: every process a fresh interpreter (``subprocess.Popen``), as before the fork
server; anything else (default ``fork``): the fork server."""

PRELOAD = (
    # the libraries every service imports (most of the import cost) ...
    "sqlalchemy",
    "sqlalchemy.ext.asyncio",
    "alembic.runtime.migration",
    "alembic.autogenerate",
    "fastapi",
    "pydantic",
    "pydantic_settings",
    "prometheus_client",
    "faststream",
    "aiokafka",
    "asyncpg",
    "uvicorn",
    "httpx",
    "reportlab.pdfgen.canvas",
    "pypdf",
    # ... and the services' own modules (not their ``__main__`` nor the worker's entry
    # module: those run as ``__main__``, and one already imported would make runpy warn)
    "shared.serve",
    "services.customers.app",
    "services.customers.config",
    "services.invoicing.app",
    "services.invoicing.config",
    "services.reminders.app",
    "services.reminders.config",
    "services.dispatch.app",
    "services.dispatch.config",
)
"""What the fork server imports once. Only modules that, at import, read no environment
or settings, open no socket or file and start no thread or event loop."""

CONSOLE_SCRIPTS = ("billing",)


def mode() -> str:
    return "exec" if os.environ.get(SPAWN_ENV, "").strip().lower() == "exec" else "fork"


def start(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path | str,
    log: IO[bytes],
    detached: bool = False,
) -> subprocess.Popen[bytes] | Forked:
    """``argv`` started with ``env`` in ``cwd``, stdout and stderr appended to ``log``."""
    target = _target(argv)
    _count(argv, target)
    if target is None or mode() == "exec":
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=detached,
        )
    kind, name, args = target
    log.flush()
    context = _context()
    proc = context.Process(
        target=_child,
        args=(kind, name, [*argv[:1], *args], dict(env), str(cwd), log.name, detached),
        name=f"spawn:{name}",
        daemon=False,
    )
    proc.start()
    # not multiprocessing's child to join at exit (a leaked service would hang the pytest
    # process there): like a Popen's, its end is the test's business
    multiprocessing.process._children.discard(proc)  # type: ignore[attr-defined]
    return Forked(proc, list(argv))


COUNT_ENV = "BILLING_TEST_SPAWN_LOG"
"""A file to append one line per start to (the mode, the test, the command): how many
processes a run starts, and by which tests."""


def _count(argv: Sequence[str], target: tuple[str, str, list[str]] | None) -> None:
    if path := os.environ.get(COUNT_ENV):
        how = "exec" if target is None else mode()
        test = os.environ.get("PYTEST_CURRENT_TEST", "-").split(" ")[0]
        with open(path, "a") as out:
            out.write(f"{how}\t{test}\t{' '.join(argv[1:4])}\n")


def _target(argv: Sequence[str]) -> tuple[str, str, list[str]] | None:
    """``("module", name, args)`` for ``<python> -m name args``, ``("script", name, args)``
    for this environment's console script ``name``; None for anything else."""
    if not argv:
        return None
    head = Path(argv[0])
    if len(argv) >= 3 and argv[1] == "-m" and head.name.startswith("python"):
        return ("module", argv[2], list(argv[3:]))
    if head.name in CONSOLE_SCRIPTS and head.parent == Path(sys.executable).parent:
        return ("script", head.name, list(argv[1:]))
    return None


_lock = threading.Lock()
_started: list[bool] = []


def _context() -> Any:
    with _lock:
        if not _started:
            multiprocessing.set_forkserver_preload(list(PRELOAD))
            atexit.register(_stop_server)
            _started.append(True)
    return multiprocessing.get_context("forkserver")


def _stop_server(grace: float = 10.0) -> None:
    """Stop the fork server with this process: it has reaped the children it forked (so
    their CPU time is accounted to this process) and no server is left behind. Never
    blocks this process's exit for more than ``grace`` seconds (then SIGKILL)."""
    server = multiprocessing.forkserver._forkserver  # type: ignore[attr-defined]
    pid, alive = server._forkserver_pid, server._forkserver_alive_fd
    if pid is None:
        return
    with contextlib.suppress(OSError):
        os.close(alive)  # EOF on its "alive" pipe: the server exits
    # forgotten (a later start would start another: its address is in the abstract namespace)
    server._forkserver_pid = server._forkserver_alive_fd = server._forkserver_address = None
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                time.sleep(0.05)
                continue
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


class Forked:
    """A forked service process, handled like a ``subprocess.Popen``."""

    def __init__(self, proc: Any, args: list[str]) -> None:
        self._proc = proc
        self.args = args
        self.pid: int = proc.pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            code = self._proc.exitcode
            if code is not None:
                self._done(code)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._proc.join(timeout)
            if self._proc.exitcode is None:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            self._done(self._proc.exitcode)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _done(self, code: int) -> None:
        self.returncode = code
        self._proc.close()  # its sentinel pipe: a run starts hundreds


def _child(kind: str, name: str, argv: list[str], env: dict[str, str], cwd: str, log_path: str, detached: bool) -> None:
    """In the forked process: become ``argv`` and exit as it would."""
    multiprocessing.current_process().name = "MainProcess"  # as in a process of its own
    if detached:
        os.setsid()
    out = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.path[:] = [cwd, *(p for p in sys.path if p not in ("", cwd))]
    sys.argv[:] = argv
    code = 0
    interrupted = False
    try:
        if kind == "script":
            (entry,) = entry_points(group="console_scripts", name=name)
            sys.exit(entry.load()())
        else:
            runpy.run_module(name, run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        code = _exit_code(stop.code)
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())
        code, interrupted = 1, True
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    _finish(code, interrupted)


def _exit_code(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    with contextlib.suppress(Exception):
        sys.stderr.write(f"{value}\n")
    return 1


def _finish(code: int, interrupted: bool) -> None:
    """What the interpreter does on its way out, then the exit itself."""
    threading._shutdown()  # type: ignore[attr-defined]  # join non-daemon threads
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if interrupted:  # as the interpreter does: die of the SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code & 0xFF)
