"""Which real Kafka and PostgreSQL the tests use, in this order:

1. endpoints given in the environment: ``KAFKA_BOOTSTRAP_SERVERS`` and ``DATABASE_URL``
   (a PostgreSQL URL whose role may create databases);
2. containers started with testcontainers when a container engine answers (``DOCKER_HOST``,
   else ``/var/run/docker.sock``): ``local/kafka:4.1.1`` and ``local/postgres:15`` built by
   ``make images``, else ``apache/kafka:4.1.1`` and ``postgres:15``; the variables
   ``BILLING_TEST_KAFKA_IMAGE`` / ``BILLING_TEST_POSTGRES_IMAGE`` name others
   (``tests/support/containers.py``);
3. the local stack of ``deploy/local/stack.sh`` (started here if it is not running).

``BILLING_TEST_SERVERS`` forces one of them: ``environment``, ``containers`` or ``local``
(e.g. the local stack on a machine whose engine answers); unset or ``auto``: the order above.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import containers

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "deploy" / "local" / "stack.sh"
SWITCH = "BILLING_TEST_SERVERS"
KINDS = {"environment": "environment", "containers": "testcontainers", "local": "local stack"}


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
    templates: dict[str, str] = field(default_factory=dict)
    """Service -> the database its migrations made once (``tests.support.isolation``)."""
    _cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for fn in reversed(self._cleanup):
            fn()


def planned_kind() -> str:
    """'environment', 'testcontainers' or 'local stack' (see the module's docstring)."""
    forced = os.environ.get(SWITCH, "auto").strip().lower() or "auto"
    if forced not in (*KINDS, "auto"):
        raise ValueError(f"{SWITCH}={forced!r}: say one of {', '.join(KINDS)} or auto")
    if forced != "auto":
        return KINDS[forced]
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("DATABASE_URL"):
        return "environment"
    if docker_answers():
        return "testcontainers"
    return "local stack"


def planned_description() -> str:
    """The planned kind and, for containers, the images (the test run's header)."""
    kind = planned_kind()
    if kind != "testcontainers":
        return kind
    try:
        import docker

        client = docker.from_env(timeout=5)
        images = containers.chosen_images(containers.image_check(client))
    except Exception as exc:
        return f"{kind} (images unknown: {exc})"
    return f"{kind} ({images[0]}, {images[1]} via {os.environ.get('DOCKER_HOST')})"


def docker_answers() -> bool:
    containers.engine_env_defaults()
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def start() -> Servers:
    kind = planned_kind()
    if kind == "environment":
        if not (os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("DATABASE_URL")):
            raise RuntimeError(f"{SWITCH}=environment needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL")
        url = _plain_url(os.environ["DATABASE_URL"])
        return Servers(
            kind,
            os.environ["KAFKA_BOOTSTRAP_SERVERS"],
            url,
            f"Kafka at {os.environ['KAFKA_BOOTSTRAP_SERVERS']}, PostgreSQL from DATABASE_URL",
        )
    if kind == "testcontainers":
        if not docker_answers():
            where = os.environ.get("DOCKER_HOST")
            raise RuntimeError(f"{SWITCH}=containers, but no container engine answers at {where}")
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


def _testcontainers() -> Servers:
    started = containers.start()
    servers = Servers(
        "testcontainers",
        started.bootstrap,
        started.admin_url,
        started.description,
        stop_postgres=started.stop_postgres,
        start_postgres=started.start_postgres,
        stop_kafka=started.stop_kafka,
        start_kafka=started.start_kafka,
    )
    servers._cleanup.append(started.close)
    return servers
