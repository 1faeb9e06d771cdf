"""Settings of the dispatch service and its channel workers: env prefix ``DISPATCH_``.

The service and the three workers read the same settings (one ``DISPATCH_`` set per
deployment); each worker uses the part for its channel. Secrets (SMTP password,
e-invoice endpoint token) are ``SecretStr``: never logged, never in ``repr``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from services.dispatch.cores import available_cores
from shared.events.customers import Channel
from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DISPATCH_", extra="ignore")

    service_name: str = "dispatch"
    """Also the outbox relay's identity: the service and its workers share one outbox
    (one database), so they must share the name (one relay leader among them)."""
    http_port: int = 8004
    jobs_max_concurrent: int = 8
    """A send job runs until its documents are delivered or failed: one per channel
    (and their previews) must fit at once."""

    # --- sending ---------------------------------------------------------------
    auto_send: frozenset[Channel] = frozenset()
    """Channels whose documents are queued as soon as they arrive (env as JSON:
    ``'["email"]'``); the others wait for a clerk's send."""
    send_chunk_size: int = 500
    """Documents one send-job chunk queues (one transaction)."""
    send_track_interval_s: float = 0.5
    """How often a send job counts its documents' outcomes once all are queued."""
    preview_samples: int = 10
    """Rendered documents a preview keeps for download (problems are always listed)."""

    # --- retries -----------------------------------------------------------------
    retry_max_attempts: int = 5
    """Attempts in all for a document whose failures are transient, then failed."""
    retry_base_s: float = 30.0
    retry_factor: float = 2.0
    retry_max_delay_s: float = 3600.0
    retry_poll_interval_s: float = 2.0
    """How often the service queues documents whose retry time has come."""

    # --- workers -------------------------------------------------------------------
    worker_http_port: int | None = None
    """HTTP port of a worker (health, readiness, metrics); None: 8011 e-mail, 8012
    e-invoice, 8013 print (``--port`` overrides)."""
    worker_concurrency: dict[str, int] = Field(default_factory=lambda: {"email": 32, "einvoice": 32, "print": 16})
    """Documents one worker delivers at the same time, per channel: rendering is CPU
    work and runs in turn, this overlaps the waits (SMTP, fsync, the commit of outcomes).
    It is also the most documents that can be between "delivered" and "recorded" when a
    worker dies (see the README's remaining window). E-mail: 32 with 8 connections, so the
    connections send while other senders wait for their outcomes' commit (8 in flight
    left each connection idle half the time: 118 against 246 mails/s measured)."""

    render_ahead_interval_s: float = 1.0
    """How often an e-mail worker looks for waiting documents to render ahead of their
    send (stored once; the sending path then only reads and sends); 0: never (each
    document is rendered once by its first attempt instead)."""
    render_ahead_batch: int = 32
    """Documents rendered ahead per transaction (each under an advisory lock meanwhile, no
    row lock)."""

    render_processes: int | None = None
    """Processes an e-invoice or print worker renders in (Finvoice build + check, the
    PDF), beside its own, which claims, delivers and records: None = one per core it may
    use but one (the CPUs it may run on, capped by its container's CPU limit:
    :func:`services.dispatch.cores.available_cores`), at most 4, 0 with fewer than 2
    cores; 0 = in the worker's own process. Each process holds about 110 MiB: set it
    with the memory limit in mind."""

    # --- e-mail (SMTP) -----------------------------------------------------------
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_use_tls: bool = False
    """Implicit TLS from the first byte (port 465)."""
    smtp_start_tls: bool | None = None
    """STARTTLS: True = required, False = never, None = when the server offers it."""
    smtp_validate_certs: bool = True
    smtp_ca_file: str | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = 30.0
    smtp_connections: int = 8
    """SMTP connections one worker keeps open and sends over (one message at a time each)."""
    mail_from: str = "laskutus@billing.invalid"
    mail_sender_name: str | None = None
    mail_reply_to: str | None = None
    message_id_domain: str = "billing.invalid"

    # --- e-invoice (Finvoice) ------------------------------------------------------
    einvoice_mode: Literal["folder", "http"] = "folder"
    einvoice_folder: Path = Path(".local/dispatch/einvoice")
    """The operator's drop folder: ``finvoice-<document id>.xml``, written atomically."""
    einvoice_url: str | None = None
    """The operator's endpoint (``einvoice_mode=http``): one POST per file."""
    einvoice_token: SecretStr | None = None
    einvoice_timeout_s: float = 30.0
    einvoice_sender_address: str | None = None
    """The seller's e-invoice address in the transmission frame (None: the document's)."""
    einvoice_sender_intermediator: str | None = None

    # --- print -----------------------------------------------------------------------
    print_folder: Path = Path(".local/dispatch/print")
    """The print house's folder: ``print-<batch>.pdf`` + ``.json`` + ``.csv`` per send."""
    print_close_interval_s: float = 1.0
    """How often a print worker looks for batches it can close."""

    @field_validator("worker_concurrency")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        if any(n < 1 for n in value.values()):
            raise ValueError("worker_concurrency: at least 1 per channel")
        return value

    def concurrency(self, channel: Channel) -> int:
        return self.worker_concurrency.get(channel, 1)

    def renderers(self) -> int:
        """How many render processes (``render_processes``; 0: none, render in-process)."""
        if self.render_processes is not None:
            return max(0, self.render_processes)
        return default_renderers(available_cores())


def default_renderers(cores: int) -> int:
    """Render processes beside the worker's own on ``cores`` cores: one per core but the
    worker's, at most 4; none (render in-process) with fewer than 2."""
    return min(4, max(0, cores - 1))
