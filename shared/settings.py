"""Settings every service has. Each service subclasses :class:`ServiceSettings` with its
own env prefix (``CUSTOMERS_``, ``INVOICING_``, ...), so one machine can run all four
with different databases and credentials.

Secrets (database URL with password, Kafka SASL password) are ``SecretStr``
and are never logged or shown in ``repr``; errors never echo the values given
(``hide_input_in_errors``).

Where the servers are has no default: a service started without
``<PREFIX>DATABASE_URL`` or ``<PREFIX>KAFKA_BOOTSTRAP_SERVERS`` stops at start with
:class:`MissingSettings` naming the variable, instead of silently trying localhost. On
the local stack ``eval "$(deploy/local/stack.sh env)"`` sets both for every service.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

TEST_HOOKS_ENV = "BILLING_TEST_HOOKS"
FAILPOINTS_ENV = "BILLING_FAILPOINTS"

# Settings that say where the real servers are: no default, see MissingSettings.
REQUIRED = {
    "database_url": "the service's PostgreSQL database, postgresql+asyncpg://user:password@host:5432/name",
    "kafka_bootstrap_servers": "the Kafka brokers, host:port[,host:port...]",
}


class StartRefused(Exception):
    """The process must not start as configured (one line says why). Not a ``ValueError``:
    pydantic passes it through unwrapped, and ``shared.serve`` prints just the line."""


class MissingSettings(Exception):
    """Required settings are not set. Deliberately not a ``ValueError``, so pydantic
    passes it through unwrapped: the message is the variable names, nothing else."""

    def __init__(self, variables: dict[str, str]) -> None:
        self.variables = variables
        lines = [f"{name} is not set: {what}" for name, what in variables.items()]
        lines.append('(on the local stack: eval "$(deploy/local/stack.sh env)")')
        super().__init__("\n".join(lines))


def _plain(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None, hide_input_in_errors=True)

    service_name: str = "service"

    mode: Literal["development", "production"] = "development"
    """``production``: a service creates nothing and checks what it needs at start. Its
    topics must exist with at least the declared durability (``billing topics apply``
    makes them), its database schema must be migrated (``billing migrate`` is its own
    step, never run at start). ``development`` (the local stack, tests) creates missing
    topics and migrates at start. See README "Operations"."""

    # Kafka
    kafka_bootstrap_servers: str
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    kafka_topic_prefix: str = ""
    """Prepended to every topic name (tests use a fresh prefix per test)."""
    kafka_group_prefix: str = ""
    """Prepended to every consumer group id."""
    # --- Topics (issue 18, topics): declared infrastructure, see shared/messaging/topics_admin.py
    kafka_topics_file: Path | None = None
    """The topic declaration (``deploy/topics/<environment>.toml``). production: the
    service checks its topics against it at start (without it: the registry, RF 3, min
    ISR 2). development: missing topics are created from it (without it: the registry
    with ``kafka_partitions``/``kafka_channel_partitions``, RF 1)."""
    kafka_partitions: int = 6
    """Partitions of a topic when no ``kafka_topics_file`` is given."""
    kafka_channel_partitions: int = 12
    """Partitions of a channel job topic when no ``kafka_topics_file`` is given."""
    consumer_max_records: int = 500
    """Records one consumer transaction handles at most (batch consume)."""
    consumer_attempts: int = 4
    """Tries of a failing batch (with backoff) before its partitions are tried one by
    one and a partition that still fails is stopped (see shared.messaging.consumer)."""
    consumer_stall_max_s: float = 60.0
    """Longest pause of a stopped partition between two tries."""
    inbox_retention_days: float = 30.0
    """Inbox rows (ids of handled events) are kept this long, then pruned by the daily
    ``retention.purge`` job. Keep it longer than any redelivery window: the consumed
    topics' retention and the longest outage after which an old record may come back."""

    # PostgreSQL
    database_url: SecretStr
    database_pool_size: int = 10
    """Connections the process keeps open (its one engine: requests, consumers, the
    outbox relay's leader lock, the jobs' locks, a worker's lease all come from it)."""
    # --- Connections (issue 18, kubernetes): the pool's hard cap, see README "Connections"
    database_max_overflow: int = Field(default=10, ge=0)
    """Connections opened beyond ``database_pool_size`` under load and closed when
    returned: the process never holds more than pool size + overflow. A caller waits
    (then fails) when all are taken."""
    database_statement_timeout_ms: int = 30_000
    """A statement running longer is cancelled by the server (SQLSTATE 57014); 0 = never."""
    database_lock_timeout_ms: int = 10_000
    """A statement waiting longer for a lock fails (SQLSTATE 55P03); 0 = never."""
    database_idle_in_transaction_timeout_ms: int = 60_000
    """A session idle that long inside a transaction is ended by the server; 0 = never.
    Must exceed ``outbox_send_timeout_s``: the relay awaits Kafka inside its transaction."""
    database_connect_timeout_s: float = 10.0
    """Opening a connection (TCP, TLS, authentication) fails after this long."""
    run_migrations_on_start: bool = True
    """Migrate the database at start (development). In production it is off (unset:
    off; set true: refused): ``billing migrate`` is its own step there."""

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

    # Observability (issue 18): logs
    log_format: Literal["text", "json"] = "text"
    """``json``: one JSON object a line (timestamp, level, logger, message, service,
    trace_id when the unit of work has one) for a log collector; ``text``: plain lines.
    See shared/logs.py."""

    # HTTP
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    credentials_file: Path | None = None
    """The callers' credentials (hashes only; see shared/auth/credentials.py and the
    README's Security section). Without it every API call is refused (development; a
    production service refuses to start)."""
    actor_assertion_public_keys_file: Path | None = None
    """The console's Ed25519 public key(s), PEM, one after another (two during a key
    rotation): verifies the clerk assertion the console sends with each call."""

    # Test hooks (issue 19): crash points and a fixed clock exist for the tests only
    test_hooks: bool = False
    """Allow the test hooks (``BILLING_FAILPOINTS``, the reminders' fixed ``today``).
    Off: a process given one refuses to start. On as well with ``BILLING_TEST_HOOKS=on``
    (one variable for every process of a test system). Never in production."""

    def test_hooks_on(self) -> bool:
        return self.test_hooks or os.environ.get(TEST_HOOKS_ENV, "").strip().lower() == "on"

    def refuse_test_hook(self, what: str) -> None:
        """:class:`StartRefused` when ``what`` (a test hook in use) is not allowed here."""
        if not self.test_hooks_on():
            raise StartRefused(f"{what} is a test hook: refused unless {TEST_HOOKS_ENV}=on (a test system); unset it")
        if self.mode == "production":
            raise StartRefused(f"{what} is a test hook: refused in production mode, whatever {TEST_HOOKS_ENV} says")

    @model_validator(mode="before")
    @classmethod
    def _require_servers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            prefix = str(cls.model_config.get("env_prefix") or "")
            missing = {
                f"{prefix}{name}".upper(): what
                for name, what in REQUIRED.items()
                if not str(_plain(data.get(name)) or "").strip()
            }
            if missing:
                raise MissingSettings(missing)
        return data

    @model_validator(mode="after")
    def _timeouts_fit(self) -> ServiceSettings:
        idle = self.database_idle_in_transaction_timeout_ms
        if idle and idle <= self.outbox_send_timeout_s * 1000:
            raise ValueError(
                "database_idle_in_transaction_timeout_ms must exceed outbox_send_timeout_s "
                "(the outbox relay awaits Kafka inside its transaction)"
            )
        return self

    @model_validator(mode="after")
    def _production_never_migrates_at_start(self) -> ServiceSettings:
        if self.mode == "production":
            if self.run_migrations_on_start and "run_migrations_on_start" in self.model_fields_set:
                prefix = str(self.model_config.get("env_prefix") or "")
                raise ValueError(
                    f"{prefix}RUN_MIGRATIONS_ON_START=true is refused in production mode: "
                    f"a service never migrates at start there; run `billing migrate {self.service_name}` "
                    "as its own step (the k8s Job billing-migrate, compose's migrate service) "
                    f"and unset {prefix}RUN_MIGRATIONS_ON_START (or set it false)"
                )
            object.__setattr__(self, "run_migrations_on_start", False)
        return self

    @model_validator(mode="after")
    def _test_hooks_only_in_tests(self) -> ServiceSettings:
        if self.mode == "production" and self.test_hooks_on():
            raise StartRefused(f"test hooks ({TEST_HOOKS_ENV} / test_hooks) are refused in production mode: unset them")
        if os.environ.get(FAILPOINTS_ENV, "").strip():
            self.refuse_test_hook(FAILPOINTS_ENV)
        return self

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

    # --- Migrations (issue 18: migrations): `billing migrate`, the schema check at start ---
    migration_lock_timeout_ms: int = 5_000
    """The migration connection's ``lock_timeout``: the longest wait for a lock, the
    migration advisory lock (another ``billing migrate``) included, or a table lock a
    long transaction holds. A lock timeout is retried (``migration_lock_attempts``)."""
    migration_statement_timeout_ms: int = 600_000
    """The migration connection's ``statement_timeout``: one migration statement (a
    backfill, an index build) running longer is cancelled, and the migration rolled back."""
    migration_lock_attempts: int = 4
    """Tries of a migration that hit the lock timeout before ``billing migrate`` fails."""
    migration_lock_backoff_s: float = 2.0
    """Pause before the second try; doubled before each further one."""

    # --- Personal data (issue 18, privacy): retention of what is kept only for operations ---
    dead_letter_retention_days: float = Field(30.0, ge=1)
    """Dead letters (the original records, personal data kept only so they can be
    replayed) are deleted this long after they arrived, replayed or not. 30 days: a
    dead letter is looked at within days (the alert fires at once, the console lists
    it), so a month covers a holiday and a fix that needs a release; longer would keep
    personal data no purpose needs (GDPR art. 5(1)(e), storage limitation)."""
    finished_job_retention_days: float = Field(90.0, ge=2)
    """Finished jobs (done or failed) and the rows only they own (a preview's items)
    are deleted this long after they finished. 90 days: a quarter, long enough to
    compare a run with the previous months' and to answer "who started what"; a job's
    params and preview rows may name customers. Queued and running jobs are never
    touched. At least 2 days: today's and yesterday's daily jobs (their key is the
    date) are what makes a restarted service not run them again."""
    retention_purge_enabled: bool = True
    """Schedule the daily ``retention.purge`` job (time: ``retention_purge_at``, or
    ``jobs_schedule``). Off only where a test counts the jobs it started."""
    retention_purge_at: str = "03:30"
    """Local time (``jobs_timezone``) of the daily purge: a quiet hour."""

    # --- OIDC access tokens (issue 19): see shared/auth/oidc.py and README "OIDC" -------
    oidc_issuer: str | None = None
    """The identity provider whose access tokens (JWT) the API accepts besides the
    credentials file, e.g. ``https://login.example.fi/realms/billing``; unset: off.
    Needs ``oidc_audience``."""
    oidc_audience: str | None = None
    """The ``aud`` the provider puts in this API's tokens (required with an issuer)."""
    oidc_jwks_url: str | None = None
    """Where the provider's signing keys are; unset: the ``jwks_uri`` of the issuer's
    discovery document (``<issuer>/.well-known/openid-configuration``)."""
    oidc_scope_claim: str = "scope"
    """The claim holding the scopes (space-separated or a list); ``scp`` is read too."""
