"""Kafka and PostgreSQL for the tests as containers, started with testcontainers.

- Images: ``local/kafka:4.1.1`` and ``local/postgres:15`` (built here by ``make images``)
  when the engine has them, else the official ``apache/kafka:4.1.1`` and ``postgres:15``
  (pulled from a registry); ``BILLING_TEST_KAFKA_IMAGE`` / ``BILLING_TEST_POSTGRES_IMAGE``
  choose others. Both Kafka images read the same ``KAFKA_*`` environment.
- Ports: each server gets a host port chosen free beforehand (below the range where the
  kernel picks outgoing ports), bound on 127.0.0.1 and kept by a container stop/start,
  so the tests' URLs survive an outage test. Kafka listens on that same port inside the
  container and advertises ``127.0.0.1:<port>``; its ``PLAINTEXT`` listener on 9092 is
  for the container network.
- Settings: those of ``deploy/local/stack.sh`` (KRaft single node, no auto-created topics,
  internal topics with one replica, no initial rebalance delay; PostgreSQL with 300
  connections), and fsync off in PostgreSQL (test data need not survive a machine crash).
- Clean-up: every container carries the labels ``org.testcontainers=true``,
  ``billing.test-session`` and ``billing.test-owner`` (host, pid and start time of the
  process that made it). :meth:`ContainerServers.close` removes them (also at exit); a
  later run removes those whose owner process is gone (a killed run).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import random
import re
import secrets
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_KAFKA = "local/kafka:4.1.1"
LOCAL_POSTGRES = "local/postgres:15"
OFFICIAL_KAFKA = "apache/kafka:4.1.1"
OFFICIAL_POSTGRES = "postgres:15"
KAFKA_IMAGE_ENV = "BILLING_TEST_KAFKA_IMAGE"
POSTGRES_IMAGE_ENV = "BILLING_TEST_POSTGRES_IMAGE"

SESSION_LABEL = "billing.test-session"
OWNER_LABEL = "billing.test-owner"
KAFKA_STARTED = "Kafka Server started"
POSTGRES_READY = "database system is ready to accept connections"
KAFKA_HEAP = "768m"
PORTS = (20000, 32767)
"""Host ports to choose from: below 32768-60999, where outgoing connections take theirs."""
SOCKETS = ("/var/run/docker.sock", "/run/podman/podman.sock")
CLUSTER_ID = "YmlsbGluZy10ZXN0cy0wMQ"
"""Any 22-character base64 UUID; fixed, so a restarted container finds its own storage."""


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
    if os.environ.get("DOCKER_HOST", "unix://").startswith("unix://"):
        os.environ.setdefault("TC_HOST", "127.0.0.1")


def engine_host() -> str:
    """Where the published ports are reached from here."""
    if host := os.environ.get("TC_HOST"):
        return host
    m = re.match(r"^(?:tcp|http|https)://([^:/]+)", os.environ.get("DOCKER_HOST", ""))
    return m.group(1) if m else "127.0.0.1"


def chosen_images(has_image: Callable[[str], bool]) -> tuple[str, str]:
    """(Kafka image, PostgreSQL image): the environment's, else the ones built here, else
    the official ones."""

    def pick(env: str, local: str, official: str) -> str:
        return os.environ.get(env) or (local if has_image(local) else official)

    return (
        pick(KAFKA_IMAGE_ENV, LOCAL_KAFKA, OFFICIAL_KAFKA),
        pick(POSTGRES_IMAGE_ENV, LOCAL_POSTGRES, OFFICIAL_POSTGRES),
    )


def free_port(avoid: Iterable[int] = ()) -> int:
    """A port nobody listens on now, from :data:`PORTS` (fixed for the session: Kafka
    advertises it, and a stopped container must get it back)."""
    taken = set(avoid)
    for _ in range(200):
        port = random.randint(*PORTS)
        if port in taken:
            continue
        try:
            for host in ("0.0.0.0", "127.0.0.1"):  # probing, not serving
                with socket.socket() as s:
                    s.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no free port in {PORTS[0]}-{PORTS[1]}")


def kafka_env(name: str, port: int) -> dict[str, str]:
    """apache/kafka's environment convention (``KAFKA_X_Y`` -> ``x.y``): a single KRaft
    node as ``deploy/local/stack.sh`` configures its own, listening for the host on
    ``port`` (advertised as ``<engine host>:port``) and for the container network on 9092."""
    return {
        "CLUSTER_ID": CLUSTER_ID,
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_LISTENERS": f"PLAINTEXT://:9092,CONTROLLER://:9093,HOST://:{port}",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://{name}:9092,HOST://{engine_host()}:{port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,HOST:PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_INTER_BROKER_LISTENER_NAME": "PLAINTEXT",
        "KAFKA_LOG_DIRS": "/var/lib/kafka/data",
        "KAFKA_NUM_PARTITIONS": "1",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "12",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
        "KAFKA_LOG_CLEANER_MIN_COMPACTION_LAG_MS": "0",
        "KAFKA_HEAP_OPTS": f"-Xms{KAFKA_HEAP} -Xmx{KAFKA_HEAP}",
    }


def postgres_command() -> list[str]:
    """The server's options, as the local stack starts its own (fsync off: tests)."""
    return ["postgres", "-c", "max_connections=300", "-c", "fsync=off"]


# --- who owns a container -----------------------------------------------------------


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" where /proc is missing):
    with the pid it names one process, even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def owner_of(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def owner_alive(owner: str) -> bool:
    """Is the process that labelled a container still running? Another host's owner is
    assumed alive (we cannot tell)."""
    host, _, rest = owner.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return _start_time(pid) == started


def leftovers(labelled: Iterable[Any]) -> list[Any]:
    """The containers (docker-py objects) of test runs whose process is gone."""
    return [c for c in labelled if not owner_alive(c.labels.get(OWNER_LABEL, ""))]


# --- the servers --------------------------------------------------------------------


@dataclass
class ContainerServers:
    kafka_image: str
    postgres_image: str
    kafka_port: int
    postgres_port: int
    admin_url: str
    kafka: Any
    postgres: Any
    session: str
    _closed: bool = field(default=False, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"{engine_host()}:{self.kafka_port}"

    @property
    def description(self) -> str:
        return (
            f"{self.kafka_image} (KRaft) at {self.bootstrap} and {self.postgres_image} at "
            f"{engine_host()}:{self.postgres_port}, containers of session {self.session} "
            f"via {os.environ.get('DOCKER_HOST', 'the default engine')}"
        )

    def stop_kafka(self) -> None:
        self.kafka.get_wrapped_container().stop(timeout=60)

    def start_kafka(self) -> None:
        _restart(self.kafka, KAFKA_STARTED, self.kafka_port)

    def stop_postgres(self) -> None:
        self.postgres.get_wrapped_container().stop(timeout=60)

    def start_postgres(self) -> None:
        _restart(self.postgres, POSTGRES_READY, self.postgres_port)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for c in (self.kafka, self.postgres):
            with contextlib.suppress(Exception):
                c.stop()


def _logs(container: Any) -> str:
    out, err = container.get_logs()
    return str(out.decode(errors="replace") + err.decode(errors="replace"))


def _restart(container: Any, ready: str, port: int, timeout: float = 120.0) -> None:
    """Start a stopped container again; back when it logs ``ready`` once more (its
    logs keep the earlier runs' lines) and its port answers."""
    seen = _logs(container).count(ready)
    container.get_wrapped_container().start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _logs(container).count(ready) > seen and _port_open(port):
            return
        time.sleep(0.2)
    raise TimeoutError(f"{container.image} not ready {timeout:.0f}s after its restart:\n{_logs(container)[-3000:]}")


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((engine_host(), port), timeout=1):
            return True
    except OSError:
        return False


def _bind(container: Any, container_port: int, host_port: int) -> None:
    """Publish on the engine host's loopback only when the engine is local."""
    local = os.environ.get("DOCKER_HOST", "unix://").startswith("unix://")
    container.ports[f"{container_port}/tcp"] = ("127.0.0.1", host_port) if local else host_port


def _kafka(image: str, name: str, port: int, labels: dict[str, str]) -> Any:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    kafka = DockerContainer(
        image, env=kafka_env(name, port), name=name, hostname=name, labels=labels, stop_signal="SIGTERM"
    ).waiting_for(LogMessageWaitStrategy(KAFKA_STARTED))
    _bind(kafka, port, port)
    return kafka


def _postgres(image: str, name: str, port: int, labels: dict[str, str], password: str) -> Any:
    from testcontainers.community.postgres import PostgresContainer

    pg = PostgresContainer(
        image,
        username="postgres",
        password=password,
        dbname="postgres",
        driver=None,
        command=postgres_command(),
        name=name,
        labels=labels,
        stop_signal="SIGINT",  # PostgreSQL's fast shutdown; SIGTERM waits for every client
        shm_size="256m",
    )
    _bind(pg, 5432, port)
    return pg


def _start_on_free_port(make: Callable[[int], Any], avoid: set[int], tries: int = 5) -> tuple[Any, int]:
    """Start a container on a port found free; another one if the engine finds it taken
    after all (someone bound it between the check and the start)."""
    for attempt in range(tries):
        port = free_port(avoid)
        container = make(port)
        try:
            container.start()
            avoid.add(port)
            return container, port
        except Exception as exc:
            with contextlib.suppress(Exception):
                container.stop()
            if attempt == tries - 1 or not re.search(r"address already in use|port is already", str(exc), re.I):
                raise
            avoid.add(port)
    raise AssertionError("unreachable")


def image_check(client: Any) -> Callable[[str], bool]:
    """Does the engine have this image (without pulling it)?"""
    import docker.errors

    def has_image(name: str) -> bool:
        try:
            client.images.get(name)
            return True
        except docker.errors.ImageNotFound:
            return False

    return has_image


def remove_leftovers(client: Any) -> int:
    """Remove the containers earlier test runs on this host left behind (killed runs)."""
    gone = leftovers(client.containers.list(all=True, filters={"label": OWNER_LABEL}))
    for c in gone:
        with contextlib.suppress(Exception):
            c.remove(force=True, v=True)
    return len(gone)


def start() -> ContainerServers:
    """Kafka and PostgreSQL containers for this process (started side by side)."""
    engine_env_defaults()
    import docker

    client = docker.from_env()
    remove_leftovers(client)
    kafka_image, postgres_image = chosen_images(image_check(client))
    session = uuid.uuid4().hex[:10]
    labels = {SESSION_LABEL: session, OWNER_LABEL: owner_of(os.getpid())}
    password = secrets.token_hex(12)
    avoid: set[int] = set()
    with ThreadPoolExecutor(2) as pool:
        k = pool.submit(
            _start_on_free_port, lambda p: _kafka(kafka_image, f"billing-test-kafka-{session}", p, labels), avoid
        )
        pg = pool.submit(
            _start_on_free_port,
            lambda p: _postgres(postgres_image, f"billing-test-postgres-{session}", p, labels, password),
            avoid,
        )
        errors = [f.exception() for f in (k, pg)]
    started = [f.result()[0] for f in (k, pg) if f.exception() is None]
    if any(errors):
        for c in started:
            with contextlib.suppress(Exception):
                c.stop()
        error = next(e for e in errors if e is not None)
        raise RuntimeError(
            f"could not start {kafka_image} and {postgres_image} ({error}); `make images` builds "
            f"{LOCAL_KAFKA} and {LOCAL_POSTGRES}, {KAFKA_IMAGE_ENV} / {POSTGRES_IMAGE_ENV} choose others, "
            "and BILLING_TEST_SERVERS=local uses the local stack instead"
        ) from error
    (kafka, kafka_port), (postgres, postgres_port) = k.result(), pg.result()
    servers = ContainerServers(
        kafka_image,
        postgres_image,
        kafka_port,
        postgres_port,
        f"postgresql://postgres:{password}@{engine_host()}:{postgres_port}/postgres",
        kafka,
        postgres,
        session,
    )
    atexit.register(servers.close)
    return servers
