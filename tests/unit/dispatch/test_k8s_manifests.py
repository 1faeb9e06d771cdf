"""The offline check of deploy/k8s (``make check``) passes on the manifests and catches
what would break a deployment: a misspelt field, a worker without its ScaledObject,
more replicas than partitions, a trigger on another topic, a setting no service reads,
a pod below the production standard, a Job whose command does not exist. The tools
(kustomize, kubeconform, kube-score) are really run: a broken manifest only one of them
can see fails the check with that tool's name (built first if missing)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

K8S = Path(__file__).resolve().parents[3] / "deploy" / "k8s"


@pytest.fixture(scope="module")
def validator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("k8s_validate", K8S / "validate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["k8s_validate"] = module
    spec.loader.exec_module(module)
    return module


def edited(tmp_path: Path, name: str, old: str, new: str, count: int = 1) -> Path:
    folder = tmp_path / "deploy" / "k8s"
    shutil.copytree(K8S, folder, ignore=shutil.ignore_patterns("*.py", "schemas", "__pycache__"))
    shutil.copytree(K8S.parent / "topics", tmp_path / "deploy" / "topics")
    text = (folder / name).read_text()
    assert old in text
    (folder / name).write_text(text.replace(old, new, count))
    return folder


def test_the_manifests_pass(validator: ModuleType) -> None:
    assert validator.check(K8S) == []


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        ("dispatch-workers.yaml", "containerPort: 8000", "containerPortt: 8000", "containers/0/ports/0"),
        ("dispatch-workers.yaml", "      containers:", "      containerz:", "'containers' is a required property"),
        ("keda.yaml", "maxReplicaCount: 12", "maxReplicaCount: 24", "maxReplicaCount 24 != 12 partitions"),
        ("keda.yaml", "topic: dispatch.jobs.email.v1", "topic: dispatch.jobs.mail.v1", "the code says"),
        ("keda.yaml", "lagThreshold: '200'", "lagThreshold: 200", "200 is not of type 'string'"),
        ("keda.yaml", "    authenticationRef:\n      name: billing-kafka\n", "", "names no TriggerAuthentication"),
        ("keda.yaml", "parameter: tls", "parameter: tlz", "tlz is no kafka scaler parameter"),
        (
            "keda.yaml",
            "    authenticationRef:\n      name: billing-kafka\n",
            "    authenticationRef:\n      name: billing-kafka\n      kind: SecretAuthentication\n",
            "'SecretAuthentication' is not one of",
        ),
        (
            "keda.yaml",
            "name: dispatch-print\n  minReplicaCount",
            "name: dispatch-printer\n  minReplicaCount",
            "0 ScaledObject(s) scale dispatch-print",
        ),
        ("config.yaml", "DISPATCH_SMTP_PORT:", "DISPATCH_SMTP_PORTT:", "DISPATCH_SMTP_PORTT is not a setting"),
        ("services.yaml", "- invoicing\n", "- invoice\n", "runs no service or channel worker"),
        ("services.yaml", "value: production", "value: development", "CUSTOMERS_MODE must be production"),
        ("services.yaml", "value: json", "value: text", "CUSTOMERS_LOG_FORMAT must be json"),
        ("console.yaml", "value: json", "value: text", "CONSOLE_LOG_FORMAT must be json"),
        ("console.yaml", "value: production", "value: development", "CONSOLE_MODE must be production"),
        (
            "console.yaml",
            "CONSOLE_COOKIE_SECURE\n          value: 'true'",
            "CONSOLE_COOKIE_SECURE\n          value: 'false'",
            "CONSOLE_COOKIE_SECURE must be true",
        ),
        (
            "console.yaml",
            "        - name: CONSOLE_FORWARDED_ALLOW_IPS\n          value: '*'\n",
            "",
            "CONSOLE_FORWARDED_ALLOW_IPS must name the ingress",
        ),
        ("services.yaml", "automountServiceAccountToken: false", "automountServiceAccountToken: true", "Token must"),
        ("services.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"),
        ("services.yaml", "          timeoutSeconds: 3\n", "", "has no explicit timeoutSeconds"),
        ("services.yaml", "topology.kubernetes.io/zone", "topology.example/zone", "no topologySpreadConstraint"),
        (
            "disruption.yaml",
            "      app.kubernetes.io/name: reminders\n  unhealthy",
            "      app.kubernetes.io/name: reminder\n  unhealthy",
            "Deployment reminders: 0 PodDisruptionBudget(s) select it",
        ),
        ("console.yaml", "image: billing-backoffice", "image: billing-backoffice:latest", "its version is set"),
        ("kustomization.yaml", 'newTag: "0.1.0"', "newTag: dev", "newTag 'dev' is not the release"),
        ("jobs.yaml", "- migrate\n        - all", "- migrate\n        - all\n        - --dry", "No such option: --dry"),
        ("jobs.yaml", "  activeDeadlineSeconds: 900\n", "", "Job billing-migrate: no activeDeadlineSeconds"),
        (
            "jobs.yaml",
            "configMap:\n          name: billing-topics",
            "configMap:\n          name: topics",
            "must be the ConfigMap",
        ),
        ("services.yaml", "value: '8'", "value: '80'", "exceeds the 477 PostgreSQL connections available"),
        (
            "services.yaml",
            "failureThreshold: 75",
            "failureThreshold: 60",
            "Deployment invoicing: startupProbe allows 120s (periodSeconds x failureThreshold), not more than",
        ),
        (
            "config.yaml",
            "  name: billing-kafka\n  namespace: billing\n  labels:\n    app.kubernetes.io/part-of: billing\n"
            "    app.kubernetes.io/component: config",
            "  name: billing-kafka\n  namespace: billing\n  labels:\n    app.kubernetes.io/part-of: billing\n"
            "    app.kubernetes.io/component: kafka",
            "ConfigMap billing-kafka: the Jobs need it",
        ),
    ],
)
def test_a_broken_manifest_is_reported(
    validator: ModuleType, tmp_path: Path, name: str, old: str, new: str, expected: str
) -> None:
    problems = validator.check(edited(tmp_path, name, old, new), tools=False)
    assert any(expected in p for p in problems), problems


def drop_pod_seccomp(text: str) -> str:
    """The customers Deployment without seccompProfile, pod and container alike."""
    customers, rest = text.split("\n---\n", 1)
    customers = customers.replace("        seccompProfile:\n          type: RuntimeDefault\n", "")
    customers = customers.replace("          seccompProfile:\n            type: RuntimeDefault\n", "")
    assert "seccompProfile" not in customers
    return customers + "\n---\n" + rest


def test_kube_score_is_run_and_fails_a_deployment_without_seccomp(validator: ModuleType, tmp_path: Path) -> None:
    folder = edited(tmp_path, "services.yaml", "", "")
    path = folder / "services.yaml"
    path.write_text(drop_pod_seccomp(path.read_text()))
    rendered, failed = validator.render(folder)
    assert failed == []
    problems = validator.tool_problems(rendered)
    assert any(p.startswith("kube-score: [WARNING] customers/billing") and "Seccomp" in p for p in problems), problems


def test_kubeconform_is_run_and_fails_an_unknown_field(validator: ModuleType, tmp_path: Path) -> None:
    folder = edited(tmp_path, "disruption.yaml", "unhealthyPodEvictionPolicy", "unhealthyPodEvictionPolicyy")
    rendered, failed = validator.render(folder)
    assert failed == []
    problems = validator.tool_problems(rendered)
    assert any(
        p.startswith("kubeconform: PodDisruptionBudget") and "unhealthyPodEvictionPolicyy" in p for p in problems
    )


def test_kubeconform_checks_keda_kinds_by_their_schema(validator: ModuleType, tmp_path: Path) -> None:
    folder = edited(tmp_path, "keda.yaml", "  secretTargetRef:", "  secretTargetReff:")
    rendered, failed = validator.render(folder)
    assert failed == []
    problems = validator.tool_problems(rendered)
    assert any(p.startswith("kubeconform: TriggerAuthentication") for p in problems), problems


def test_kustomize_is_run_and_fails_without_the_topics_file(validator: ModuleType, tmp_path: Path) -> None:
    folder = edited(tmp_path, "jobs.yaml", "", "")
    (folder.parent / "topics" / "production.toml").unlink()
    rendered, failed = validator.render(folder)
    assert rendered == ""
    assert failed and "kustomize build" in failed[0] and "production.toml" in failed[0]


def test_the_topics_configmap_is_the_file(validator: ModuleType) -> None:
    """What kubectl applies mounts deploy/topics/production.toml byte for byte."""
    import yaml

    rendered, failed = validator.render(K8S)
    assert failed == []
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    (topics,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("billing-topics-")]
    assert topics["data"]["production.toml"] == (K8S.parent / "topics" / "production.toml").read_text()
    (job,) = [d for d in docs if d["kind"] == "Job" and d["metadata"]["name"] == "billing-topics"]
    volumes = job["spec"]["template"]["spec"]["volumes"]
    assert {"name": "topics", "configMap": {"name": topics["metadata"]["name"]}} in volumes
    images = {
        c["image"]
        for d in docs
        if d["kind"] in ("Deployment", "Job")
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"registry.example.invalid/billing/billing-backoffice:0.1.0"}


def test_go_tool_builds_a_missing_tool_once(tmp_path: Path) -> None:
    """deploy/tools/go-tool.sh: a missing binary is built (from the Go module proxy's
    modules, cached), a present one is only named."""
    import subprocess

    script = K8S.parent / "tools" / "go-tool.sh"
    env = {**__import__("os").environ, "GO_TOOLS_BIN": str(tmp_path)}
    first = subprocess.run(["bash", str(script), "kubeconform"], capture_output=True, text=True, env=env, check=True)
    binary = Path(first.stdout.strip())
    assert binary.parent == tmp_path and binary.name.startswith("kubeconform-v")
    assert "building" in first.stderr
    assert subprocess.run([str(tmp_path / "kubeconform"), "-v"], capture_output=True, check=True).stdout.strip()
    again = subprocess.run(["bash", str(script), "kubeconform"], capture_output=True, text=True, env=env, check=True)
    assert again.stdout == first.stdout
    assert again.stderr == ""
    unknown = subprocess.run(["bash", str(script), "kube-linter"], capture_output=True, text=True, env=env, check=False)
    assert unknown.returncode == 2 and "unknown tool" in unknown.stderr
