"""Kafka and PostgreSQL as containers: the one implementation the kit's
:class:`~billing_testkit.containers.ContainerSystem` and the project's integration tests
(``tests/support/containers.py``) both start their servers with.

- Engine settings: :func:`engine_env_defaults` (the socket, no Ryuk, the engine's host
  from ``DOCKER_HOST``), for callers that set them before importing testcontainers.
- Ports: a host port chosen free beforehand (below the range where the kernel picks
  outgoing ports), published 1:1 (on 127.0.0.1 when the engine is local), so a stopped
  and started container keeps it; another port when the engine finds it taken after all.
- Kafka: a single KRaft node with a listener for the container network (``<alias>:9092``)
  and one for the host on the published port; ready when it logs ``Kafka Server started``.
- PostgreSQL: the official image's environment; ready when ``pg_isready`` answers on TCP.
- :class:`Server`: a started container with its host port; stop and start again keep
  port and data; logs. :func:`remove_labelled`: clean-up by label.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCAL_KAFKA = "local/kafka:4.1.1"
LOCAL_POSTGRES = "local/postgres:15"
KAFKA_STARTED = "Kafka Server started"
POSTGRES_READY = "database system is ready to accept connections"
PORTS = (20000, 32767)
"""Host ports to choose from: below 32768-60999, where outgoing connections take theirs."""
SOCKETS = ("/var/run/docker.sock", "/run/podman/podman.sock")


class StartFailed(RuntimeError):
    """A container did not come up; the message says what was awaited and what was seen."""


def engine_env_defaults() -> None:
    """What testcontainers needs here, unless the user says otherwise (see
    /work/shared/CONTAINERS.md): the engine's socket, no Ryuk (a Docker Hub image; our
    own labels clean up instead), and the engine's host taken from ``DOCKER_HOST``
    rather than guessed (the machine has a ``/.dockerenv``). Must run before
    testcontainers is imported: it reads these at import."""
    if not os.environ.get("DOCKER_HOST"):
        for path in SOCKETS:
            if Path(path).exists():
                os.environ["DOCKER_HOST"] = f"unix://{path}"
                break
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
    if engine_is_local():
        os.environ.setdefault("TC_HOST", "127.0.0.1")


def engine_is_local() -> bool:
    return os.environ.get("DOCKER_HOST", "unix://").startswith("unix://")


def engine_host() -> str:
    """Where the published ports are reached from here."""
    if host := os.environ.get("TC_HOST"):
        return host
    m = re.match(r"^(?:tcp|http|https)://([^:/]+)", os.environ.get("DOCKER_HOST", ""))
    return m.group(1) if m else "127.0.0.1"


def image_check(client: Any) -> Callable[[str], bool]:
    """Does the engine (a docker-py client) have this image, without pulling it?"""
    import docker.errors

    def has_image(name: str) -> bool:
        try:
            client.images.get(name)
            return True
        except docker.errors.ImageNotFound:
            return False

    return has_image


def free_port(avoid: Iterable[int] = ()) -> int:
    """A port nobody listens on now, from :data:`PORTS` (fixed for the container's life:
    Kafka advertises it, and a stopped container must get it back)."""
    taken = set(avoid)
    for _ in range(200):
        port = random.randint(*PORTS)
        if port in taken:
            continue
        try:
            for host in ("0.0.0.0", "127.0.0.1"):  # noqa: S104 (probing, not serving)
                with socket.socket() as s:
                    s.bind((host, port))
        except OSError:
            continue
        return port
    raise StartFailed(f"no free port in {PORTS[0]}-{PORTS[1]}")


def kafka_env(host_port: int, *, alias: str = "kafka", host: str = "127.0.0.1") -> dict[str, str]:
    """The apache/kafka image's env convention (``KAFKA_X_Y`` -> ``x.y``): a single KRaft
    node, ``<alias>:9092`` for the container network, ``<host>:<host_port>`` for the host
    (the same port inside, published 1:1, so what it advertises is where it is)."""
    return {
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": f"PLAINTEXT://:9092,CONTROLLER://:9093,HOST://:{host_port}",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://{alias}:9092,HOST://{host}:{host_port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,HOST:PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    }


def container_logs(container: Any, tail: int | None = None) -> str:
    """A testcontainers container's output and errors ("" before it exists)."""
    if getattr(container, "_container", None) is None:
        return ""
    try:
        out, err = container.get_logs()
    except Exception as exc:  # a removed container
        return f"(no logs: {type(exc).__name__})"
    text = str(out.decode(errors="replace") + err.decode(errors="replace"))
    return text[-tail:] if tail else text


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((engine_host(), port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Server:
    """A started infrastructure container and the host port it is published on."""

    container: Any
    port: int
    ready: str
    """The log line it writes when it is up."""
    probe: Sequence[str] = ()
    """A command that succeeds inside it once it answers (else the log line decides)."""

    @property
    def image(self) -> str:
        return str(self.container.image)

    def logs(self, tail: int | None = None) -> str:
        return container_logs(self.container, tail)

    def await_ready(self, timeout: float, seen: int = 0) -> None:
        """Back when it answers: the probe succeeds, or it has logged :attr:`ready` more than
        ``seen`` times (its logs keep earlier runs' lines); and its host port answers."""
        deadline = time.monotonic() + timeout
        wrapped = self.container.get_wrapped_container()
        last = ""
        while time.monotonic() < deadline:
            wrapped.reload()
            if wrapped.status in ("exited", "dead", "stopped"):
                raise StartFailed(f"{self.image} exited while starting; its log ends:\n{self.logs(4000)}")
            if self.probe:
                code, out = wrapped.exec_run(list(self.probe))
                up, last = code == 0, out.decode(errors="replace").strip()
            else:
                up = self.logs().count(self.ready) > seen
            if up and _port_open(self.port):
                return
            time.sleep(0.3)
        raise StartFailed(
            f"{self.image} not ready in {timeout:.0f} s ({last or f'no {self.ready!r} yet'}); "
            f"its log ends:\n{self.logs(3000)}"
        )

    def stop(self) -> None:
        """Stop it (an outage); :meth:`start` brings it back on the same port with its data."""
        self.container.get_wrapped_container().stop(timeout=60)

    def start(self, timeout: float = 120.0) -> None:
        seen = self.logs().count(self.ready)
        self.container.get_wrapped_container().start()
        self.await_ready(timeout, seen)

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self.container.stop()


def _container(image: str, name: str, labels: Mapping[str, str], network: Any, alias: str | None, **kw: Any) -> Any:
    from testcontainers.core.container import DockerContainer

    c = DockerContainer(image, name=name, labels=dict(labels), **kw)
    if network is not None:
        c.with_network(network).with_network_aliases(alias or name)
    return c


def _publish(container: Any, container_port: int, host_port: int) -> None:
    """Publish on the engine host's loopback only when the engine is local."""
    container.ports[f"{container_port}/tcp"] = ("127.0.0.1", host_port) if engine_is_local() else host_port


def kafka(
    image: str,
    *,
    name: str,
    labels: Mapping[str, str],
    env: Callable[[int], Mapping[str, str]],
    network: Any = None,
    alias: str = "",
) -> Callable[[int], Server]:
    """A maker of Kafka on a given host port, configured by ``env(port)`` (e.g. :func:`kafka_env`)."""

    def make(port: int) -> Server:
        hostname = alias or name
        c = _container(
            image, name, labels, network, alias or None, env=dict(env(port)), hostname=hostname, stop_signal="SIGTERM"
        )
        _publish(c, port, port)
        return Server(c, port, KAFKA_STARTED)

    return make


def postgres(
    image: str,
    *,
    name: str,
    labels: Mapping[str, str],
    password: str,
    command: Sequence[str] | None = None,
    network: Any = None,
    alias: str = "",
) -> Callable[[int], Server]:
    """A maker of PostgreSQL (user and database ``postgres``) on a given host port."""

    def make(port: int) -> Server:
        c = _container(
            image,
            name,
            labels,
            network,
            alias or None,
            env={"POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": password, "POSTGRES_DB": "postgres"},
            command=list(command) if command else None,
            stop_signal="SIGINT",  # PostgreSQL's fast shutdown; SIGTERM waits for every client
            shm_size="256m",
        )
        _publish(c, 5432, port)
        # TCP: the official image's init phase listens on the socket only
        return Server(c, port, POSTGRES_READY, probe=("pg_isready", "-h", "127.0.0.1", "-U", "postgres"))

    return make


def start_on_free_port(make: Callable[[int], Any], avoid: set[int], tries: int = 5) -> Any:
    """Start what ``make(port)`` makes (a :class:`Server`, or anything with ``start`` and
    ``stop``/``remove``) on a port found free; another one if the engine finds it taken
    after all (someone bound it between the check and the start). Chosen ports join ``avoid``."""
    for attempt in range(tries):
        port = free_port(avoid)
        made = make(port)
        target = made.container if isinstance(made, Server) else made
        try:
            target.start()
            avoid.add(port)
            return made
        except Exception as exc:
            with contextlib.suppress(Exception):
                target.stop()
            if attempt == tries - 1 or not re.search(r"address already in use|port is already", str(exc), re.I):
                raise
            avoid.add(port)
    raise AssertionError("unreachable")


def start_servers(makers: Sequence[Callable[[int], Server]], timeout: float) -> list[Server]:
    """Start each on its own free port, side by side, and wait until all answer. On any
    failure, what started is removed and the first error raised."""
    avoid: set[int] = set()

    def up(make: Callable[[int], Server]) -> Server:
        server: Server = start_on_free_port(make, avoid)
        try:
            server.await_ready(timeout)
        except BaseException:
            server.remove()
            raise
        return server

    with ThreadPoolExecutor(len(makers)) as pool:
        futures = [pool.submit(up, m) for m in makers]
        errors = [f.exception() for f in futures]
    if any(errors):
        for f in futures:
            if f.exception() is None:
                f.result().remove()
        raise next(e for e in errors if e is not None)
    return [f.result() for f in futures]


def remove_labelled(
    client: Any, selector: str, only: Callable[[Any], bool] = lambda c: True, *, networks: bool = True
) -> int:
    """Remove the containers (and their anonymous volumes) carrying a label (``name`` or
    ``name=value``) for which ``only`` holds, and such networks; how many were removed."""
    n = 0
    for c in client.containers.list(all=True, filters={"label": selector}):
        if only(c):
            with contextlib.suppress(Exception):
                c.remove(force=True, v=True)
                n += 1
    for net in client.networks.list(filters={"label": selector}) if networks else ():
        with contextlib.suppress(Exception):
            net.remove()
            n += 1
    return n
