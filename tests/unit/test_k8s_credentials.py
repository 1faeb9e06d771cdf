"""deploy/k8s: every caller its own credential. The services and workers read the
callers' credentials file and the console's public key from the Secret
``billing-credentials`` (a volume without subPath, so a rotated or revoked credential
reaches running pods); only the console mounts its own token and private key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


def deployments() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "Deployment":
                found[doc["metadata"]["name"]] = doc["spec"]["template"]["spec"]
    return found


def _mounted(spec: dict[str, Any], path: str) -> tuple[str | None, dict[str, Any]]:
    """The Secret mounted at the folder of ``path`` and the mount."""
    (container,) = spec["containers"]
    folder = path.rsplit("/", 1)[0]
    for mount in container.get("volumeMounts", []):
        if mount["mountPath"] == folder:
            volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
            return volume.get("secret", {}).get("secretName"), mount
    return None, {}


def test_each_deployment_reads_its_own_credentials_from_mounted_secrets() -> None:
    found = deployments()
    assert "api-token" not in "".join(p.read_text() for p in K8S.glob("*.yaml"))
    assert {"customers", "invoicing", "reminders", "dispatch", "console"} <= found.keys()
    for name, spec in found.items():
        (container,) = spec["containers"]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        secrets = {v.get("secret", {}).get("secretName") for v in spec["volumes"]}
        if name == "console":
            for setting in ("CONSOLE_SERVICE_TOKEN_FILE", "CONSOLE_ACTOR_ASSERTION_KEY_FILE"):
                secret, mount = _mounted(spec, env[setting])
                assert secret == "billing-console-credentials" and mount["readOnly"], setting
            assert "billing-credentials" not in secrets
            continue
        prefix = "DISPATCH_" if name.startswith("dispatch") else f"{name.upper()}_"
        for setting in ("CREDENTIALS_FILE", "ACTOR_ASSERTION_PUBLIC_KEYS_FILE"):
            secret, mount = _mounted(spec, env[f"{prefix}{setting}"])
            assert secret == "billing-credentials" and mount["readOnly"] and "subPath" not in mount, (name, setting)
        assert "billing-console-credentials" not in secrets, name  # the private key only in the console


def test_prometheus_scrapes_with_a_credential_from_a_file() -> None:
    config = yaml.safe_load((K8S.parent / "prometheus" / "scrape.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["authorization"] == {"type": "Bearer", "credentials_file": "/etc/prometheus/billing/token"}
    assert "billing credentials create prometheus" in (K8S.parent / "prometheus" / "scrape.yml").read_text()
    assert "--scopes metrics" in (K8S.parent / "prometheus" / "scrape.yml").read_text()
