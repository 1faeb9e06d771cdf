"""``docker-compose.yml`` and the Kubernetes manifests (``deploy/k8s``) held to the one
registry of the system's processes (``billing_testkit.processes``): every process there
runs the registry's command on its container port, answers its readiness path, and gets
every setting the registry's :func:`environment` names; and nothing runs in them that is
neither a registry process nor infrastructure (or a one-shot helper named here).

Each check returns its problems, one line each, so a failure lists everything that
differs, not the first thing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from billing_testkit.processes import INFRASTRUCTURE, PROCESSES, SERVICES, Endpoints, Process, environment

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
COMPOSE_HELPERS = {"migrate", "dispatch-folders", "credentials"}
"""One-shot services of compose that are neither infrastructure nor registry processes:
the migrations the others wait for, the drop folders' owner on a new volume, the
callers' credentials made on a new volume."""
IN_K8S = [p for p in PROCESSES if p.role != "mail"]
"""Kubernetes sends mail through a real relay (dispatch-config): no mail catcher there."""

WHERE = Endpoints(
    kafka_bootstrap="kafka:9092",
    database_urls={s: f"postgresql+asyncpg://{s}@postgres/{s}" for s in (*SERVICES, "console")},
    credentials_file="/run/billing/auth/credentials.json",
    assertion_public_keys_file="/run/billing/auth/actor-assertion-public.pem",
    console_token_file="/run/billing/console/service-token",
    console_assertion_key_file="/run/billing/console/actor-assertion-private.pem",
    service_urls={s: f"http://{s}:8000" for s in SERVICES},
    smtp_host="mailcatcher",
    smtp_port=1025,
    einvoice_folder="/data/einvoice",
    print_folder="/data/print",
)


def setting_names(proc: Process) -> set[str]:
    """The variables the registry gives ``proc`` (what locates it and its peers)."""
    return set(environment(proc, WHERE, proc.container_port))


# --- docker-compose.yml ------------------------------------------------------------------


def compose_services(path: Path = REPO / "docker-compose.yml") -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = yaml.safe_load(path.read_text())["services"]
    return services


def compose_env(entry: dict[str, Any], folder: Path = REPO) -> dict[str, str]:
    """A compose service's environment: ``environment`` (mapping or list, anchors merged)
    and the ``env_file`` files the repository has."""
    env: dict[str, str] = {}
    files = entry.get("env_file") or []
    for item in [files] if isinstance(files, str | dict) else files:
        path = folder / (item["path"] if isinstance(item, dict) else item)
        if path.is_file():
            for line in path.read_text().splitlines():
                if "=" in line and not line.lstrip().startswith("#"):
                    key, _, value = line.partition("=")
                    env[key.strip()] = value.strip()
    raw = entry.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    env.update({k: "" if v is None else str(v) for k, v in raw.items()})
    return env


def container_ports(entry: dict[str, Any]) -> list[int]:
    """The container side of each published port (``"127.0.0.1:8001:8000"`` -> 8000)."""
    ports = []
    for item in entry.get("ports") or []:
        if isinstance(item, dict):
            ports.append(int(item["target"]))
        else:
            ports.append(int(str(item).rsplit(":", 1)[-1].split("/")[0]))
    return ports


def healthcheck_text(entry: dict[str, Any]) -> str:
    test = (entry.get("healthcheck") or {}).get("test") or ""
    return " ".join(test) if isinstance(test, list) else str(test)


def compose_problems(services: dict[str, dict[str, Any]], folder: Path = REPO) -> list[str]:
    problems = []
    for proc in PROCESSES:
        entry = services.get(proc.name)
        if entry is None:
            problems.append(f"{proc.name}: no compose service")
            continue
        if proc.role != "mail" and entry.get("command") != list(proc.command):
            problems.append(f"{proc.name}: command {entry.get('command')} is not the registry's {list(proc.command)}")
        env = compose_env(entry, folder)
        missing = sorted(setting_names(proc) - set(env))
        if missing:
            problems.append(f"{proc.name}: not set: {', '.join(missing)}")
        if proc.port_setting and env.get(proc.port_setting) != str(proc.container_port):
            got = env.get(proc.port_setting)
            problems.append(f"{proc.name}: {proc.port_setting} is {got!r}, not {proc.container_port}")
        if proc.role != "mail" and any(p != proc.container_port for p in container_ports(entry)):
            problems.append(f"{proc.name}: publishes {container_ports(entry)}, its port is {proc.container_port}")
        if proc.scalable and (entry.get("ports") or entry.get("container_name")):
            problems.append(f"{proc.name}: scales, so no host port and no container name")
        health = healthcheck_text(entry)
        want = str(proc.container_port) if proc.readiness == "tcp" else f":{proc.container_port}{proc.readiness}"
        if want not in health:
            problems.append(f"{proc.name}: no healthcheck on {want} (readiness {proc.readiness})")
        if proc.channel == "email":
            smtp = (env.get("DISPATCH_SMTP_HOST"), env.get("DISPATCH_SMTP_PORT"))
            mail = next(p for p in PROCESSES if p.role == "mail")
            if smtp != (mail.name, str(mail.container_port)):
                problems.append(f"{proc.name}: sends to {smtp}, not the mail catcher {mail.name}:{mail.container_port}")
    known = {p.name for p in PROCESSES} | set(INFRASTRUCTURE) | COMPOSE_HELPERS
    problems += [f"{name}: in compose, not in the registry" for name in services if name not in known]
    return problems


def test_compose_runs_the_registry() -> None:
    assert compose_problems(compose_services()) == []


# --- deploy/k8s ----------------------------------------------------------------------------


def k8s_documents(folder: Path = K8S) -> list[dict[str, Any]]:
    docs = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def k8s_problems(docs: list[dict[str, Any]]) -> list[str]:
    problems = []
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    deployments = by_kind.get("Deployment", {})
    config_maps = by_kind.get("ConfigMap", {})
    for proc in IN_K8S:
        dep = deployments.get(proc.name)
        if dep is None:
            problems.append(f"{proc.name}: no Deployment")
            continue
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        if container.get("command") != list(proc.command):
            problems.append(f"{proc.name}: command {container.get('command')} is not the registry's")
        named = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        if list(named.values()) != [proc.container_port]:
            problems.append(f"{proc.name}: container ports {list(named.values())}, its port is {proc.container_port}")
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        for source in container.get("envFrom", []):
            ref = source.get("configMapRef", {}).get("name")
            env |= {k: str(v) for k, v in config_maps.get(ref, {}).get("data", {}).items()}
        missing = sorted(setting_names(proc) - set(env))
        if missing:
            problems.append(f"{proc.name}: not set: {', '.join(missing)}")
        if proc.port_setting and env.get(proc.port_setting) != str(proc.container_port):
            got = env.get(proc.port_setting)
            problems.append(f"{proc.name}: {proc.port_setting} is {got!r}, not {proc.container_port}")
        probe = (container.get("readinessProbe") or {}).get("httpGet") or {}
        port = named.get(probe.get("port"), probe.get("port"))
        if (probe.get("path"), port) != (proc.readiness, proc.container_port):
            problems.append(f"{proc.name}: readiness probe {probe.get('path')} on {port}, not {proc.readiness}")
        if proc.scalable and "replicas" in dep["spec"]:
            problems.append(f"{proc.name}: scales (its ScaledObject sets the count), yet replicas is set")
        if proc.role in ("service", "console"):
            selector = dep["spec"]["selector"]["matchLabels"]
            if not any(s["spec"].get("selector") == selector for s in by_kind.get("Service", {}).values()):
                problems.append(f"{proc.name}: no Service in front of it")
    known = {p.name for p in IN_K8S}
    problems += [f"Deployment {name}: not in the registry" for name in deployments if name not in known]
    return problems


def test_k8s_runs_the_registry() -> None:
    assert k8s_problems(k8s_documents()) == []


# --- the checks catch what they are for ---------------------------------------------------


def current_compose() -> dict[str, dict[str, Any]]:
    return compose_services()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda s: s.pop("reminders"), "reminders: no compose service"),
        (lambda s: s["dispatch-print"].update(command=["billing", "worker", "paper"]), "dispatch-print: command"),
        (
            lambda s: s["customers"]["environment"].pop("CUSTOMERS_CREDENTIALS_FILE"),
            "customers: not set: CUSTOMERS_CREDENTIALS_FILE",
        ),
        (lambda s: s["invoicing"]["environment"].update(INVOICING_HTTP_PORT="8001"), "INVOICING_HTTP_PORT is '8001'"),
        (lambda s: s["dispatch-email"].update(ports=["8011:8000"]), "dispatch-email: scales"),
        (lambda s: s.update(billing={"command": ["billing"]}), "billing: in compose, not in the registry"),
    ],
)
def test_a_compose_file_that_strays_from_the_registry_is_caught(edit: Any, expected: str) -> None:
    services = current_compose()
    services.setdefault("customers", {}).setdefault("environment", {})
    services.setdefault("invoicing", {}).setdefault("environment", {})
    before = compose_problems(services)
    edit(services)
    assert [p for p in compose_problems(services) if p not in before and expected in p]


@pytest.mark.parametrize(
    ("name", "path", "value", "expected"),
    [
        ("customers", ("readinessProbe", "httpGet", "path"), "/healthz", "customers: readiness probe /healthz"),
        ("dispatch-print", ("command",), ["billing", "worker", "paper"], "dispatch-print: command"),
        ("invoicing", ("ports",), [{"name": "http", "containerPort": 9000}], "invoicing: container ports [9000]"),
    ],
)
def test_manifests_that_stray_from_the_registry_are_caught(
    name: str, path: tuple[str, ...], value: Any, expected: str
) -> None:
    docs = k8s_documents()
    before = k8s_problems(docs)
    (dep,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == name]
    target = dep["spec"]["template"]["spec"]["containers"][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert [p for p in k8s_problems(docs) if p not in before and expected in p]
