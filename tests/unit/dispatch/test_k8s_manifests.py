"""The offline check of deploy/k8s (``make check``) passes on the manifests and catches
what would break a deployment: a misspelt field, a worker without its ScaledObject,
more replicas than partitions, a trigger on another topic, a setting no service reads."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

K8S = Path(__file__).resolve().parents[3] / "deploy" / "k8s"


@pytest.fixture(scope="module")
def validator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("k8s_validate", K8S / "validate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def edited(tmp_path: Path, name: str, old: str, new: str, count: int = 1) -> Path:
    folder = tmp_path / "k8s"
    shutil.copytree(K8S, folder, ignore=shutil.ignore_patterns("validate.py", "schemas", "__pycache__"))
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
        (
            "keda.yaml",
            "name: dispatch-print\n  minReplicaCount",
            "name: dispatch-printer\n  minReplicaCount",
            "0 ScaledObject(s) scale dispatch-print",
        ),
        ("config.yaml", "DISPATCH_SMTP_PORT:", "DISPATCH_SMTP_PORTT:", "DISPATCH_SMTP_PORTT is not a setting"),
        ("services.yaml", "- invoicing\n", "- invoice\n", "runs no service or channel worker"),
    ],
)
def test_a_broken_manifest_is_reported(
    validator: ModuleType, tmp_path: Path, name: str, old: str, new: str, expected: str
) -> None:
    problems = validator.check(edited(tmp_path, name, old, new))
    assert any(expected in p for p in problems), problems
