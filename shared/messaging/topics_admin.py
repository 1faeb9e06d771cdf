"""Creates the topics a service needs from the registry (broker auto-creation is off)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.events.topics import TopicSpec
from shared.messaging.connection import aiokafka_kwargs
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36


def topic_plan(
    settings: ServiceSettings, produced: Iterable[TopicSpec], consumed: Iterable[TopicSpec]
) -> list[NewTopic]:
    """Topics to exist: what a service produces and consumes, and a DLQ per consumed one."""
    wanted: dict[str, NewTopic] = {}

    def add(name: str, spec: TopicSpec) -> None:
        configs = {"cleanup.policy": "compact"} if spec.compacted else {}
        partitions = settings.kafka_channel_partitions if spec.channel else settings.kafka_partitions
        wanted[name] = NewTopic(
            settings.topic(name),
            num_partitions=partitions,
            replication_factor=settings.kafka_replication_factor,
            topic_configs=configs,
        )

    consumed = list(consumed)
    for spec in [*produced, *consumed]:
        add(spec.name, spec)
    for spec in consumed:
        wanted[spec.dead_letter] = NewTopic(
            settings.topic(spec.dead_letter),
            num_partitions=settings.kafka_partitions,
            replication_factor=settings.kafka_replication_factor,
        )
    return list(wanted.values())


async def ensure_topics(
    settings: ServiceSettings, produced: Iterable[TopicSpec], consumed: Iterable[TopicSpec]
) -> list[str]:
    """Create missing topics; returns the names created now."""
    plan = topic_plan(settings, produced, consumed)
    admin = AIOKafkaAdminClient(**aiokafka_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in plan if t.name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(missing)
        created = []
        for topic_error in response.topic_errors:
            name, code = topic_error[0], topic_error[1]
            if code == 0:
                created.append(name)
            elif code != TOPIC_ALREADY_EXISTS:
                raise RuntimeError(f"creating topic {name} failed with Kafka error {code}")
        if created:
            log.info("created topics: %s", ", ".join(sorted(created)))
        return created
    finally:
        await admin.close()
