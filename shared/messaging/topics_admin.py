"""The topics on the brokers: read what they are, make them what is declared.

The decisions are pure (:mod:`shared.messaging.topic_plan`); this module only talks to
Kafka (aiokafka's admin client: metadata, DescribeConfigs, CreateTopics,
CreatePartitions, AlterConfigs). AlterConfigs is not incremental: it replaces every
config set on the topic, so :meth:`TopicPlan.alter_set` sends the whole set (declared
and undeclared-but-present), never only the changed keys.

At a service's start (:func:`prepare_topics`): in ``development`` it creates the
missing topics it needs (from ``kafka_topics_file`` when set, else from the registry);
in ``production`` it creates nothing and refuses to start unless each topic it
produces, consumes or dead-letters to exists with at least the declared durability.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.events.topics import TopicSpec
from shared.messaging.connection import aiokafka_kwargs
from shared.messaging.topic_declarations import TopicDecl, load_declaration, registry_declaration
from shared.messaging.topic_plan import ActualTopic, ConfigValue, TopicPlan, plan, verify
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36
UNKNOWN_TOPIC = 3
# Production defaults when no file is given (issue 18): three replicas, two in sync.
PRODUCTION_REPLICATION_FACTOR = 3
PRODUCTION_MIN_INSYNC_REPLICAS = 2


class TopicsNotReady(RuntimeError):
    """A production service's topics are missing or weaker than declared."""


def admin_client(settings: ServiceSettings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**aiokafka_kwargs(settings))


async def describe(admin: AIOKafkaAdminClient, names: Iterable[str]) -> dict[str, ActualTopic | None]:
    """What the brokers have for these (full, prefixed) names; None where a topic is missing."""
    names = list(dict.fromkeys(names))
    existing = set(await admin.list_topics())
    present = [n for n in names if n in existing]
    found: dict[str, ActualTopic | None] = dict.fromkeys(names)
    if not present:
        return found
    replicas: dict[str, tuple[int, int]] = {}
    for topic in await admin.describe_topics(present):
        if topic["error_code"] == 0 and topic["partitions"]:
            parts = topic["partitions"]
            replicas[topic["topic"]] = (len(parts), min(len(p["replicas"]) for p in parts))
    configs: dict[str, dict[str, ConfigValue]] = {}
    resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in present]
    for response in await admin.describe_configs(resources):
        for error_code, _message, _type, name, entries in response.resources:
            if error_code == 0:
                configs[name] = {entry[0]: ConfigValue(entry[1], entry[3]) for entry in entries}
    for name in present:
        if name in replicas:  # a topic being deleted has no partitions: missing
            partitions, factor = replicas[name]
            found[name] = ActualTopic(partitions, factor, configs.get(name, {}))
    return found


async def read_actual(
    admin: AIOKafkaAdminClient, declared: Mapping[str, TopicDecl], prefix: str
) -> dict[str, ActualTopic | None]:
    """The actual topics by *declared* (unprefixed) name."""
    actual = await describe(admin, [prefix + name for name in declared])
    return {name: actual[prefix + name] for name in declared}


@dataclass
class ApplyResult:
    created: list[str]
    grown: list[str]
    altered: list[str]
    refused: list[str]
    """``topic: reason`` lines."""
    raced: list[str]
    """Topics that were missing in the plan and existed when created (someone else made
    them meanwhile): not checked against the declaration; plan again."""


async def apply_plan(admin: AIOKafkaAdminClient, plans: Sequence[TopicPlan], prefix: str) -> ApplyResult:
    """Do what each plan allows; what it refuses is reported, never attempted."""
    result = ApplyResult([], [], [], [f"{prefix}{p.name}: {r}" for p in plans for r in p.refused], [])
    to_create = [p for p in plans if p.create]
    if to_create:
        result.created = await _create(admin, [p.declared for p in to_create], prefix)
        result.raced = sorted({prefix + p.name for p in to_create} - set(result.created))
    grow = {prefix + p.name: NewPartitions(p.partitions_to) for p in plans if p.partitions_to is not None}
    if grow:
        await admin.create_partitions(grow)
        result.grown = sorted(grow)
    alters = [p for p in plans if not p.create and p.config_changes]
    if alters:
        resources = [ConfigResource(ConfigResourceType.TOPIC, prefix + p.name, p.alter_set()) for p in alters]
        for response in await admin.alter_configs(resources):
            for error_code, message, _type, name in response.resources:
                if error_code:
                    raise RuntimeError(f"altering the configs of {name} failed: Kafka error {error_code} ({message})")
        result.altered = sorted(prefix + p.name for p in alters)
    return result


async def _create(admin: AIOKafkaAdminClient, decls: Iterable[TopicDecl], prefix: str) -> list[str]:
    new = [NewTopic(prefix + d.name, d.partitions, d.replication_factor, topic_configs=dict(d.configs)) for d in decls]
    response = await admin.create_topics(new)
    created = []
    for topic_error in response.topic_errors:
        name, code = topic_error[0], topic_error[1]
        if code == 0:
            created.append(name)
        elif code != TOPIC_ALREADY_EXISTS:
            message = topic_error[2] if len(topic_error) > 2 else ""
            raise RuntimeError(f"creating topic {name} failed: Kafka error {code} ({message})")
    return sorted(created)


# --- a service's start ---------------------------------------------------------


def needed_names(produced: Iterable[TopicSpec], consumed: Iterable[TopicSpec]) -> list[str]:
    """Every topic a service touches: what it produces and consumes, and the DLQs of the latter."""
    consumed = list(consumed)
    names = [s.name for s in [*produced, *consumed]] + [s.dead_letter for s in consumed]
    return list(dict.fromkeys(names))


def service_declaration(
    settings: ServiceSettings, produced: Iterable[TopicSpec], consumed: Iterable[TopicSpec]
) -> dict[str, TopicDecl]:
    """What the service's topics must be: from ``kafka_topics_file`` when set, else the
    registry with the mode's defaults (production: RF 3, min ISR 2; development: RF 1)."""
    names = needed_names(produced, consumed)
    if settings.kafka_topics_file is not None:
        dead_letters = [s.dead_letter for s in consumed]
        declared = load_declaration(settings.kafka_topics_file, dead_letters=dead_letters)
    else:
        production = settings.mode == "production"
        declared = registry_declaration(
            partitions=settings.kafka_partitions,
            channel_partitions=settings.kafka_channel_partitions,
            replication_factor=PRODUCTION_REPLICATION_FACTOR if production else 1,
            min_insync_replicas=PRODUCTION_MIN_INSYNC_REPLICAS if production else 1,
        )
    return {name: declared[name] for name in names}


def fix_command(settings: ServiceSettings, fix: str) -> str:
    """The command that fixes a :func:`verify` problem of this service."""
    file = settings.kafka_topics_file or "deploy/topics/production.toml"
    prefix = f" --prefix {settings.kafka_topic_prefix}" if settings.kafka_topic_prefix else ""
    apply = f"billing topics apply --file {file}{prefix}"
    if fix == "grow":
        return f"{apply} --allow-partition-increase (after draining its consumers)"
    if fix == "reassign":
        return (
            "kafka-reassign-partitions.sh --execute (a partition reassignment; `billing topics plan` prints the hint)"
        )
    return apply


def topics_error(settings: ServiceSettings, problems: list[tuple[str, str]]) -> TopicsNotReady:
    prefix = settings.kafka_topic_prefix
    service, count = settings.service_name, len(problems)
    lines = [f"{service}: refusing to start: {count} topic problem(s) (production mode creates no topics)"]
    lines += [f"  - {prefix}{problem}" for problem, _fix in problems]
    fixes = list(dict.fromkeys(fix_command(settings, fix) for _problem, fix in problems))
    lines += [f"fix: {command}" for command in fixes]
    return TopicsNotReady("\n".join(lines))


async def prepare_topics(
    settings: ServiceSettings, produced: Iterable[TopicSpec], consumed: Iterable[TopicSpec]
) -> list[str]:
    """development: create the missing topics (returns their names). production: create
    nothing; raise :class:`TopicsNotReady` listing every problem and the fixing command."""
    declared = service_declaration(settings, produced, consumed)
    prefix = settings.kafka_topic_prefix
    admin = admin_client(settings)
    await admin.start()
    try:
        actual = await read_actual(admin, declared, prefix)
        if settings.mode == "production":
            problems = verify(declared, actual)
            if problems:
                raise topics_error(settings, problems)
            return []
        missing = [p for p in plan(declared, actual) if p.create]
        if not missing:
            return []
        created = await _create(admin, [p.declared for p in missing], prefix)
        if created:
            log.info("created topics: %s", ", ".join(created))
        return created
    finally:
        await admin.close()
