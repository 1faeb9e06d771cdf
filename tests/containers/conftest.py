"""The container images' tests (``tests/containers``): they need a container engine with
the images built (``make images``).

One switch, ``BILLING_CONTAINER_TESTS``: ``1`` runs them (and fails where the engine
does not answer), ``0`` deselects them; unset, they run when an engine answers at
``DOCKER_HOST`` (else the socket ``deploy/containers/engine.sh`` starts, else Docker's) and are
deselected otherwise; the run's header says which, and why.
"""

from __future__ import annotations

import http.client
import os
import socket
from pathlib import Path

import pytest

SWITCH = "BILLING_CONTAINER_TESTS"
ENGINE_SOCKET = "/run/podman/podman.sock"
HERE = Path(__file__).parent

# testcontainers reads these when imported: set them before the test modules import it,
# for the engine deploy/containers/engine.sh starts (this machine has a /.dockerenv,
# which makes testcontainers think it runs inside a container; Ryuk is an image from a
# registry: our containers are labelled and removed instead). Elsewhere: DOCKER_HOST, or
# Docker's own socket, as testcontainers finds it.
if "DOCKER_HOST" not in os.environ and Path(ENGINE_SOCKET).is_socket():
    os.environ["DOCKER_HOST"] = f"unix://{ENGINE_SOCKET}"
    for _name, _value in {
        "TESTCONTAINERS_RYUK_DISABLED": "true",
        "TESTCONTAINERS_CONNECTION_MODE": "docker_host",
        "TC_HOST": "127.0.0.1",
    }.items():
        os.environ.setdefault(_name, _value)


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=3)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(3)
        self.sock.connect(self._path)


def engine_answers() -> tuple[bool, str]:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return True, f"DOCKER_HOST={host} (not checked)"
    path = host.removeprefix("unix://")
    try:
        conn = _UnixHTTPConnection(path)
        conn.request("GET", "/_ping")
        ok = conn.getresponse().read() == b"OK"
        conn.close()
    except OSError as e:
        return False, f"no engine at {host} ({e.strerror or e})"
    return ok, f"engine at {host}" if ok else f"{host} does not answer a ping"


def _decision() -> tuple[bool, str]:
    wanted = os.environ.get(SWITCH, "")
    if wanted == "0":
        return False, f"{SWITCH}=0"
    answers, why = engine_answers()
    if wanted == "1":
        return True, f"{SWITCH}=1; {why}"
    return answers, why


def pytest_report_header(config: pytest.Config) -> str:
    run, why = _decision()
    return f"container image tests (tests/containers): {'run' if run else 'deselected'}: {why} ({SWITCH}=0|1 forces)"


_deselected: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run, why = _decision()
    if run:
        return
    ours = [item for item in items if HERE in Path(str(item.path)).parents]
    if ours:
        config.hook.pytest_deselected(items=ours)
        items[:] = [item for item in items if item not in ours]
        _deselected.append(f"{len(ours)} container image tests deselected: {why} ({SWITCH}=1 forces them)")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in _deselected:
        terminalreporter.write_line(line)
