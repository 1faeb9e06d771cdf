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
from services.dispatch.config import Settings as DispatchSettings
from shared.events.topics import CHANNEL_JOBS

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
            if command[1] == "worker":  # a dispatch channel worker
                assert command[2] in CHANNEL_JOBS, name
            else:
                assert command[1] == "serve" and command[2] in SERVICES, name


def test_each_channel_worker_is_its_own_scalable_service_of_the_dispatch_deployment() -> None:
    services = compose()["services"]
    service_env = services["dispatch"]["environment"]
    fields = {f"DISPATCH_{f.upper()}" for f in DispatchSettings.model_fields}
    assert set(service_env) <= fields
    for channel in CHANNEL_JOBS:
        worker = services[f"dispatch-{channel}"]
        assert worker["command"] == ["billing", "worker", channel]
        assert "ports" not in worker  # no host port: `--scale dispatch-<channel>=N` works
        env = worker["environment"]
        assert set(env) <= fields
        # the same database and Kafka as the service: one outbox, one relay leader among them
        for key in ("DISPATCH_DATABASE_URL", "DISPATCH_KAFKA_BOOTSTRAP_SERVERS", "DISPATCH_SMTP_HOST"):
            assert env[key] == service_env[key], (channel, key)
        assert env["DISPATCH_WORKER_HTTP_PORT"] == "8000"
        # the drop folder and the print folder are on the volume the workers share
        assert "dispatch-out:/data" in worker["volumes"]
        assert env["DISPATCH_EINVOICE_FOLDER"].startswith("/data/") and env["DISPATCH_PRINT_FOLDER"].startswith(
            "/data/"
        )
        assert worker["depends_on"]["dispatch-folders"] == {"condition": "service_completed_successfully"}


def test_the_mail_catcher_takes_what_the_email_workers_send() -> None:
    services = compose()["services"]
    env = services["dispatch-email"]["environment"]
    assert (env["DISPATCH_SMTP_HOST"], env["DISPATCH_SMTP_PORT"]) == ("mailcatcher", "1025")  # mailpit's SMTP port
    assert services["mailcatcher"]["image"].startswith("axllent/mailpit")


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
