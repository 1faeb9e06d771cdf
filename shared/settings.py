"""Settings every service has. Each service subclasses :class:`ServiceSettings` with its
own env prefix (``CUSTOMERS_``, ``INVOICING_``, ...), so one machine can run all four
with different databases and credentials.

Secrets (database URL with password, Kafka SASL password, API token) are ``SecretStr``
and are never logged or shown in ``repr``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    service_name: str = "service"

    # Kafka
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    kafka_topic_prefix: str = ""
    """Prepended to every topic name (tests use a fresh prefix per test)."""
    kafka_group_prefix: str = ""
    """Prepended to every consumer group id."""
    kafka_partitions: int = 6
    kafka_channel_partitions: int = 12
    kafka_replication_factor: int = 1
    kafka_create_topics: bool = True
    """Create missing topics on start from the topic registry (auto-creation is off)."""
    consumer_max_records: int = 500
    """Records one consumer transaction handles at most (batch consume)."""

    # PostgreSQL
    database_url: SecretStr = SecretStr("postgresql+asyncpg://localhost/billing")
    database_pool_size: int = 10
    run_migrations_on_start: bool = True

    # Outbox relay
    outbox_batch_size: int = 1000
    outbox_poll_interval_s: float = 0.2
    outbox_send_timeout_s: float = 15.0
    """A batch Kafka has not acknowledged by then is rolled back and retried."""

    # HTTP
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    api_token: SecretStr = SecretStr("")
    """Bearer token the HTTP API requires. Empty means every API call is refused."""

    def topic(self, name: str) -> str:
        return f"{self.kafka_topic_prefix}{name}"

    def group(self, name: str) -> str:
        return f"{self.kafka_group_prefix}{name}"

    # --- Jobs (shared/jobs): long work with progress, daily scheduled runs ---------
    jobs_poll_interval_s: float = 1.0
    """How often each process looks for jobs to run (queued, or orphaned by a crash)."""
    jobs_max_concurrent: int = 2
    """Jobs one process executes at the same time."""
    jobs_timezone: str = "Europe/Helsinki"
    """Local time zone of the daily jobs' times (a run's date is the local date)."""
    jobs_schedule: dict[str, str] = {}
    """Job kind -> local time (``HH:MM``) of its daily run, overriding the service's
    default (env as JSON: ``{"invoicing.billing-run": "06:30"}``); checked at start."""
    jobs_chunk_sizes: dict[str, int] = {}
    """Job kind -> items per chunk (one transaction each), overriding the kind's own."""
