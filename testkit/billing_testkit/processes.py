"""The one registry of the billing system's processes.

Everything that starts the whole system reads this table: the demo and the tests'
stacks (local processes, :mod:`billing_testkit.local`), the test kit (containers,
:mod:`billing_testkit.containers`), and ``docker-compose.yml`` and the Kubernetes manifests
are held to it by a unit test. A new process is one row here.

A row says what the process is, how it is started (the same ``billing`` command in the
project image and in a virtual environment of the repository), which of its settings
names its HTTP port, how to tell it is ready, whether it scales, and which database it
uses. :func:`environment` makes the settings a process needs from where the servers are.

Kafka and PostgreSQL are not rows: they are the infrastructure every row depends on
(:data:`INFRASTRUCTURE`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["service", "worker", "console", "mail"]

SERVICES: tuple[str, ...] = ("customers", "invoicing", "reminders", "dispatch")
CHANNELS: tuple[str, ...] = ("email", "einvoice", "print")
INFRASTRUCTURE: tuple[str, ...] = ("kafka", "postgres")

MAIL_PORT = 1025
"""The SMTP sink's port (inside a container, and the demo's default on the host)."""


@dataclass(frozen=True)
class Process:
    name: str
    """Its name everywhere: the compose service, the k8s Deployment (``billing-`` less),
    the log file, the container."""
    role: Role
    command: tuple[str, ...]
    """Its argv: ``billing …`` (the project's console script), or ``python -m …`` for the
    mail sink. The same in the image and in a virtual environment."""
    env_prefix: str
    """The prefix of its settings (``CUSTOMERS_`` …); empty for the mail sink."""
    port_setting: str | None
    """The setting naming its HTTP port (``CUSTOMERS_HTTP_PORT`` …); None: a command-line port."""
    container_port: int
    """The port it listens on inside a container (and in compose, k8s)."""
    local_port: int
    """Its port as a local process when the ports are not chosen otherwise (the demo's
    defaults; a second demo on the same machine shifts them all by one offset)."""
    readiness: str
    """An HTTP path answering 200 when ready (``/readyz``), or ``tcp`` (a listening port)."""
    database: str | None = None
    """Whose database it uses (a worker: its service's)."""
    scalable: bool = False
    """Runs as many replicas as wanted (they share their consumer group's partitions)."""
    channel: str | None = None
    after: tuple[str, ...] = field(default=())
    """What must be up before it starts (besides Kafka and PostgreSQL)."""

    @property
    def uses_kafka(self) -> bool:
        return self.role in ("service", "worker")


def _service(name: str, local_port: int) -> Process:
    return Process(
        name=name,
        role="service",
        command=("billing", "serve", name),
        env_prefix=f"{name.upper()}_",
        port_setting=f"{name.upper()}_HTTP_PORT",
        container_port=8000,
        local_port=local_port,
        readiness="/readyz",
        database=name,
    )


def _worker(channel: str, local_port: int) -> Process:
    return Process(
        name=f"dispatch-{channel}",
        role="worker",
        command=("billing", "worker", channel),
        env_prefix="DISPATCH_",
        port_setting="DISPATCH_WORKER_HTTP_PORT",
        container_port=8000,
        local_port=local_port,
        readiness="/readyz",
        database="dispatch",
        scalable=True,
        channel=channel,
        after=("mailcatcher",) if channel == "email" else (),
    )


PROCESSES: tuple[Process, ...] = (
    Process(
        name="mailcatcher",
        role="mail",
        command=("python", "-m", "billing_testkit.smtp_sink", "--port", str(MAIL_PORT), "--folder", "/mail"),
        env_prefix="",
        port_setting=None,
        container_port=MAIL_PORT,
        local_port=MAIL_PORT,
        readiness="tcp",
    ),
    _service("customers", 8001),
    _service("invoicing", 8002),
    _service("reminders", 8003),
    _service("dispatch", 8004),
    _worker("email", 8011),
    _worker("einvoice", 8012),
    _worker("print", 8013),
    Process(
        name="console",
        role="console",
        command=("billing", "console", "serve"),
        env_prefix="CONSOLE_",
        port_setting="CONSOLE_HTTP_PORT",
        container_port=8080,
        local_port=8080,
        readiness="/healthz",
        after=SERVICES,
    ),
)

BY_NAME: Mapping[str, Process] = {p.name: p for p in PROCESSES}


def process(name: str) -> Process:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no process {name!r}; one of {', '.join(BY_NAME)}") from None


def of_role(role: Role) -> tuple[Process, ...]:
    return tuple(p for p in PROCESSES if p.role == role)


@dataclass(frozen=True)
class Endpoints:
    """Where a process finds the others, as seen from where it runs (a container sees
    ``kafka:9092``; a local process ``127.0.0.1:19092``)."""

    kafka_bootstrap: str
    database_urls: Mapping[str, str]
    """Service name -> SQLAlchemy URL (``postgresql+asyncpg://…``) of its own database;
    ``console`` -> the console's (its sessions and sign-in failures), when it has one
    (without it the console keeps them in its process: development only)."""
    credentials_file: str
    """The callers' credentials file (hashes only), as the process sees it."""
    assertion_public_keys_file: str
    """The console's Ed25519 public key(s): the services check its clerk assertions."""
    console_token_file: str
    """The file with the console's own credential (``act-for-clerks`` and the clerk's scopes)."""
    console_assertion_key_file: str
    """The console's Ed25519 private key: it signs each call's clerk assertion."""
    service_urls: Mapping[str, str]
    """Service name -> its HTTP base URL (what the console calls)."""
    smtp_host: str
    smtp_port: int
    einvoice_folder: str
    print_folder: str
    http_host: str = "127.0.0.1"
    mail_from: str = "laskutus@billing.invalid"


def environment(proc: Process, where: Endpoints, port: int) -> dict[str, str]:
    """The settings ``proc`` needs to run against ``where``, listening on ``port``.

    Only what locates it and its peers; tuning (poll intervals, partitions, the reminders
    clock) is the caller's, added under the same prefix."""
    if proc.role == "mail":
        return {}
    p = proc.env_prefix
    env: dict[str, str] = {f"{p}HTTP_HOST": where.http_host}
    if proc.port_setting:
        env[proc.port_setting] = str(port)
    if proc.role == "console":
        env[f"{p}SERVICE_TOKEN_FILE"] = where.console_token_file
        env[f"{p}ACTOR_ASSERTION_KEY_FILE"] = where.console_assertion_key_file
        if where.database_urls.get("console"):
            env[f"{p}DATABASE_URL"] = where.database_urls["console"]
        for service in SERVICES:
            env[f"{p}{service.upper()}_URL"] = where.service_urls[service]
        return env
    assert proc.database is not None
    env |= {
        f"{p}KAFKA_BOOTSTRAP_SERVERS": where.kafka_bootstrap,
        f"{p}DATABASE_URL": where.database_urls[proc.database],
        f"{p}CREDENTIALS_FILE": where.credentials_file,
        f"{p}ACTOR_ASSERTION_PUBLIC_KEYS_FILE": where.assertion_public_keys_file,
    }
    if p == "DISPATCH_":
        env |= {
            f"{p}SMTP_HOST": where.smtp_host,
            f"{p}SMTP_PORT": str(where.smtp_port),
            f"{p}EINVOICE_FOLDER": where.einvoice_folder,
            f"{p}PRINT_FOLDER": where.print_folder,
            f"{p}MAIL_FROM": where.mail_from,
        }
    return env


TEST_HOOKS = ("BILLING_FAILPOINTS", "REMINDERS_TODAY")
"""Settings that exist only for tests; a process refuses them unless ``BILLING_TEST_HOOKS=on``."""


def with_test_hooks(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` plus ``BILLING_TEST_HOOKS=on`` when it sets a test hook (a test system's
    clock or failpoints), so the process accepts it."""
    out = dict(env)
    if any(out.get(name) for name in TEST_HOOKS):
        out["BILLING_TEST_HOOKS"] = "on"
    return out
