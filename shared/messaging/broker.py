"""FastStream broker with safe producer defaults (``acks="all"``, idempotence)."""

from __future__ import annotations

import logging

from faststream.kafka import KafkaBroker

from shared.messaging.connection import faststream_security
from shared.settings import ServiceSettings


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        security=faststream_security(settings),
        client_id=settings.service_name,
        graceful_timeout=30.0,
        logger=logging.getLogger(f"{settings.service_name}.broker"),
        log_level=logging.DEBUG,
    )
