"""What every service shares, and nothing service-specific.

- ``shared.events``: the contract: event models, CloudEvents envelope, topic registry.
- ``shared.messaging``: broker factory with safe defaults, transactional outbox and its
  relay, inbox (idempotent consumer), dead letters, the batch consumer loop.
- ``shared.db``: async engine/session factory, unit of work base, Alembic runner.
- ``shared.settings``: the settings every service has (one env prefix per service).
- ``shared.runtime`` / ``shared.http``: service lifecycle, health, readiness, API token.
"""
