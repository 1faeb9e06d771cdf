"""The kit's container backend, the parts that need no engine: what each container is
told (the registry's settings with container endpoints), Kafka's listeners, the
databases. Starting it for real is proven by examples/order-system (make example-test)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from billing_testkit import containers as k
from billing_testkit.processes import PROCESSES, process
from console.config import ConsoleSettings
from services.customers.config import Settings as CustomersSettings
from services.dispatch.config import Settings as DispatchSettings
from services.invoicing.config import Settings as InvoicingSettings
from services.reminders.config import Settings as RemindersSettings

SETTINGS = {
    "customers": CustomersSettings,
    "invoicing": InvoicingSettings,
    "reminders": RemindersSettings,
    "dispatch": DispatchSettings,
}


@pytest.fixture
def system(tmp_path: object) -> k.ContainerSystem:
    return k.ContainerSystem(k.Images(billing="b", kafka="k", postgres="p", mail="m"), folder=tmp_path)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["customers", "invoicing", "reminders", "dispatch", "dispatch-email"])
def test_every_service_reads_its_container_settings(
    system: k.ContainerSystem, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = process(name)
    env = system.process_environment(proc)
    for key in list(os.environ):
        if key.startswith(proc.env_prefix):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    service = proc.database or name
    settings = SETTINGS[service]()  # type: ignore[call-arg]
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.database_url.get_secret_value().endswith(f"@postgres:5432/{service}")
    assert str(settings.credentials_file) == "/run/billing-auth/credentials.json"
    assert str(settings.actor_assertion_public_keys_file) == "/run/billing-auth/actor-assertion-public.pem"
    assert "API_TOKEN" not in " ".join(env)
    assert settings.http_host == "0.0.0.0"
    if service == "dispatch":
        assert isinstance(settings, DispatchSettings)
        assert (settings.smtp_host, settings.smtp_port) == ("mailcatcher", 1025)
        assert settings.auto_send == {"email", "einvoice", "print"}
        assert (str(settings.einvoice_folder), str(settings.print_folder)) == ("/data/einvoice", "/data/print")
    if service == "invoicing":
        assert isinstance(settings, InvoicingSettings)
        assert settings.daily_run_enabled is False


def test_user_settings_reach_only_their_prefix(tmp_path: object) -> None:
    system = k.ContainerSystem(settings={"REMINDERS_TODAY": "2026-03-01"}, folder=tmp_path)  # type: ignore[arg-type]
    reminders = system.process_environment(process("reminders"))
    assert reminders["REMINDERS_TODAY"] == "2026-03-01"
    assert reminders["BILLING_TEST_HOOKS"] == "on"  # the clock is a test hook: refused without it
    invoicing = system.process_environment(process("invoicing"))
    assert "REMINDERS_TODAY" not in invoicing and "BILLING_TEST_HOOKS" not in invoicing


def test_auto_send_can_be_left_to_the_clerk(tmp_path: object) -> None:
    system = k.ContainerSystem(auto_send=(), folder=tmp_path)  # type: ignore[arg-type]
    assert json.loads(system.process_environment(process("dispatch"))["DISPATCH_AUTO_SEND"]) == []


def test_the_console_runs_as_deployed_on_its_own_database(
    system: k.ContainerSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = system.process_environment(process("console"))
    assert env["CONSOLE_MODE"] == "production"
    assert env["CONSOLE_DATABASE_URL"].startswith("postgresql+asyncpg://console:")
    assert env["CONSOLE_DATABASE_URL"].endswith("@postgres:5432/console")
    assert not any("SESSION_SECRET" in name for name in env)
    assert env["CONSOLE_INVOICING_URL"] == "http://invoicing:8000"
    assert env["CONSOLE_SERVICE_TOKEN_FILE"] == "/run/billing-auth/token-console"
    assert env["CONSOLE_ACTOR_ASSERTION_KEY_FILE"] == "/run/billing-auth/actor-assertion-private.pem"
    assert "CONSOLE_API_TOKEN" not in env
    for key in list(os.environ):
        if key.startswith("CONSOLE_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = ConsoleSettings()  # production's own checks pass: a database, no migration at start
    assert settings.mode == "production" and not settings.migrates_on_start
    assert settings.database_url is not None


def test_each_container_gets_only_the_credentials_files_it_needs(system: k.ContainerSystem) -> None:
    auth = system.credentials.folder
    services = {
        str(auth / "credentials.json"): ("/run/billing-auth/credentials.json", "ro"),
        str(auth / "actor-assertion-public.pem"): ("/run/billing-auth/actor-assertion-public.pem", "ro"),
    }
    for name in ("customers", "invoicing", "reminders"):
        assert system.mounts(process(name)) == services, name
    data = {str(system.folder / "data"): ("/data", "rw")}
    for name in ("dispatch", "dispatch-email", "dispatch-einvoice", "dispatch-print"):
        assert system.mounts(process(name)) == services | data, name
    console = system.mounts(process("console"))
    assert console == {
        str(auth / "token-console"): ("/run/billing-auth/token-console", "ro"),
        str(auth / "actor-assertion-private.pem"): ("/run/billing-auth/actor-assertion-private.pem", "ro"),
    }
    assert system.mounts(process("mailcatcher")) == {}
    # no container sees the folder, another caller's token, or (but the console) the private key
    everything = [host for proc in PROCESSES for host in system.mounts(proc)]
    assert str(auth) not in everything
    assert not any(h.startswith(str(auth / "token-")) and h != str(auth / "token-console") for h in everything)
    assert [h for h in everything if h.endswith("private.pem")] == [str(auth / "actor-assertion-private.pem")]
    # each mounted file is there, and is where the process's settings say
    for proc in PROCESSES:
        env = system.process_environment(proc)
        inside = {path for path, _ in system.mounts(proc).values()}
        for host in system.mounts(proc):
            assert Path(host).exists(), host
        for key, value in env.items():
            if value.startswith("/run/billing-auth/"):
                assert value in inside, (proc.name, key)
    key = auth / "actor-assertion-private.pem"
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY")
    assert (auth / "token-console").read_text().strip() == system.token("console")


def test_kafka_advertises_the_network_alias_inside_and_the_host_port_outside() -> None:
    env = k.kafka_environment(23456)
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092,HOST://127.0.0.1:23456"
    listeners = dict(x.split("://") for x in env["KAFKA_LISTENERS"].split(","))
    assert listeners == {"PLAINTEXT": ":9092", "CONTROLLER": ":9093", "HOST": ":23456"}
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # the services create their topics


def test_one_role_and_database_per_service_and_the_consoles() -> None:
    sql = k.database_sql("pw")
    assert sql.count("CREATE DATABASE dispatch OWNER dispatch") == 1
    assert sql.count("CREATE ROLE console LOGIN PASSWORD 'pw'") == 1
    assert sql.count("CREATE DATABASE console OWNER console") == 1
    assert len(sql) == 10


def test_unknown_processes_are_refused_with_the_known_names() -> None:
    with pytest.raises(ValueError, match="dispatch-email"):
        k.ContainerSystem(processes=["customers", "billing"])


def test_image_names_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_TESTKIT_KAFKA_IMAGE", "apache/kafka:4.1.1")
    images = k.Images(postgres="postgres:15")
    assert (images.kafka, images.postgres, images.billing) == ("apache/kafka:4.1.1", "postgres:15", "local/billing:dev")


def test_the_drop_folders_are_writable_for_the_image_user(system: k.ContainerSystem) -> None:
    for folder in (system.mail_folder, system.einvoice_folder, system.print_folder):
        assert folder.stat().st_mode & 0o777 == 0o777
    assert len(PROCESSES) >= 9


def test_the_console_has_one_user_whose_password_the_kit_knows(system: k.ContainerSystem) -> None:
    from console.auth import verify_password  # the console's own check of a password

    env = system.process_environment(process("console"))
    name, password = system.console_user
    (entry,) = json.loads(env["CONSOLE_USERS"])
    assert entry.startswith(f"{name}:$argon2")
    assert verify_password(entry.split(":", 1)[1], password)
