"""What docker-compose.yml says, checked without an engine (``make compose-test`` runs
it): every service it names exists in the code and runs the right command with its own
env prefix, the migrations run once before the services, Kafka keeps its data on its
volume, every long-running service has a health check, and the real servers are the
ones the local stack runs."""

import importlib
import re
from pathlib import Path
from typing import Any

import yaml

from billing_cli.services import SERVICES
from console.config import ConsoleSettings
from services.customers.config import Settings as CustomersSettings
from services.dispatch.config import Settings as DispatchSettings
from shared.events.topics import CHANNEL_JOBS

REPO = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


def default(value: str) -> str:
    """``${VAR:-default}`` -> ``default`` (what compose uses when VAR is not set)."""
    found = re.fullmatch(r"\$\{[A-Z_]+:-(.*)\}", value)
    return found.group(1) if found else value


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
            elif command[1] == "console":
                assert command[2:] == ["serve"], name
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
    assert services["dispatch-email"]["depends_on"]["mailcatcher"] == {"condition": "service_healthy"}
    mail = services["mailcatcher"]
    assert default(mail["image"]).startswith("axllent/mailpit")  # users; the SMTP sink image here
    assert "command" not in mail  # the image's own: mailpit and the SMTP sink differ
    assert "mail:/mail" in mail["volumes"]  # the SMTP sink writes <n>.eml there


def test_compose_env_names_are_settings_the_service_reads() -> None:
    env = compose()["services"]["customers"]["environment"]
    fields = {f"CUSTOMERS_{f.upper()}" for f in CustomersSettings.model_fields}
    assert set(env) <= fields


def test_real_servers_match_the_local_stack_versions() -> None:
    services = compose()["services"]
    pom = (REPO / "deploy/local/kafka/pom.xml").read_text()
    kafka_version = re.search(r"<kafka.version>(.*)</kafka.version>", pom)
    assert kafka_version is not None
    assert default(services["kafka"]["image"]) == f"apache/kafka:{kafka_version.group(1)}"
    assert services["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert default(services["postgres"]["image"]).startswith("postgres:15")
    assert any(p.endswith(":8025") and "MAIL_UI_PORT:-8025" in p for p in services["mailcatcher"]["ports"])


def test_kafka_keeps_its_data_on_its_volume() -> None:
    """The apache/kafka image writes its log dirs under /tmp unless KAFKA_LOG_DIRS says
    otherwise: a volume anywhere else is empty, and a recreated container starts empty."""
    kafka = compose()["services"]["kafka"]
    log_dirs = kafka["environment"]["KAFKA_LOG_DIRS"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in kafka["volumes"]}
    assert log_dirs in mounts and mounts[log_dirs] in compose()["volumes"]
    assert kafka["environment"]["CLUSTER_ID"]  # the same cluster on every start


def test_migrations_run_once_before_every_service() -> None:
    services = compose()["services"]
    migrate = services["migrate"]
    assert "billing migrate all" in " ".join(migrate["command"])
    assert migrate["restart"] == "no"
    for name in SERVICES:
        assert f"/{name}" in migrate["environment"][f"{name.upper()}_DATABASE_URL"]
    for name, entry in services.items():
        prefix = {"dispatch-email": "DISPATCH", "dispatch-einvoice": "DISPATCH", "dispatch-print": "DISPATCH"}.get(
            name, name.upper()
        )
        if name in SERVICES or prefix == "DISPATCH":
            assert entry["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
            assert entry["environment"][f"{prefix}_RUN_MIGRATIONS_ON_START"] == "false", name


def test_the_topics_are_applied_from_the_development_file_and_the_services_start_as_in_production() -> None:
    """The migrate one-shot makes the topics what deploy/topics/development.toml says;
    every service and worker then runs in production mode against that file (creates
    nothing, refuses to start on a topic it cannot trust), the path production takes."""
    services = compose()["services"]
    command = " ".join(services["migrate"]["command"])
    assert "billing topics apply --file deploy/topics/development.toml" in command
    assert "create-topics" not in command
    assert (REPO / "deploy" / "topics" / "development.toml").is_file()
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "COPY deploy/topics ./deploy/topics" in dockerfile  # WORKDIR /app: the path below
    assert "!deploy/topics" in (REPO / ".dockerignore").read_text().splitlines()
    for name, entry in services.items():
        prefix = {"dispatch-email": "DISPATCH", "dispatch-einvoice": "DISPATCH", "dispatch-print": "DISPATCH"}.get(
            name, name.upper()
        )
        if name in SERVICES or prefix == "DISPATCH":
            env = entry["environment"]
            assert env[f"{prefix}_MODE"] == "production", name
            assert env[f"{prefix}_KAFKA_TOPICS_FILE"] == "/app/deploy/topics/development.toml", name


def test_every_long_running_service_has_a_health_check_and_one_image() -> None:
    services = compose()["services"]
    for name, entry in services.items():
        if entry.get("restart") == "no":  # the one-shots
            continue
        assert entry["healthcheck"]["test"][0] == "CMD-SHELL", name  # podman 4.3 splits CMD arguments on spaces
        if entry.get("command", [""])[0] == "billing":
            assert default(entry["image"]) == "local/billing:dev" and entry["build"]["context"] == ".", name
    for name in SERVICES:
        assert "/readyz" in services[name]["healthcheck"]["test"][1]


def test_every_required_variable_is_in_env_example_and_none_is_a_local_setting() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    assert required == {
        "POSTGRES_PASSWORD",
        "BILLING_DB_PASSWORD",
        "CONSOLE_USERS",
    }
    assert "SESSION_SECRET" not in text and "SESSION_SECRET" not in (REPO / ".env.example").read_text()
    example = (REPO / ".env.example").read_text()
    assert all(re.search(rf"^{name}=", example, re.M) for name in required)
    local = (REPO / "compose.local.env").read_text()
    assert not any(re.search(rf"^{name}=", local, re.M) for name in required)  # no secrets committed
    for name in re.findall(r"^([A-Z_]+)=", local, re.M):
        assert f"${{{name}:-" in text, name  # every local setting is a variable of the compose file


def test_every_caller_has_its_own_credential_made_in_a_volume_and_no_shared_token() -> None:
    services = compose()["services"]
    text = (REPO / "docker-compose.yml").read_text()
    assert "API_TOKEN" not in text and "API_TOKEN" not in (REPO / ".env.example").read_text()
    made = services["credentials"]
    assert made["restart"] == "no" and "billing credentials create console" in made["command"][-1]
    assert "act-for-clerks" in made["command"][-1] and "admin" not in made["command"][-1]
    for name, entry in services.items():
        env = entry.get("environment") or {}
        mounts = [str(v) for v in entry.get("volumes") or []]
        prefix = name.split("-")[0].upper()
        if entry.get("command", [""])[0] != "billing" or name == "console":
            continue
        # every service and worker: the credentials file and the console's public key, read-only
        assert env[f"{prefix}_CREDENTIALS_FILE"] == "/run/billing/auth/credentials.json", name
        assert env[f"{prefix}_ACTOR_ASSERTION_PUBLIC_KEYS_FILE"].startswith("/run/billing/auth/"), name
        assert "auth:/run/billing/auth:ro" in mounts, name
        assert not any(m.startswith("console-secrets:") for m in mounts), name  # never the console's key
        assert entry["depends_on"]["credentials"] == {"condition": "service_completed_successfully"}, name
    console = services["console"]
    assert console["volumes"] == ["console-secrets:/run/billing/console:ro"]
    assert console["environment"]["CONSOLE_SERVICE_TOKEN_FILE"].startswith("/run/billing/console/")
    assert console["environment"]["CONSOLE_ACTOR_ASSERTION_KEY_FILE"].startswith("/run/billing/console/")


def test_no_secret_values_are_written_in_compose() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    for line in text.splitlines():
        if re.search(r"(PASSWORD|TOKEN)\s*:", line):
            assert "${" in line, line


def test_the_console_runs_as_in_production_on_its_own_database_migrated_by_the_one_shot() -> None:
    """CONSOLE_MODE=production: sessions and sign-in failures in the console's own
    database (made on PostgreSQL's first start like the services', migrated by the
    one-shot before the console starts), never in the process."""
    services = compose()["services"]
    console = services["console"]["environment"]
    fields = {f"CONSOLE_{f.upper()}" for f in ConsoleSettings.model_fields}
    assert set(console) <= fields
    assert console["CONSOLE_MODE"] == "production"
    url = console["CONSOLE_DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://console:${BILLING_DB_PASSWORD}@postgres:5432/console")
    assert "CONSOLE_MIGRATE_ON_START" not in console  # production never migrates at start
    migrate = services["migrate"]
    assert migrate["environment"]["CONSOLE_DATABASE_URL"] == url  # `billing migrate all` takes the console too
    assert services["console"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    init = (REPO / "deploy/docker/postgres-init.sh").read_text()
    loop = re.search(r"^for s in (.*); do$", init, re.M)
    assert loop is not None and loop.group(1).split() == [*SERVICES, "console"]
    mounted = {v.split(":")[0]: v.split(":")[1] for v in services["postgres"]["volumes"]}
    assert mounted["./deploy/docker/postgres-init.sh"].startswith("/docker-entrypoint-initdb.d/")
