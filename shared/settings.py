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
    consumer_attempts: int = 4
    """Tries of a failing batch (with backoff) before its partitions are tried one by
    one and a partition that still fails is stopped (see shared.messaging.consumer)."""
    consumer_stall_max_s: float = 60.0
    """Longest pause of a stopped partition between two tries."""
    inbox_retention_days: float = 30.0
    """Inbox rows (ids of handled events) are kept this long, then pruned. Keep it
    longer than any redelivery window: the consumed topics' retention and the longest
    outage after which an old record may come back."""
    inbox_prune_interval_s: float = 3600.0

    # PostgreSQL
    database_url: SecretStr = SecretStr("postgresql+asyncpg://localhost/billing")
    database_pool_size: int = 10
    run_migrations_on_start: bool = True

    # Outbox relay
    outbox_batch_size: int = 1000
    outbox_poll_interval_s: float = 0.2
    outbox_send_timeout_s: float = 15.0
    """A batch Kafka has not acknowledged by then is rolled back and retried."""
    outbox_transaction_timeout_ms: int = 30_000
    """Kafka aborts a relay transaction left open this long (a leader that died)."""
    outbox_key_lock_stripes: int = 4096
    """Per-key order: keys are hashed onto this many advisory-lock stripes at flush."""
    outbox_max_key_locks: int = 64
    """A flush over more stripes than this takes one exclusive lock instead."""

    # HTTP
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    api_token: SecretStr = SecretStr("")
    """Bearer token the HTTP API requires. Empty means every API call is refused."""

    def topic(self, name: str) -> str:
        return f"{self.kafka_topic_prefix}{name}"

    def group(self, name: str) -> str:
        return f"{self.kafka_group_prefix}{name}"
