"""Kafka and PostgreSQL for the tests as containers, started with the test kit's
:mod:`billing_testkit.infrastructure` (the kit's own backend starts them the same way);
what is here is the tests' own: image choice, settings, session ownership.

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
import os
import secrets
import socket
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from billing_testkit import infrastructure as infra
from billing_testkit.infrastructure import (
    KAFKA_STARTED,
    LOCAL_KAFKA,
    LOCAL_POSTGRES,
    POSTGRES_READY,
    SOCKETS,
    engine_env_defaults,
    engine_host,
    free_port,
    image_check,
)

__all__ = [
    "KAFKA_STARTED",
    "LOCAL_KAFKA",
    "LOCAL_POSTGRES",
    "POSTGRES_READY",
    "SOCKETS",
    "engine_env_defaults",
    "engine_host",
    "free_port",
    "image_check",
]

OFFICIAL_KAFKA = "apache/kafka:4.1.1"
OFFICIAL_POSTGRES = "postgres:15"
KAFKA_IMAGE_ENV = "BILLING_TEST_KAFKA_IMAGE"
POSTGRES_IMAGE_ENV = "BILLING_TEST_POSTGRES_IMAGE"

SESSION_LABEL = "billing.test-session"
OWNER_LABEL = "billing.test-owner"
KAFKA_HEAP = "768m"
CLUSTER_ID = "YmlsbGluZy10ZXN0cy0wMQ"
"""Any 22-character base64 UUID; fixed, so a restarted container finds its own storage."""
START_TIMEOUT_S = 120.0


def chosen_images(has_image: Callable[[str], bool]) -> tuple[str, str]:
    """(Kafka image, PostgreSQL image): the environment's, else the ones built here, else
    the official ones."""

    def pick(env: str, local: str, official: str) -> str:
        return os.environ.get(env) or (local if has_image(local) else official)

    return (
        pick(KAFKA_IMAGE_ENV, LOCAL_KAFKA, OFFICIAL_KAFKA),
        pick(POSTGRES_IMAGE_ENV, LOCAL_POSTGRES, OFFICIAL_POSTGRES),
    )


def kafka_env(name: str, port: int) -> dict[str, str]:
    """The kit's single KRaft node (:func:`billing_testkit.infrastructure.kafka_env`), set
    as ``deploy/local/stack.sh`` configures its own, listening for the host on ``port``
    (advertised as ``<engine host>:port``) and for the container network on 9092."""
    return infra.kafka_env(port, alias=name, host=engine_host()) | {
        "CLUSTER_ID": CLUSTER_ID,
        "KAFKA_LOG_DIRS": "/var/lib/kafka/data",
        "KAFKA_NUM_PARTITIONS": "1",
        "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "12",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
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


def remove_leftovers(client: Any) -> int:
    """Remove the containers earlier test runs on this host left behind (killed runs)."""
    return infra.remove_labelled(client, OWNER_LABEL, only=lambda c: bool(leftovers([c])), networks=False)


# --- the servers --------------------------------------------------------------------


@dataclass
class ContainerServers:
    kafka_image: str
    postgres_image: str
    admin_url: str
    kafka: infra.Server
    postgres: infra.Server
    session: str
    _closed: bool = field(default=False, repr=False)

    @property
    def kafka_port(self) -> int:
        return self.kafka.port

    @property
    def postgres_port(self) -> int:
        return self.postgres.port

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
        self.kafka.stop()

    def start_kafka(self) -> None:
        self.kafka.start()

    def stop_postgres(self) -> None:
        self.postgres.stop()

    def start_postgres(self) -> None:
        self.postgres.start()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for server in (self.kafka, self.postgres):
            server.remove()


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
    kafka_name = f"billing-test-kafka-{session}"
    try:
        kafka, postgres = infra.start_servers(
            [
                infra.kafka(kafka_image, name=kafka_name, labels=labels, env=lambda p: kafka_env(kafka_name, p)),
                infra.postgres(
                    postgres_image,
                    name=f"billing-test-postgres-{session}",
                    labels=labels,
                    password=password,
                    command=postgres_command(),
                ),
            ],
            START_TIMEOUT_S,
        )
    except Exception as error:
        raise RuntimeError(
            f"could not start {kafka_image} and {postgres_image} ({error}); `make images` builds "
            f"{LOCAL_KAFKA} and {LOCAL_POSTGRES}, {KAFKA_IMAGE_ENV} / {POSTGRES_IMAGE_ENV} choose others, "
            "and BILLING_TEST_SERVERS=local uses the local stack instead"
        ) from error
    servers = ContainerServers(
        kafka_image,
        postgres_image,
        f"postgresql://postgres:{password}@{engine_host()}:{postgres.port}/postgres",
        kafka,
        postgres,
        session,
    )
    atexit.register(servers.close)
    return servers
