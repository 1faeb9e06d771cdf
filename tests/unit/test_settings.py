"""Settings: where the servers are has no silent default, and timeouts fit together."""

import pytest
from pydantic import ValidationError

from services.customers.config import Settings as CustomersSettings
from shared.settings import MissingSettings, ServiceSettings

SERVERS = {"database_url": "postgresql+asyncpg://u:p@db.example:5432/customers", "kafka_bootstrap_servers": "k:9092"}


@pytest.fixture(autouse=True)
def no_server_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the shell running the tests exported (the stack's env) does not count."""
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"CUSTOMERS_{name}", raising=False)


def test_a_service_without_database_url_fails_naming_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMERS_KAFKA_BOOTSTRAP_SERVERS", "k:9092")
    with pytest.raises(MissingSettings) as err:
        CustomersSettings()
    assert list(err.value.variables) == ["CUSTOMERS_DATABASE_URL"]
    assert str(err.value).startswith("CUSTOMERS_DATABASE_URL is not set")


def test_a_service_without_any_server_names_both_variables() -> None:
    with pytest.raises(MissingSettings) as err:
        CustomersSettings()
    assert set(err.value.variables) == {"CUSTOMERS_DATABASE_URL", "CUSTOMERS_KAFKA_BOOTSTRAP_SERVERS"}


def test_an_empty_variable_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMERS_DATABASE_URL", "  ")
    monkeypatch.setenv("CUSTOMERS_KAFKA_BOOTSTRAP_SERVERS", "k:9092")
    with pytest.raises(MissingSettings, match="CUSTOMERS_DATABASE_URL"):
        CustomersSettings()


def test_servers_from_the_environment_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMERS_DATABASE_URL", SERVERS["database_url"])
    monkeypatch.setenv("CUSTOMERS_KAFKA_BOOTSTRAP_SERVERS", "k:9092")
    settings = CustomersSettings()
    assert settings.database_url.get_secret_value() == SERVERS["database_url"]
    assert "p@db" not in repr(settings)


def test_an_invalid_setting_does_not_echo_the_values_given() -> None:
    with pytest.raises(ValidationError) as err:
        ServiceSettings(**SERVERS, database_pool_size="many", kafka_sasl_password="s3cret-token")  # type: ignore[arg-type]
    assert "s3cret-token" not in str(err.value)
    assert "u:p@" not in str(err.value)


def test_timeouts_have_defaults_and_the_idle_timeout_must_outlast_a_relay_send() -> None:
    settings = ServiceSettings(**SERVERS)  # type: ignore[arg-type]
    assert settings.database_statement_timeout_ms > 0 and settings.database_lock_timeout_ms > 0
    assert settings.database_idle_in_transaction_timeout_ms > settings.outbox_send_timeout_s * 1000
    with pytest.raises(ValidationError, match="outbox_send_timeout_s"):
        ServiceSettings(**SERVERS, outbox_send_timeout_s=30, database_idle_in_transaction_timeout_ms=20_000)  # type: ignore[arg-type]


def test_a_service_process_without_its_servers_stops_at_start_naming_the_variables() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if "DATABASE_URL" not in k and "KAFKA_BOOTSTRAP" not in k}
    done = subprocess.run(
        [sys.executable, "-m", "services.customers"],
        env=env,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "CUSTOMERS_DATABASE_URL is not set" in done.stderr
    assert "CUSTOMERS_KAFKA_BOOTSTRAP_SERVERS is not set" in done.stderr


def test_docker_compose_gives_every_service_its_servers() -> None:
    from pathlib import Path

    import yaml

    from billing_cli.services import SERVICES

    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())
    for name in SERVICES:
        env = compose["services"][name]["environment"]
        for variable in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):
            assert env.get(f"{name.upper()}_{variable}"), (name, variable)
