"""The project's own rules on deploy/k8s (run by ``validate.py``): what ties the manifests
to the code, and the production standard every pod meets. Each function returns its
problems, one line each."""

from __future__ import annotations

import importlib
import json
import tomllib
from pathlib import Path
from typing import Any

import typer
from pydantic_settings import BaseSettings

from billing_cli.services import SERVICES
from console.config import ConsoleSettings
from shared.events.topics import CHANNEL_JOBS
from shared.settings import ServiceSettings

SECRET = "billing-secrets"  # noqa: S105 (a name, not a password)
"""Created by ops (kubectl create secret, see kustomization.yaml), never written here."""
IMAGE = "billing-backoffice"
UID = 10001  # the image's user (Dockerfile)
PREFIXES = {f"{s.upper()}_": s for s in SERVICES}
KAFKA_AUTH = set(
    json.loads((Path(__file__).parent / "schemas/triggerauthentication_v1alpha1.json").read_text())["$defs"][
        "kafkaParameters"
    ]["enum"]
)
"""The kafka scaler's authentication parameters (KEDA's documentation)."""

Kinds = dict[str, dict[str, dict[str, Any]]]


def settings_fields(service: str) -> set[str]:
    cls: type[BaseSettings] = (
        ConsoleSettings if service == "console" else importlib.import_module(f"services.{service}.config").Settings
    )
    prefix = str(cls.model_config.get("env_prefix") or "")
    return {f"{prefix}{name}".upper() for name in cls.model_fields}


def pod(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod(doc).get("containers", []))


def _prefixes(container: dict[str, Any]) -> set[str]:
    return {p for e in container.get("env", []) for p in PREFIXES if e["name"].startswith(p)}


def cli_problems(command: list[str]) -> str | None:
    """None when ``command`` is a command of ``bin/billing`` with valid arguments."""
    from billing_cli.main import app

    if command[:1] != ["billing"]:
        return f"{command} is not the billing command line"
    node: Any = typer.main.get_command(app)  # a click command (typer carries its own click)
    args = command[1:]
    while hasattr(node, "commands") and args and args[0] in node.commands:
        node = node.commands[args.pop(0)]
    if hasattr(node, "commands"):
        return f"{' '.join(command)}: no such command of billing"
    try:
        node.make_context(node.name or "billing", list(args))
    except Exception as exc:  # click's usage errors: an unknown option, a missing argument
        return f"{' '.join(command)}: {exc}"
    return None


def pod_standard(kind: str, name: str, doc: dict[str, Any]) -> list[str]:
    """Every pod: restricted security, no service-account token, bounded resources, /tmp."""
    where = f"{kind} {name}"
    spec = pod(doc)
    problems = []
    if spec.get("automountServiceAccountToken") is not False:
        problems.append(f"{where}: automountServiceAccountToken must be false")
    sc = spec.get("securityContext", {})
    if sc.get("runAsNonRoot") is not True or sc.get("runAsUser") != UID:
        problems.append(f"{where}: the pod must run as non-root uid {UID}")
    if sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append(f"{where}: the pod's seccompProfile must be RuntimeDefault")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for c in spec.get("containers", []):
        csc = c.get("securityContext", {})
        if csc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: {c['name']}: allowPrivilegeEscalation must be false")
        if csc.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append(f"{where}: {c['name']}: capabilities must drop ALL")
        if csc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: {c['name']}: readOnlyRootFilesystem must be true")
        tmp = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/tmp"]  # noqa: S108 (a mount path)
        if not tmp or "emptyDir" not in volumes.get(tmp[0]["name"], {}):
            problems.append(f"{where}: {c['name']}: /tmp must be an emptyDir (the root file system is read-only)")
        res = c.get("resources", {})
        for part in ("requests", "limits"):
            missing = {"cpu", "memory"} - set(res.get(part, {}))
            if missing:
                problems.append(f"{where}: {c['name']}: resources.{part} lacks {', '.join(sorted(missing))}")
        image = c.get("image", "")
        if image != IMAGE:
            problems.append(f"{where}: image {image!r}: write {IMAGE!r}, its version is set in kustomization.yaml")
        for prefix in _prefixes(c):
            mode = [e.get("value") for e in c.get("env", []) if e["name"] == f"{prefix}MODE"]
            if mode != ["production"]:
                problems.append(f"{where}: {prefix}MODE must be production")
        for prefix in [*_prefixes(c), *(["CONSOLE_"] if c.get("command") == ["billing", "console", "serve"] else [])]:
            log_format = [e.get("value") for e in c.get("env", []) if e["name"] == f"{prefix}LOG_FORMAT"]
            if log_format != ["json"]:
                problems.append(f"{where}: {prefix}LOG_FORMAT must be json (one object per line for the log collector)")
    return problems


def probes(name: str, container: dict[str, Any], readiness: str) -> list[str]:
    problems = []
    want = {"livenessProbe": "/healthz", "readinessProbe": readiness, "startupProbe": "/healthz"}
    for probe, path in want.items():
        spec = container.get(probe)
        if spec is None:
            problems.append(f"Deployment {name}: no {probe}")
            continue
        if spec.get("httpGet", {}).get("path") != path:
            problems.append(f"Deployment {name}: {probe} must ask {path}")
        for field in ("timeoutSeconds", "periodSeconds", "failureThreshold"):
            if field not in spec:
                problems.append(f"Deployment {name}: {probe} has no explicit {field}")
    return problems


START_MARGIN_S = 30
"""What a start needs besides the numbering check: the schema and topics checks."""


def startup_budget(name: str, service: str, container: dict[str, Any]) -> list[str]:
    """The invoicing startupProbe outlasts the numbering check's whole budget, so a start
    that cannot read the invoice log fails with its error logged, not killed silently."""
    if service != "invoicing":
        return []
    field = "numbering_check_timeout_s"
    env = f"INVOICING_{field.upper()}"
    budget = importlib.import_module("services.invoicing.config").Settings.model_fields[field].default
    for entry in container.get("env", []):
        if entry["name"] == env and "value" in entry:
            budget = float(entry["value"])
    probe = container.get("startupProbe") or {}
    window = int(probe.get("periodSeconds", 10)) * int(probe.get("failureThreshold", 3))
    if window <= budget + START_MARGIN_S:
        return [
            f"Deployment {name}: startupProbe allows {window}s (periodSeconds x failureThreshold), "
            f"not more than {env} {budget:g}s + {START_MARGIN_S}s for the rest of the start"
        ]
    return []


def availability(name: str, dep: dict[str, Any], by_kind: Kinds) -> list[str]:
    """A PodDisruptionBudget and topology spread (zone and host) for every Deployment."""
    labels = dep["spec"]["template"]["metadata"]["labels"]
    problems = []
    budgets = [
        p
        for p in by_kind.get("PodDisruptionBudget", {}).values()
        if p["spec"]["selector"]["matchLabels"].items() <= labels.items()
    ]
    if len(budgets) != 1:
        problems.append(f"Deployment {name}: {len(budgets)} PodDisruptionBudget(s) select it, expected one")
    keys = {
        t["topologyKey"]
        for t in pod(dep).get("topologySpreadConstraints", [])
        if t["labelSelector"]["matchLabels"].items() <= labels.items()
    }
    for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname"):
        if key not in keys:
            problems.append(f"Deployment {name}: no topologySpreadConstraint on {key}")
    return problems


def deployments(by_kind: Kinds) -> tuple[list[str], dict[str, str]]:
    """Each Deployment runs a service, channel worker or the console, with only settings
    it reads; returns the problems and channel -> its Deployment."""
    problems: list[str] = []
    workers: dict[str, str] = {}
    config_maps = by_kind.get("ConfigMap", {})
    claims = by_kind.get("PersistentVolumeClaim", {})
    for name, dep in by_kind.get("Deployment", {}).items():
        problems += pod_standard("Deployment", name, dep) + availability(name, dep, by_kind)
        for container in containers(dep):
            command = container.get("command") or []
            if command[:2] == ["billing", "serve"] and len(command) == 3 and command[2] in SERVICES:
                service = command[2]
            elif command[:2] == ["billing", "worker"] and len(command) == 3 and command[2] in CHANNEL_JOBS:
                service = "dispatch"
                workers[command[2]] = name
            elif command == ["billing", "console", "serve"]:
                service = "console"
            else:
                problems.append(f"Deployment {name}: command {command} runs no service or channel worker (nor console)")
                continue
            problems += probes(name, container, "/healthz" if service == "console" else "/readyz")
            problems += startup_budget(name, service, container)
            if service != "console" and f"{service.upper()}_MODE" not in {e["name"] for e in container["env"]}:
                problems.append(f"Deployment {name}: {service.upper()}_MODE must be production")
            if service == "console" and [e.get("value") for e in container["env"] if e["name"] == "CONSOLE_MODE"] != [
                "production"
            ]:
                # sessions in its database, never in a process; no start without its token and key
                problems.append(f"Deployment {name}: CONSOLE_MODE must be production")
            if service == "console":
                env = {e["name"]: e.get("value") for e in container["env"]}
                if env.get("CONSOLE_COOKIE_SECURE") != "true":
                    problems.append(f"Deployment {name}: CONSOLE_COOKIE_SECURE must be true (TLS ends at the ingress)")
                if not env.get("CONSOLE_FORWARDED_ALLOW_IPS"):
                    # else every clerk has the ingress' address: the lockout would lock them all
                    problems.append(f"Deployment {name}: CONSOLE_FORWARDED_ALLOW_IPS must name the ingress")
            fields = settings_fields(service)
            problems += _env_problems(f"Deployment {name}", container, fields, config_maps)
        for volume in pod(dep).get("volumes", []):
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            if claim is not None and claim not in claims:
                problems.append(f"Deployment {name}: PersistentVolumeClaim {claim} is not defined")
    return problems, workers


def _env_problems(where: str, container: dict[str, Any], fields: set[str], config_maps: dict[str, Any]) -> list[str]:
    problems = []
    for env in container.get("env", []):
        if env["name"] not in fields:
            problems.append(f"{where}: {env['name']} is not a setting of {container['name']}")
        ref = env.get("valueFrom", {})
        if "secretKeyRef" in ref and ref["secretKeyRef"]["name"] != SECRET:
            problems.append(f"{where}: secret {ref['secretKeyRef']['name']} is not {SECRET}")
        if "configMapKeyRef" in ref:
            cm, key = ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"]
            if key not in config_maps.get(cm, {}).get("data", {}):
                problems.append(f"{where}: ConfigMap {cm} with key {key} is not defined")
    for source in container.get("envFrom", []):
        ref_name = source.get("configMapRef", {}).get("name")
        if ref_name not in config_maps:
            problems.append(f"{where}: ConfigMap {ref_name} is not defined")
            continue
        for key in config_maps[ref_name].get("data", {}):
            if key not in fields:
                problems.append(f"ConfigMap {ref_name}: {key} is not a setting of {container['name']}")
    return problems


def jobs(by_kind: Kinds, folder: Path) -> list[str]:
    """The pre-deploy Jobs: bounded, their command exists, their settings are read."""
    problems = []
    found = by_kind.get("Job", {})
    want = {
        "billing-migrate": ["billing", "migrate", "all"],
        "billing-topics": ["billing", "topics", "apply", "--file", "/etc/billing/topics/production.toml"],
    }
    for name, command in want.items():
        if name not in found:
            problems.append(f"no Job {name}")
        elif containers(found[name])[0].get("command") != command:
            problems.append(f"Job {name}: command must be {' '.join(command)}")
    fields = set().union(*(settings_fields(s) for s in (*SERVICES, "console")))  # `migrate all`: the console too
    for name, job in found.items():
        problems += pod_standard("Job", name, job)
        for field in ("backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"):
            if field not in job["spec"]:
                problems.append(f"Job {name}: no {field}")
        if job["metadata"].get("labels", {}).get("app.kubernetes.io/component") != "pre-deploy":
            problems.append(f"Job {name}: label app.kubernetes.io/component must be pre-deploy (the release's step)")
        for container in containers(job):
            error = cli_problems(container.get("command") or [])
            if error:
                problems.append(f"Job {name}: {error}")
            problems += _env_problems(f"Job {name}", container, fields, by_kind.get("ConfigMap", {}))
    problems += _topics_mount(found.get("billing-topics"), folder) + _pre_deploy_step(by_kind, found)
    return problems


def _pre_deploy_step(by_kind: Kinds, found: dict[str, dict[str, Any]]) -> list[str]:
    """The release applies ``-l 'app.kubernetes.io/component in (config,pre-deploy)'``
    first: what the Jobs need (the namespace, their ConfigMaps) must be in that selection."""
    problems = []
    needed = [("Namespace", n) for n in by_kind.get("Namespace", {})]
    for job in found.values():
        for container in containers(job):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("configMapKeyRef")
                if ref is not None:
                    needed.append(("ConfigMap", ref["name"]))
    for kind, name in sorted(set(needed)):
        labels = by_kind.get(kind, {}).get(name, {}).get("metadata", {}).get("labels", {})
        if labels.get("app.kubernetes.io/component") != "config":
            problems.append(f"{kind} {name}: the Jobs need it, so its app.kubernetes.io/component must be config")
    return problems


def _topics_mount(job: dict[str, Any] | None, folder: Path) -> list[str]:
    """The topics Job reads production.toml from the ConfigMap that deploy/topics makes of it."""
    if job is None:
        return []
    volumes = {v["name"]: v for v in pod(job).get("volumes", [])}
    (container,) = containers(job)
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    source = volumes.get(mounts.get("/etc/billing/topics", ""), {}).get("configMap", {}).get("name")
    problems = []
    if source != "billing-topics":
        problems.append("Job billing-topics: /etc/billing/topics must be the ConfigMap billing-topics")
    topics = folder.parent / "topics"
    generator = (topics / "kustomization.yaml").read_text() if (topics / "kustomization.yaml").exists() else ""
    if any(s not in generator for s in ("name: billing-topics", "- production.toml", "component: config")):
        problems.append(
            f"{topics}/kustomization.yaml must generate ConfigMap billing-topics from production.toml, "
            "labelled app.kubernetes.io/component: config"
        )
    if not (topics / "production.toml").exists():
        problems.append(f"{topics}/production.toml is missing")
    else:
        try:
            tomllib.loads((topics / "production.toml").read_text())
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"{topics}/production.toml: {exc}")
    return problems


def scaling(by_kind: Kinds, workers: dict[str, str], kafka: str | None) -> list[str]:
    problems: list[str] = []
    deps = by_kind.get("Deployment", {})
    partitions = ServiceSettings.model_fields["kafka_channel_partitions"].default
    for service in SERVICES:
        if not any(c.get("command") == ["billing", "serve", service] for d in deps.values() for c in containers(d)):
            problems.append(f"no Deployment runs the {service} service")
    scaled = by_kind.get("ScaledObject", {})
    auths = by_kind.get("TriggerAuthentication", {})
    for name, auth in auths.items():
        for ref in auth["spec"].get("secretTargetRef", []):
            if ref["name"] != SECRET:
                problems.append(f"TriggerAuthentication {name}: secret {ref['name']} is not {SECRET}")
            if ref["parameter"] not in KAFKA_AUTH:
                problems.append(f"TriggerAuthentication {name}: {ref['parameter']} is no kafka scaler parameter")
    for channel, topic in CHANNEL_JOBS.items():
        deployment = workers.get(channel)
        if deployment is None:
            problems.append(f"no Deployment runs the {channel} worker")
            continue
        if "replicas" in deps[deployment]["spec"]:
            problems.append(f"Deployment {deployment}: replicas set, but its ScaledObject owns the count")
        mine = [s for s in scaled.values() if s["spec"]["scaleTargetRef"]["name"] == deployment]
        if len(mine) != 1:
            problems.append(f"{channel}: {len(mine)} ScaledObject(s) scale {deployment}, expected one")
            continue
        spec = mine[0]["spec"]
        if spec.get("maxReplicaCount") != partitions:
            problems.append(f"{channel}: maxReplicaCount {spec.get('maxReplicaCount')} != {partitions} partitions")
        triggers = [t for t in spec["triggers"] if t["type"] == "kafka"]
        if len(triggers) != 1:
            problems.append(f"{channel}: expected one kafka trigger")
            continue
        meta = triggers[0]["metadata"]
        want = {"topic": topic.name, "consumerGroup": f"dispatch-{channel}", "bootstrapServers": kafka}
        for key, value in want.items():
            if meta.get(key) != value:
                problems.append(f"{channel}: kafka trigger {key} is {meta.get(key)!r}, the code says {value!r}")
        auth = triggers[0].get("authenticationRef", {}).get("name")
        if auth not in auths:
            problems.append(f"{channel}: kafka trigger's authenticationRef {auth!r} names no TriggerAuthentication")
    return problems


def image_pin(kustomization: dict[str, Any], version: str) -> list[str]:
    """The image's version is set once, in kustomization.yaml: the package's version."""
    entries = [i for i in kustomization.get("images", []) if i.get("name") == IMAGE]
    if len(entries) != 1:
        return [f"kustomization.yaml: expected one images: entry for {IMAGE}"]
    tag = str(entries[0].get("newTag", ""))
    if "digest" not in entries[0] and tag != version:
        return [f"kustomization.yaml: {IMAGE} newTag {tag!r} is not the release {version!r} (nor a digest)"]
    return []
