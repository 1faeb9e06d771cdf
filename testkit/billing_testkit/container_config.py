"""What the kit's containers are told: the images, Kafka's listeners, the databases,
each process's settings with container endpoints (pure: no engine needed)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from billing_testkit.credentials import (
    ASSERTION_PRIVATE_KEY,
    ASSERTION_PUBLIC_KEYS,
    CONSOLE,
    CREDENTIALS_FILE,
    TOKEN_FILE_PREFIX,
    Issued,
)
from billing_testkit.infrastructure import LOCAL_KAFKA, LOCAL_POSTGRES, kafka_env
from billing_testkit.processes import MAIL_PORT, SERVICES, Endpoints, Process


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass(frozen=True)
class Images:
    """The images the system runs from; each overridable by argument or environment."""

    billing: str = field(default_factory=lambda: _env("BILLING_TESTKIT_IMAGE", "local/billing:dev"))
    kafka: str = field(default_factory=lambda: _env("BILLING_TESTKIT_KAFKA_IMAGE", LOCAL_KAFKA))
    postgres: str = field(default_factory=lambda: _env("BILLING_TESTKIT_POSTGRES_IMAGE", LOCAL_POSTGRES))
    mail: str = field(default_factory=lambda: _env("BILLING_TESTKIT_MAIL_IMAGE", "local/smtp-sink:dev"))

    def all(self) -> tuple[str, ...]:
        return (self.billing, self.kafka, self.postgres, self.mail)


def tuning(proc: Process, *, auto_send: Iterable[str] = ()) -> dict[str, str]:
    """Settings that make a test system quick to answer (not what locates anything)."""
    if proc.role in ("mail", "console"):
        return {}
    p = proc.env_prefix
    env = {f"{p}JOBS_POLL_INTERVAL_S": "0.2", f"{p}KAFKA_CHANNEL_PARTITIONS": "3", f"{p}KAFKA_PARTITIONS": "3"}
    if p == "INVOICING_":
        env[f"{p}DAILY_RUN_ENABLED"] = "false"  # the test (the clerk) runs the day
    if p == "DISPATCH_":
        env |= {
            f"{p}AUTO_SEND": "[" + ",".join(f'"{c}"' for c in sorted(auto_send)) + "]",
            f"{p}SEND_TRACK_INTERVAL_S": "0.2",
            f"{p}RETRY_POLL_INTERVAL_S": "0.5",
            f"{p}RETRY_BASE_S": "0.5",
            f"{p}PRINT_CLOSE_INTERVAL_S": "0.2",
        }
    return env


def kafka_environment(host_port: int) -> dict[str, str]:
    """Kafka's settings (:func:`billing_testkit.infrastructure.kafka_env`): a single KRaft
    node, ``kafka:9092`` for the network, ``127.0.0.1:<host_port>`` for the host."""
    return kafka_env(host_port)


DATABASES: tuple[str, ...] = (*SERVICES, "console")
"""One database per service, and the console's own (its sessions and sign-in failures)."""


def database_sql(password: str) -> list[str]:
    """One role and one database per service and the console's (as deploy/docker/postgres-init.sh)."""
    out: list[str] = []
    for s in DATABASES:
        out += [f"CREATE ROLE {s} LOGIN PASSWORD '{password}'", f"CREATE DATABASE {s} OWNER {s}"]
    return out


AUTH_DIR = "/run/billing-auth"
"""Where a process container sees the credentials files it needs (read-only), each
mounted on its own: :func:`auth_mounts`."""


def auth_mounts(proc: Process, issued: Issued) -> dict[str, str]:
    """The files of :func:`billing_testkit.credentials.issue` that ``proc`` needs, host path
    -> path in its container (read-only), and no other: a service or worker the
    credentials file (hashes only) and the console's public key; the console its own token
    and its private key. No container sees another caller's token.

    Each file is bind-mounted on its own, so it is the file as it was when the container
    started (a file replaced by rename afterwards is not seen; the kit writes them once)."""
    if proc.role == "console":
        files = {
            issued.token_file(CONSOLE): f"{AUTH_DIR}/{TOKEN_FILE_PREFIX}{CONSOLE}",
            issued.assertion_private_key: f"{AUTH_DIR}/{ASSERTION_PRIVATE_KEY}",
        }
    elif proc.role in ("service", "worker"):
        files = {
            issued.credentials_file: f"{AUTH_DIR}/{CREDENTIALS_FILE}",
            issued.assertion_public_keys: f"{AUTH_DIR}/{ASSERTION_PUBLIC_KEYS}",
        }
    else:
        files = {}
    return {str(host): inside for host, inside in files.items()}


def container_endpoints(db_password: str) -> Endpoints:
    """Where a process finds the others inside the network (aliases = process names)."""
    return Endpoints(
        kafka_bootstrap="kafka:9092",
        database_urls={s: f"postgresql+asyncpg://{s}:{db_password}@postgres:5432/{s}" for s in DATABASES},
        credentials_file=f"{AUTH_DIR}/{CREDENTIALS_FILE}",
        assertion_public_keys_file=f"{AUTH_DIR}/{ASSERTION_PUBLIC_KEYS}",
        console_token_file=f"{AUTH_DIR}/{TOKEN_FILE_PREFIX}{CONSOLE}",
        console_assertion_key_file=f"{AUTH_DIR}/{ASSERTION_PRIVATE_KEY}",
        service_urls={s: f"http://{s}:8000" for s in SERVICES},
        smtp_host="mailcatcher",
        smtp_port=MAIL_PORT,
        einvoice_folder="/data/einvoice",
        print_folder="/data/print",
        http_host="0.0.0.0",  # noqa: S104 (inside its container, published by port mapping)
    )
