"""The engine as deploy/containers/engine.sh leaves it: the Docker-compatible API answers,
and HEALTHCHECKs run (podman 4.3 leaves them to systemd timers; the engine's loop runs
them), so `depends_on: condition: service_healthy` can ever be met."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from testcontainers.core.container import DockerContainer

pytestmark = pytest.mark.containers

REPO = Path(__file__).resolve().parents[2]
LABELS = {"billing.tests": "container-engine"}


def _health(container: DockerContainer) -> str:
    wrapped = container.get_wrapped_container()
    wrapped.reload()
    return str(wrapped.attrs["State"]["Health"]["Status"])


def test_health_checks_run_without_systemd() -> None:
    second = 1_000_000_000  # nanoseconds
    container = DockerContainer("local/debian:bookworm", command=["sleep", "300"]).with_kwargs(
        labels=LABELS,
        healthcheck={"test": ["CMD", "test", "-f", "/tmp/ready"], "interval": second, "retries": 2},
    )
    with container:
        deadline = time.monotonic() + 30
        while _health(container) != "unhealthy" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _health(container) == "unhealthy"  # the check ran, and failed, twice

        code, _ = container.get_wrapped_container().exec_run(["touch", "/tmp/ready"])
        assert code == 0
        deadline = time.monotonic() + 30
        while _health(container) != "healthy" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _health(container) == "healthy"


def test_engine_env_names_the_socket_and_the_testcontainers_settings() -> None:
    env = {k: v for k, v in os.environ.items() if k != "BILLING_ENGINE_SOCKET"}  # the default socket
    out = subprocess.run(
        ["bash", str(REPO / "deploy/containers/engine.sh"), "env"], capture_output=True, text=True, check=True, env=env
    ).stdout
    settings = dict(item.split("=", 1) for item in out.removeprefix("export ").split())
    assert settings == {
        "DOCKER_HOST": "unix:///run/podman/podman.sock",
        "TESTCONTAINERS_RYUK_DISABLED": "true",
        "TESTCONTAINERS_CONNECTION_MODE": "docker_host",
        "TC_HOST": "127.0.0.1",
    }
