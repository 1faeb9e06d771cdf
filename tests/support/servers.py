"""Which real Kafka and PostgreSQL the tests use, in this order:

1. endpoints given in the environment: ``KAFKA_BOOTSTRAP_SERVERS`` and ``DATABASE_URL``
   (a PostgreSQL URL whose role may create databases);
2. testcontainers (Kafka and PostgreSQL modules) when a Docker engine answers;
3. the local stack of ``deploy/local/stack.sh`` (started here if it is not running).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "deploy" / "local" / "stack.sh"
KAFKA_IMAGE = "apache/kafka:4.1.1"
POSTGRES_IMAGE = "postgres:15"


@dataclass
class Servers:
    kind: str
    """'environment', 'testcontainers' or 'local stack'."""
    kafka_bootstrap: str
    admin_url: str
    """postgresql://user:password@host:port/db with CREATEDB (no driver suffix)."""
    description: str
    stop_postgres: Callable[[], None] | None = None
    start_postgres: Callable[[], None] | None = None
    stop_kafka: Callable[[], None] | None = None
    start_kafka: Callable[[], None] | None = None
    _cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for fn in reversed(self._cleanup):
            fn()


def planned_kind() -> str:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("DATABASE_URL"):
        return "environment"
    if docker_answers():
        return "testcontainers"
    return "local stack"


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def start() -> Servers:
    kind = planned_kind()
    if kind == "environment":
        url = _plain_url(os.environ["DATABASE_URL"])
        return Servers(
            kind,
            os.environ["KAFKA_BOOTSTRAP_SERVERS"],
            url,
            f"Kafka at {os.environ['KAFKA_BOOTSTRAP_SERVERS']}, PostgreSQL from DATABASE_URL",
        )
    if kind == "testcontainers":
        return _testcontainers()
    return _local_stack()


def _plain_url(url: str) -> str:
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def _local_stack() -> Servers:
    subprocess.run(["bash", str(STACK), "up"], check=True, cwd=REPO)
    env = _stack_env()
    version = re.search(r"<kafka.version>(.*)</kafka.version>", (STACK.parent / "kafka" / "pom.xml").read_text())
    return Servers(
        "local stack",
        env["KAFKA_BOOTSTRAP_SERVERS"],
        env["BILLING_PG_ADMIN_URL"],
        f"Apache Kafka {version.group(1) if version else '?'} (KRaft) at {env['KAFKA_BOOTSTRAP_SERVERS']}, "
        f"PostgreSQL at {env['BILLING_PG_ADMIN_URL'].rsplit('@', 1)[1]} (deploy/local)",
        stop_postgres=lambda: subprocess.run(["bash", str(STACK), "pg-stop"], check=True, cwd=REPO),
        start_postgres=lambda: subprocess.run(["bash", str(STACK), "pg-start"], check=True, cwd=REPO),
        stop_kafka=lambda: subprocess.run(["bash", str(STACK), "kafka-stop"], check=True, cwd=REPO),
        start_kafka=lambda: subprocess.run(["bash", str(STACK), "kafka-start"], check=True, cwd=REPO),
    )


def _stack_env() -> dict[str, str]:
    out = subprocess.run(["bash", str(STACK), "env"], check=True, cwd=REPO, capture_output=True, text=True).stdout
    env = {}
    for line in out.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = shlex.split(value)[0] if value else ""
    return env


def _testcontainers() -> Servers:  # pragma: no cover - needs a Docker engine
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    pg = PostgresContainer(POSTGRES_IMAGE, driver=None)
    pg.start()
    kafka = KafkaContainer(KAFKA_IMAGE).with_kraft()
    kafka.start()
    servers = Servers(
        "testcontainers",
        kafka.get_bootstrap_server(),
        pg.get_connection_url(),
        f"{KAFKA_IMAGE} and {POSTGRES_IMAGE} containers",
        stop_postgres=lambda: pg.get_wrapped_container().stop(),
        start_postgres=lambda: pg.get_wrapped_container().start(),
    )
    servers._cleanup += [pg.stop, kafka.stop]
    return servers
