"""docker-compose.yml cannot run here (no Docker engine), so check what it says:
every service it names exists in the code and runs the right command with its own
env prefix, and the real servers are the ones the local stack runs."""

import importlib
import re
from pathlib import Path
from typing import Any

import yaml

from billing_cli.services import SERVICES
from services.customers.config import Settings as CustomersSettings

REPO = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_every_service_has_a_compose_entry_running_its_own_command() -> None:
    services = compose()["services"]
    for name in SERVICES:
        entry = services[name]
        assert entry["command"] == ["billing", "serve", name]
        importlib.import_module(f"services.{name}.app")  # the command's target exists
        prefix = f"{name.upper()}_"
        assert all(k.startswith(prefix) for k in entry["environment"]), name
        assert f"/{name}" in entry["environment"][f"{prefix}DATABASE_URL"]
        assert entry["environment"][f"{prefix}HTTP_PORT"] == "8000"


def test_every_compose_entry_that_runs_billing_names_an_existing_service() -> None:
    for name, entry in compose()["services"].items():
        command = entry.get("command")
        if command and command[0] == "billing":
            assert command[1] == "serve" and command[2] in SERVICES, name


def test_compose_env_names_are_settings_the_service_reads() -> None:
    env = compose()["services"]["customers"]["environment"]
    fields = {f"CUSTOMERS_{f.upper()}" for f in CustomersSettings.model_fields}
    assert set(env) <= fields


def test_real_servers_match_the_local_stack_versions() -> None:
    services = compose()["services"]
    pom = (REPO / "deploy/local/kafka/pom.xml").read_text()
    kafka_version = re.search(r"<kafka.version>(.*)</kafka.version>", pom)
    assert kafka_version is not None
    assert services["kafka"]["image"] == f"apache/kafka:{kafka_version.group(1)}"
    assert services["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert services["postgres"]["image"].startswith("postgres:15")
    assert "8025:8025" in services["mailcatcher"]["ports"]


def test_no_secret_values_are_written_in_compose() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    for line in text.splitlines():
        if re.search(r"(PASSWORD|TOKEN)\s*:", line):
            assert "${" in line, line
