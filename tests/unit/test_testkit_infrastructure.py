"""The kit's infrastructure containers, the parts that need no engine: ports, the engine's
settings, a start that meets a port taken meanwhile (billing_testkit/infrastructure.py,
used by the kit's container backend and by tests/support/infra.py)."""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from billing_testkit import infrastructure as infra


def test_a_port_someone_listens_on_or_already_chosen_is_never_picked(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        other = infra.free_port()
        wanted = infra.free_port(avoid={other})
        offers = iter([taken, other, wanted])
        monkeypatch.setattr(random, "randint", lambda a, b: next(offers))
        assert infra.free_port(avoid={other}) == wanted


def test_ports_are_chosen_below_the_range_of_outgoing_connections() -> None:
    low, high = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    for _ in range(20):
        port = infra.free_port()
        assert 1024 < port < low or port > high


def test_engine_defaults_find_the_socket_and_keep_what_the_user_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sock = str(tmp_path / "engine.sock")
    Path(sock).touch()
    for name in ("DOCKER_HOST", "TESTCONTAINERS_RYUK_DISABLED", "TESTCONTAINERS_CONNECTION_MODE", "TC_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(infra, "SOCKETS", (str(tmp_path / "missing.sock"), sock))
    infra.engine_env_defaults()
    assert os.environ["DOCKER_HOST"] == f"unix://{sock}"
    assert os.environ["TESTCONTAINERS_RYUK_DISABLED"] == "true"
    assert os.environ["TC_HOST"] == "127.0.0.1"

    monkeypatch.setenv("DOCKER_HOST", "tcp://engine.example:2375")
    monkeypatch.delenv("TC_HOST")
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "false")
    infra.engine_env_defaults()
    assert os.environ["DOCKER_HOST"] == "tcp://engine.example:2375"
    assert os.environ["TESTCONTAINERS_RYUK_DISABLED"] == "false"
    assert "TC_HOST" not in os.environ
    assert infra.engine_host() == "engine.example"


class FakeContainer:
    def __init__(self, port: int, refuse: dict[int, str], log: list[str]) -> None:
        self.port, self.refuse, self.log = port, refuse, log

    def start(self) -> None:
        self.log.append(f"start {self.port}")
        if self.port in self.refuse:
            raise RuntimeError(self.refuse[self.port])

    def stop(self) -> None:
        self.log.append(f"remove {self.port}")


def test_a_port_taken_between_the_check_and_the_start_is_replaced_by_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    offers = iter([21001, 21002])
    monkeypatch.setattr(infra, "free_port", lambda avoid=(): next(offers))
    log: list[str] = []
    refuse = {21001: "listen tcp4 127.0.0.1:21001: bind: address already in use"}
    avoid: set[int] = set()
    container = infra.start_on_free_port(lambda p: FakeContainer(p, refuse, log), avoid)
    assert container.port == 21002
    assert log == ["start 21001", "remove 21001", "start 21002"]
    assert {21001, 21002} <= avoid  # the other server does not take either


def test_any_other_start_failure_is_raised_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    offers = iter([21003, 21004])
    monkeypatch.setattr(infra, "free_port", lambda avoid=(): next(offers))
    log: list[str] = []
    refuse = {21003: "image not known"}
    with pytest.raises(RuntimeError, match="image not known"):
        infra.start_on_free_port(lambda p: FakeContainer(p, refuse, log), set())
    assert log == ["start 21003", "remove 21003"]


class FakeEngineContainer:
    """What Server reads of a testcontainers container: logs, status, start."""

    def __init__(self, logs: list[str], status: str = "running") -> None:
        self.image, self.status, self.lines, self._container = "local/kafka:4.1.1", status, logs, self
        self.started = 0

    def get_logs(self) -> tuple[bytes, bytes]:
        return ("\n".join(self.lines).encode(), b"")

    def get_wrapped_container(self) -> FakeEngineContainer:
        return self

    def reload(self) -> None:
        pass

    def start(self) -> None:
        self.started += 1
        self.status = "running"
        self.lines.append(infra.KAFKA_STARTED)  # the broker's new run


def test_a_restarted_server_is_ready_only_when_its_new_run_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(infra, "_port_open", lambda port: True)
    container = FakeEngineContainer(["booting", infra.KAFKA_STARTED, "stopping"], status="exited")
    server = infra.Server(container, 23456, infra.KAFKA_STARTED)
    with pytest.raises(infra.StartFailed, match="not ready"):
        container.status = "running"
        server.await_ready(timeout=0.5, seen=1)  # the earlier run's line does not count
    server.start(timeout=5)
    assert container.started == 1


def test_a_server_that_exits_while_starting_fails_at_once_with_its_log() -> None:
    container = FakeEngineContainer(["ERROR Exiting Kafka due to fatal exception"], status="exited")
    with pytest.raises(infra.StartFailed, match=r"exited while starting(.|\n)*fatal exception"):
        infra.Server(container, 23456, infra.KAFKA_STARTED).await_ready(timeout=60)


def test_ports_are_published_on_loopback_when_the_engine_is_local(monkeypatch: pytest.MonkeyPatch) -> None:
    container = SimpleNamespace(ports={})
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/podman/podman.sock")
    infra._publish(container, 5432, 23456)
    assert container.ports == {"5432/tcp": ("127.0.0.1", 23456)}
    monkeypatch.setenv("DOCKER_HOST", "tcp://engine.example:2375")
    infra._publish(container, 5432, 23457)
    assert container.ports == {"5432/tcp": 23457}  # reached from here on the engine's host
