"""Offline check of the Kubernetes manifests in this folder (run by ``make check``).

1. Every core resource (Namespace, ConfigMap, PersistentVolumeClaim, Deployment,
   Service) against the Kubernetes JSON schemas that ``kubernetes-validate`` bundles
   (strict: an unknown or misspelt field is an error), for :data:`KUBERNETES_VERSION`.
2. Every KEDA ScaledObject against ``schemas/scaledobject.schema.json`` (written from
   KEDA's documented spec; the CRD itself is not bundled anywhere offline), its kafka
   trigger's metadata included.
3. What ties the manifests to the code: each container runs an existing service
   (``billing serve <service>``), channel worker (``billing worker <channel>``) or the
   console (``billing console serve``) and sets only settings it reads (env prefix + field name); each channel worker
   has a ScaledObject on its Deployment, its kafka trigger on the channel's job topic and
   consumer group as the code names them, ``maxReplicaCount`` = the topic's partitions
   and the same Kafka as the services; ConfigMaps and PVCs used are defined here.

No network: nothing is downloaded. ``python deploy/k8s/validate.py [folder]``; exit 1
with one line per problem.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml
from pydantic_settings import BaseSettings

from billing_cli.services import SERVICES
from console.config import ConsoleSettings
from shared.events.topics import CHANNEL_JOBS
from shared.settings import ServiceSettings

HERE = Path(__file__).resolve().parent
KUBERNETES_VERSION = "1.33.0"
CORE_KINDS = {"Namespace", "ConfigMap", "PersistentVolumeClaim", "Deployment", "Service", "Secret"}
SECRET = "billing-secrets"  # noqa: S105 (a name, not a password)
"""Created by ops (kubectl create secret, see kustomization.yaml), never written here."""


def documents(folder: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield path.name, doc


def _settings_fields(service: str) -> set[str]:
    cls: type[BaseSettings] = (
        ConsoleSettings if service == "console" else importlib.import_module(f"services.{service}.config").Settings
    )
    prefix = str(cls.model_config.get("env_prefix") or "")
    return {f"{prefix}{name}".upper() for name in cls.model_fields}


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(doc["spec"]["template"]["spec"].get("containers", []))


def check(folder: Path = HERE) -> list[str]:
    problems: list[str] = []
    scaled_schema = json.loads((HERE / "schemas/scaledobject.schema.json").read_text())
    kafka_schema = scaled_schema["$defs"]["kafkaMetadata"]
    docs = list(documents(folder))
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for name, doc in docs:
        kind = doc.get("kind", "?")
        where = f"{name}: {kind} {doc.get('metadata', {}).get('name', '?')}"
        by_kind.setdefault(kind, {})[doc.get("metadata", {}).get("name", "?")] = doc
        if kind in CORE_KINDS:
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = "/".join(str(p) for p in exc.path)
                problems.append(f"{where}: {path}: {exc.message}")
        elif kind == "ScaledObject":
            for error in jsonschema.Draft202012Validator(scaled_schema).iter_errors(doc):
                problems.append(f"{where}: {'/'.join(str(p) for p in error.path)}: {error.message}")
            for trigger in doc.get("spec", {}).get("triggers", []):
                if trigger.get("type") == "kafka":
                    for error in jsonschema.Draft202012Validator(kafka_schema).iter_errors(trigger.get("metadata", {})):
                        problems.append(f"{where}: kafka metadata: {error.message}")
        else:
            problems.append(f"{where}: no schema for kind {kind!r}")
    problems += _project_rules(by_kind)
    return problems


def _project_rules(by_kind: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    problems: list[str] = []
    deployments = by_kind.get("Deployment", {})
    config_maps = by_kind.get("ConfigMap", {})
    claims = by_kind.get("PersistentVolumeClaim", {})
    kafka = config_maps.get("billing-kafka", {}).get("data", {}).get("bootstrap-servers")
    if kafka is None:
        problems.append("ConfigMap billing-kafka with bootstrap-servers is missing")
    workers: dict[str, str] = {}
    for name, dep in deployments.items():
        for container in _containers(dep):
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
            fields = _settings_fields(service)
            for env in container.get("env", []):
                if env["name"] not in fields:
                    problems.append(f"Deployment {name}: {env['name']} is not a setting of {service}")
                ref = env.get("valueFrom", {})
                if "secretKeyRef" in ref and ref["secretKeyRef"]["name"] != SECRET:
                    problems.append(f"Deployment {name}: secret {ref['secretKeyRef']['name']} is not {SECRET}")
                if "configMapKeyRef" in ref and ref["configMapKeyRef"]["name"] not in config_maps:
                    problems.append(f"Deployment {name}: ConfigMap {ref['configMapKeyRef']['name']} is not defined")
            for source in container.get("envFrom", []):
                ref_name = source.get("configMapRef", {}).get("name")
                if ref_name not in config_maps:
                    problems.append(f"Deployment {name}: ConfigMap {ref_name} is not defined")
                    continue
                for key in config_maps[ref_name].get("data", {}):
                    if key not in fields:
                        problems.append(f"ConfigMap {ref_name}: {key} is not a setting of {service}")
        for volume in dep["spec"]["template"]["spec"].get("volumes", []):
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            if claim is not None and claim not in claims:
                problems.append(f"Deployment {name}: PersistentVolumeClaim {claim} is not defined")
    return problems + _scaling_rules(by_kind, workers, kafka)


def _scaling_rules(
    by_kind: dict[str, dict[str, dict[str, Any]]], workers: dict[str, str], kafka: str | None
) -> list[str]:
    problems: list[str] = []
    deployments = by_kind.get("Deployment", {})
    partitions = ServiceSettings.model_fields["kafka_channel_partitions"].default
    for service in SERVICES:
        if not any(
            c.get("command") == ["billing", "serve", service] for d in deployments.values() for c in _containers(d)
        ):
            problems.append(f"no Deployment runs the {service} service")
    scaled = by_kind.get("ScaledObject", {})
    for channel, topic in CHANNEL_JOBS.items():
        deployment = workers.get(channel)
        if deployment is None:
            problems.append(f"no Deployment runs the {channel} worker")
            continue
        if "replicas" in deployments[deployment]["spec"]:
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
    return problems


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else HERE
    problems = check(folder)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    count = len(list(documents(folder)))
    print(
        f"{folder}: {count} manifests valid (Kubernetes {KUBERNETES_VERSION} schemas, KEDA ScaledObject, project rules)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
