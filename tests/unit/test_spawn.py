"""The tests' fork server (tests/support/spawn.py): a forked service process behaves as
the same command started as a fresh interpreter would (environment, argv, cwd, log,
exit code, signals, output flushed at exit), and what it preloads is safe to preload."""

from __future__ import annotations

import json
import multiprocessing.forkserver
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support import spawn
from tests.support.servers import REPO

PROBE = textwrap.dedent(
    """
    import atexit, json, os, sys, time
    what = sys.argv[1]
    print(json.dumps({
        "argv": sys.argv[1:], "cwd": os.getcwd(), "name": __name__,
        "env": {k: v for k, v in os.environ.items() if k.startswith("SPAWN_PROBE")},
        "preloaded": "services.customers.app" in sys.modules,
        "stdin": sys.stdin.read(),
    }))
    atexit.register(lambda: sys.stdout.write("atexit ran, unflushed"))
    if what == "exit":
        sys.exit(int(sys.argv[2]))
    if what == "message":
        sys.exit("a reason")
    if what == "raise":
        raise RuntimeError("boom")
    if what == "sleep":
        sys.stdout.flush()
        time.sleep(60)
    """
)


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    (tmp_path / "spawn_probe.py").write_text(PROBE)
    return tmp_path


def run(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[spawn.Forked | subprocess.Popen[bytes], Path]:
    log_path = folder / f"probe-{time.monotonic_ns()}.log"
    with open(log_path, "ab") as log:
        proc = spawn.start(
            [sys.executable, "-m", "spawn_probe", *args],
            env={"PATH": "/usr/bin:/bin", "SPAWN_PROBE": "mine", **(env or {})},
            cwd=folder,
            log=log,
        )
    return proc, log_path


def first_line(log_path: Path) -> dict[str, object]:
    return dict(json.loads(log_path.read_text().splitlines()[0]))


@pytest.mark.parametrize("code", [0, 3, 70])
def test_a_forked_process_runs_the_module_as_main_with_its_own_env_argv_cwd_and_exit_code(
    probe: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    monkeypatch.delenv(spawn.SPAWN_ENV, raising=False)
    monkeypatch.setenv("SPAWN_PROBE_PARENT", "not for the child")
    proc, log = run(probe, "exit", str(code))
    assert isinstance(proc, spawn.Forked)
    assert proc.wait(30) == code
    assert proc.returncode == code and proc.poll() == code
    seen = first_line(log)
    assert seen == {
        "argv": ["exit", str(code)],
        "cwd": str(probe),
        "name": "__main__",
        "env": {"SPAWN_PROBE": "mine"},
        "preloaded": True,  # forked from the server that imported the services
        "stdin": "",
    }
    assert log.read_text().endswith("atexit ran, unflushed")  # atexit ran and stdout was flushed


def test_exec_mode_starts_a_fresh_interpreter_for_the_same_command(
    probe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(spawn.SPAWN_ENV, "exec")
    proc, log = run(probe, "exit", "4")
    assert isinstance(proc, subprocess.Popen)
    assert proc.wait(30) == 4
    assert first_line(log)["preloaded"] is False
    assert log.read_text().endswith("atexit ran, unflushed")


@pytest.mark.parametrize("mode", ["fork", "exec"])
def test_an_uncaught_exception_and_a_message_exit_as_the_interpreter_does(
    probe: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv(spawn.SPAWN_ENV, mode)
    raised, raised_log = run(probe, "raise")
    message, message_log = run(probe, "message")
    assert raised.wait(30) == 1
    assert message.wait(30) == 1
    assert "RuntimeError: boom" in raised_log.read_text()
    assert "a reason\n" in message_log.read_text()


@pytest.mark.parametrize(("sig", "how"), [(signal.SIGTERM, "send_signal"), (signal.SIGKILL, "kill")])
def test_signals_end_a_forked_process_like_a_popen(
    probe: Path, monkeypatch: pytest.MonkeyPatch, sig: signal.Signals, how: str
) -> None:
    monkeypatch.delenv(spawn.SPAWN_ENV, raising=False)
    proc, log = run(probe, "sleep")
    deadline = time.monotonic() + 30
    while not log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(0.1)
    if how == "kill":
        proc.kill()
    else:
        proc.send_signal(sig)
    assert proc.wait(30) == -sig


def test_the_fork_server_stops_without_blocking_and_a_later_start_starts_another(
    probe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(spawn.SPAWN_ENV, raising=False)
    first, _ = run(probe, "exit", "0")
    assert first.wait(30) == 0
    server = multiprocessing.forkserver._forkserver  # type: ignore[attr-defined]
    old = server._forkserver_pid
    assert old is not None
    spawn._stop_server()
    with pytest.raises(ChildProcessError):  # exited and reaped by this process
        os.waitpid(old, os.WNOHANG)
    again, log = run(probe, "exit", "5")
    assert again.wait(30) == 5
    assert first_line(log)["preloaded"] is True
    assert server._forkserver_pid not in (None, old)


def test_only_python_m_and_this_environments_console_script_are_forked() -> None:
    bindir = Path(sys.executable).parent
    assert spawn._target([sys.executable, "-m", "services.customers"]) == ("module", "services.customers", [])
    assert spawn._target([str(bindir / "billing"), "serve", "x"]) == ("script", "billing", ["serve", "x"])
    assert spawn._target(["/elsewhere/billing", "serve"]) is None
    assert spawn._target(["bash", "-c", "true"]) is None


PRELOAD_CHECK = textwrap.dedent(
    """
    import json, os, re, sys, sysconfig, threading
    read = set()
    STDLIB = sysconfig.get_paths()["stdlib"]
    def reader():  # the first frame outside os/collections: who asked
        f = sys._getframe(3)  # reader <- note <- __getitem__ <- the caller
        while f is not None and (f.f_code.co_filename.startswith("<frozen") or f.f_code.co_filename == os.__file__):
            f = f.f_back
        return f.f_code.co_filename if f is not None else ""
    def note(key):
        where = reader()
        # the standard library's wsgiref copies the whole environment into a class attribute
        # at import (prometheus_client imports it); a copy nothing of ours reads is not a setting read
        if not (where.startswith(STDLIB) and "site-packages" not in where):
            read.add(key)
    class Spy(type(os.environ)):
        def __getitem__(self, key):
            note(key)
            return super().__getitem__(key)
        def __contains__(self, key):
            note(key)
            return super().__contains__(key)
    os.environ.__class__ = Spy
    fds = sorted(os.listdir("/proc/self/fd"))
    for name in json.loads(sys.argv[1]):
        __import__(name)
    pid = str(os.getpid())
    holds_pid = sorted(  # a module-level value made of this process's pid (a runner id ...)
        f"{name}.{attr}"
        for name, module in list(sys.modules.items())
        if name.split(".")[0] in ("services", "shared")
        for attr, value in list(vars(module).items())
        if isinstance(value, (str, int)) and not isinstance(value, bool)
        and re.search(rf"(?<![0-9]){pid}(?![0-9])", str(value))
    )
    print(json.dumps({
        "read": sorted(read), "threads": threading.active_count(),
        "new_fds": sorted(set(os.listdir("/proc/self/fd")) - set(fds)), "holds_pid": holds_pid,
    }))
    """
)


def test_the_preloaded_modules_read_no_environment_start_no_thread_open_nothing_nor_keep_their_pid() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PRELOAD_CHECK, json.dumps(spawn.PRELOAD)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(done.stdout.splitlines()[-1])
    ours = [
        k for k in seen["read"] if k.startswith(("BILLING_", "CUSTOMERS_", "INVOICING_", "REMINDERS_", "DISPATCH_"))
    ]
    assert ours == []  # settings are read by the child, after its env is set
    assert seen["threads"] == 1
    assert seen["new_fds"] == []
    assert seen["holds_pid"] == []  # a forked child would carry the server's pid
