"""How to reach Kafka: the same bootstrap servers, TLS and SASL for FastStream's broker
and for the raw aiokafka clients (outbox relay producer, topic admin)."""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka import AIOKafkaProducer
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from shared.settings import ServiceSettings


def _ssl_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        return ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    return None


def faststream_security(settings: ServiceSettings) -> BaseSecurity | None:
    ctx = _ssl_context(settings)
    if settings.kafka_security_protocol.startswith("SASL"):
        user = settings.kafka_sasl_username or ""
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
        cls = {
            "PLAIN": SASLPlaintext,
            "SCRAM-SHA-256": SASLScram256,
            "SCRAM-SHA-512": SASLScram512,
        }[settings.kafka_sasl_mechanism]
        return cls(username=user, password=password, ssl_context=ctx)
    if ctx is not None:
        return BaseSecurity(ssl_context=ctx)
    return None


def bootstrap_servers(settings: ServiceSettings) -> list[str]:
    """``host:port[,host:port...]`` as a list: FastStream takes a string for ONE server
    (it wraps it in a list, and aiokafka then reads ``a:1,b:2,c:3`` as one host), so a
    cluster's three brokers must be given as three items."""
    servers = [s.strip() for s in settings.kafka_bootstrap_servers.split(",") if s.strip()]
    if not servers:
        raise ValueError("kafka_bootstrap_servers names no server")
    return servers


def aiokafka_kwargs(settings: ServiceSettings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers(settings),
        "security_protocol": settings.kafka_security_protocol,
        "client_id": settings.service_name,
    }
    ctx = _ssl_context(settings)
    if ctx is not None:
        kwargs["ssl_context"] = ctx
    if settings.kafka_security_protocol.startswith("SASL"):
        kwargs["sasl_mechanism"] = settings.kafka_sasl_mechanism
        kwargs["sasl_plain_username"] = settings.kafka_sasl_username
        kwargs["sasl_plain_password"] = (
            settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        )
    return kwargs


def relay_transactional_id(settings: ServiceSettings) -> str:
    """One per service (and topic prefix): every relay replica of the service uses it,
    so the one that starts its producer last fences the others."""
    return f"{settings.kafka_topic_prefix}{settings.service_name}-outbox-relay"


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """The only producer business events go through: transactional (hence idempotent,
    ``acks=all``) with the service's relay id, so starting it fences earlier ones."""
    return AIOKafkaProducer(
        acks="all",
        enable_idempotence=True,
        transactional_id=relay_transactional_id(settings),
        transaction_timeout_ms=settings.outbox_transaction_timeout_ms,
        linger_ms=5,
        max_batch_size=256 * 1024,
        **aiokafka_kwargs(settings),
    )
