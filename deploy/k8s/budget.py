"""The PostgreSQL connection budget of deploy/k8s, computed from the manifests and the
settings (README "Connections"; ``tests/unit/test_connection_budget.py`` holds the README
table to it).

Every connection a process opens comes from its one SQLAlchemy engine
(``shared.db.engine.make_engine``): requests, consumer batches, the outbox relay's
leader lock (``shared/messaging/outbox.py``), each running job's lock and chunk
(``shared/jobs/runner.py``), a channel worker's lease (``services/dispatch/lease.py``).
So a process holds at most ``database_pool_size + database_max_overflow``; the dedicated
connections are part of that cap and what is left of it serves everything else.

A Deployment's pods at most: a scaled one's ``maxReplicaCount`` (its ScaledObject), else
``replicas``, plus the rolling update's ``maxSurge``. The pre-deploy Jobs run before
the Deployments roll (one connection: ``billing migrate all`` migrates one database at a
time, the console's too); ``billing topics`` uses none. The console's pool
(``CONSOLE_DATABASE_POOL_SIZE`` + ``CONSOLE_DATABASE_MAX_OVERFLOW``, its own database:
sessions and sign-in failures) holds no dedicated connection.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from pydantic_settings import BaseSettings

from billing_cli.services import SERVICES

MAX_CONNECTIONS = 500
"""PostgreSQL's ``max_connections`` this budget is written for (the managed server's setting)."""
SUPERUSER_RESERVED = 3
"""``superuser_reserved_connections`` (PostgreSQL's default): not usable by the services."""
OPERATIONS_RESERVE = 20
"""Kept free for people and tools: psql, backups, monitoring, a pod still stopping in a rollout."""
JOB_CONNECTIONS = {"billing-migrate": 1, "billing-topics": 0}


@dataclass(frozen=True)
class Row:
    deployment: str
    role: str  # service | worker | console
    pods: int  # at most, in a rollout at the largest scale
    pool_size: int
    max_overflow: int
    dedicated: int  # relay lock + job locks and chunks + a worker's lease

    @property
    def per_pod(self) -> int:
        return self.pool_size + self.max_overflow

    @property
    def total(self) -> int:
        return self.pods * self.per_pod


def _settings_class(service: str) -> type[BaseSettings]:
    if service == "console":
        from console.config import ConsoleSettings

        return ConsoleSettings
    cls: type[BaseSettings] = importlib.import_module(f"services.{service}.config").Settings
    return cls


def _env(container: dict[str, Any], name: str, default: int) -> int:
    for env in container.get("env", []):
        if env["name"] == name:
            return int(env["value"])
    return default


def rows(docs: list[dict[str, Any]]) -> list[Row]:
    """One row per Deployment that uses the database, in the manifests' order."""
    scaled = {
        d["spec"]["scaleTargetRef"]["name"]: d["spec"]["maxReplicaCount"] for d in docs if d["kind"] == "ScaledObject"
    }
    out = []
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        (container,) = doc["spec"]["template"]["spec"]["containers"]
        command = container["command"]
        if command[:2] == ["billing", "serve"]:
            service, role = command[2], "service"
        elif command[:2] == ["billing", "worker"]:
            service, role = "dispatch", "worker"
        elif command == ["billing", "console", "serve"]:
            service, role = "console", "console"
        else:
            continue  # no such command: rules.deployments says so
        if service not in (*SERVICES, "console"):
            continue  # no such service: rules.deployments says so
        name = doc["metadata"]["name"]
        fields = _settings_class(service).model_fields
        prefix = f"{service.upper()}_"

        def setting(
            field: str, fields: dict[str, Any] = fields, prefix: str = prefix, container: dict[str, Any] = container
        ) -> int:
            return _env(container, f"{prefix}{field.upper()}", int(fields[field].default))

        jobs = setting("jobs_max_concurrent") if role != "console" else 0
        surge = doc["spec"].get("strategy", {}).get("rollingUpdate", {}).get("maxSurge", "25%")
        if not isinstance(surge, int):
            raise ValueError(f"Deployment {name}: maxSurge must be a number for the budget, not {surge!r}")
        pods = (scaled[name] if name in scaled else doc["spec"]["replicas"]) + surge
        out.append(
            Row(
                deployment=name,
                role=role,
                pods=pods,
                pool_size=setting("database_pool_size"),
                max_overflow=setting("database_max_overflow"),
                # the relay's lock, each job's lock and chunk, a worker's lease; the console none
                dedicated=0 if role == "console" else 1 + 2 * jobs + (1 if role == "worker" else 0),
            )
        )
    return out


def jobs_total(docs: list[dict[str, Any]]) -> int:
    return sum(JOB_CONNECTIONS[d["metadata"]["name"]] for d in docs if d["kind"] == "Job")


def available() -> int:
    return MAX_CONNECTIONS - SUPERUSER_RESERVED - OPERATIONS_RESERVE


def table(docs: list[dict[str, Any]]) -> str:
    """The README's table (markdown), every number computed here."""
    lines = [
        "| Deployment | pods at most | pool + overflow per pod | of which dedicated | connections |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    all_rows = rows(docs)
    for r in all_rows:
        lines.append(
            f"| {r.deployment} ({r.role}) | {r.pods} | {r.pool_size} + {r.max_overflow} = {r.per_pod} "
            f"| {r.dedicated} | {r.total} |"
        )
    jobs = jobs_total(docs)
    used = sum(r.total for r in all_rows) + jobs
    lines += [
        f"| billing-migrate (Job, before the rollout) | 1 | 1 | - | {jobs} |",
        f"| **total** | | | | **{used}** |",
        f"| PostgreSQL `max_connections` {MAX_CONNECTIONS} - `superuser_reserved_connections` {SUPERUSER_RESERVED}"
        f" - operations reserve {OPERATIONS_RESERVE} | | | | {available()} |",
        f"| **spare** | | | | **{available() - used}** |",
    ]
    return "\n".join(lines)


def problems(docs: list[dict[str, Any]]) -> list[str]:
    """The budget fits the server, and each pod's cap leaves room beyond its dedicated
    connections (requests and consumer batches would wait on the pool otherwise)."""
    found = []
    all_rows = rows(docs)
    for r in all_rows:
        if r.per_pod < r.dedicated + 2:
            found.append(
                f"Deployment {r.deployment}: pool {r.per_pod} leaves < 2 connections beyond its {r.dedicated} dedicated"
            )
    used = sum(r.total for r in all_rows) + jobs_total(docs)
    if used > available():
        found.append(f"connection budget {used} exceeds the {available()} PostgreSQL connections available")
    return found
