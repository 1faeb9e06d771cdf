"""Topics as declared infrastructure: the file that says what every topic must be.

One TOML file per environment (``deploy/topics/<environment>.toml``)::

    [defaults]                       # every topic, unless it says otherwise
    partitions = 6
    replication_factor = 3
    [defaults.config]
    "min.insync.replicas" = 2
    "unclean.leader.election.enable" = false
    "retention.ms" = 1209600000

    [dead_letters]                   # every <topic>.dlq, over [defaults]
    config = { "retention.ms" = 1209600000 }

    [topics."crm.customer-upserts.v1"]   # every registry topic and dead-letter topic
    config = { "retention.ms" = 604800000 }
    [topics."crm.customer-upserts.v1.dlq"]

Pure: :func:`parse_declaration` turns the text into :class:`TopicDecl` per topic name
(without the environment's prefix) or raises :class:`DeclarationError` listing every
problem at once: a name the registry does not know (a typo), a registry topic or a
required dead-letter topic the file forgets, ``min.insync.replicas`` above the
replication factor, unclean leader election on, a config Kafka does not know, a
compacted or kept-forever registry topic (``TopicSpec.compacted``, ``kept_forever``)
declared otherwise.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.events.topics import ALL, TopicSpec, dead_letter_name

# Topic-level configs Kafka (4.x) knows: a name outside this set is a typo.
KNOWN_CONFIGS = frozenset(
    {
        "cleanup.policy",
        "compression.type",
        "compression.gzip.level",
        "compression.lz4.level",
        "compression.zstd.level",
        "delete.retention.ms",
        "file.delete.delay.ms",
        "flush.messages",
        "flush.ms",
        "follower.replication.throttled.replicas",
        "index.interval.bytes",
        "leader.replication.throttled.replicas",
        "local.retention.bytes",
        "local.retention.ms",
        "max.compaction.lag.ms",
        "max.message.bytes",
        "message.timestamp.after.max.ms",
        "message.timestamp.before.max.ms",
        "message.timestamp.type",
        "min.cleanable.dirty.ratio",
        "min.compaction.lag.ms",
        "min.insync.replicas",
        "preallocate",
        "remote.log.copy.disable",
        "remote.log.delete.on.disable",
        "remote.storage.enable",
        "retention.bytes",
        "retention.ms",
        "segment.bytes",
        "segment.index.bytes",
        "segment.jitter.ms",
        "segment.ms",
        "unclean.leader.election.enable",
    }
)
# What every topic must say (after defaults), so nothing durable is left to a broker default.
REQUIRED_CONFIGS = ("min.insync.replicas", "unclean.leader.election.enable", "cleanup.policy")
# A topic kept forever (the registry's ``kept_forever``): neither time nor size deletes a record.
KEPT_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}


class DeclarationError(ValueError):
    """The declaration file is wrong; ``problems`` lists every reason."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems) if len(problems) == 1 else _listing(source, problems))


def _listing(source: str, problems: list[str]) -> str:
    return "\n".join([f"{source}: {len(problems)} problem(s):", *(f"  - {p}" for p in problems)])


def kafka_value(value: Any) -> str:
    """A config value as Kafka writes it: ``false``, ``604800000``, ``compact,delete``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def policies(value: str | None) -> frozenset[str]:
    """``cleanup.policy`` as a set (``compact,delete`` == ``delete,compact``)."""
    return frozenset(p.strip() for p in (value or "delete").split(",") if p.strip())


@dataclass(frozen=True)
class TopicDecl:
    name: str
    """Without the environment's prefix."""
    partitions: int
    replication_factor: int
    configs: Mapping[str, str] = field(default_factory=dict)

    @property
    def min_insync_replicas(self) -> int:
        return int(self.configs.get("min.insync.replicas", "1"))


def known_topic_names(registry: Iterable[TopicSpec] = ALL) -> set[str]:
    """Every name a declaration may use: the registry's topics and their dead-letter topics."""
    names: set[str] = set()
    for spec in registry:
        names.update((spec.name, spec.dead_letter))
    return names


def parse_declaration(
    text: str,
    *,
    source: str = "topics file",
    registry: Iterable[TopicSpec] = ALL,
    dead_letters: Iterable[str] = (),
) -> dict[str, TopicDecl]:
    """The declared topics by name. ``dead_letters``: dead-letter topics that must be
    declared (those of the topics some service consumes)."""
    registry = tuple(registry)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DeclarationError(source, [f"not valid TOML ({exc})"]) from None
    problems: list[str] = []
    unknown_sections = set(doc) - {"defaults", "dead_letters", "topics"}
    if unknown_sections:
        problems.append(f"unknown section(s): {', '.join(sorted(unknown_sections))}")
    defaults = _table(doc, "defaults", problems)
    dlq_defaults = _table(doc, "dead_letters", problems)
    topics = _table(doc, "topics", problems)

    known = known_topic_names(registry)
    dlq_names = {spec.dead_letter for spec in registry}
    for name in sorted(set(topics) - known):
        problems.append(f"unknown topic {name!r} (not in the registry shared/events/topics.py: a typo?)")
    required = {spec.name for spec in registry} | set(dead_letters)
    for name in sorted(required - set(topics)):
        problems.append(f"topic {name!r} is not declared")

    declared: dict[str, TopicDecl] = {}
    for name in sorted(set(topics) & known):
        layers = [defaults, dlq_defaults, topics[name]] if name in dlq_names else [defaults, topics[name]]
        decl = _resolve(name, layers, problems)
        if decl is not None:
            declared[name] = decl
    for spec in registry:
        if spec.name in declared:
            problems += load_bearing_problems(spec, declared[spec.name])
    if problems:
        raise DeclarationError(source, problems)
    return declared


def load_bearing_problems(spec: TopicSpec, decl: TopicDecl) -> list[str]:
    """What the registry requires of a topic's declaration whatever the environment:
    compaction where erasure relies on it, retention -1 where a rebuild reads it all."""
    problems: list[str] = []
    if spec.compacted and "compact" not in policies(decl.configs.get("cleanup.policy")):
        problems.append(f"{spec.name}: cleanup.policy must include compact (the erasure tombstones rely on it)")
    if spec.kept_forever:
        for key, value in KEPT_FOREVER.items():
            if decl.configs.get(key) != value:
                problems.append(
                    f"{spec.name}: {key} must be {value}, is {decl.configs.get(key) or 'not declared'} "
                    "(kept forever: the invoice reconcile rebuilds from the whole topic)"
                )
    return problems


def load_declaration(
    path: str | Path, *, registry: Iterable[TopicSpec] = ALL, dead_letters: Iterable[str] = ()
) -> dict[str, TopicDecl]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeclarationError(str(path), [f"cannot read it ({exc.strerror or exc})"]) from None
    return parse_declaration(text, source=str(path), registry=registry, dead_letters=dead_letters)


def _table(doc: Mapping[str, Any], key: str, problems: list[str]) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        problems.append(f"[{key}] must be a table")
        return {}
    return value


def _resolve(name: str, layers: list[Any], problems: list[str]) -> TopicDecl | None:
    partitions: Any = None
    replication: Any = None
    configs: dict[str, str] = {}
    before = len(problems)
    for layer in layers:
        if not isinstance(layer, dict):
            problems.append(f"{name}: must be a table")
            return None
        for key in set(layer) - {"partitions", "replication_factor", "config"}:
            problems.append(f"{name}: unknown setting {key!r} (partitions, replication_factor, config)")
        partitions = layer.get("partitions", partitions)
        replication = layer.get("replication_factor", replication)
        layer_configs = layer.get("config", {})
        if not isinstance(layer_configs, dict):
            problems.append(f"{name}: config must be a table")
            continue
        for key, value in layer_configs.items():
            if key not in KNOWN_CONFIGS:
                problems.append(f"{name}: unknown config {key!r}")
            elif isinstance(value, dict):
                problems.append(f"{name}: config {key!r} must be a value")
            else:
                configs[key] = kafka_value(value)
    for label, value in (("partitions", partitions), ("replication_factor", replication)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"{name}: {label} must be a whole number >= 1 (is {value!r})")
    for key in REQUIRED_CONFIGS:
        if key not in configs:
            problems.append(f"{name}: {key} is not declared")
    if configs.get("unclean.leader.election.enable", "false") != "false":
        problems.append(f"{name}: unclean.leader.election.enable must be false (it loses acknowledged records)")
    min_isr = configs.get("min.insync.replicas")
    if min_isr is not None:
        if not min_isr.isdigit() or int(min_isr) < 1:
            problems.append(f"{name}: min.insync.replicas must be a whole number >= 1 (is {min_isr!r})")
        elif isinstance(replication, int) and int(min_isr) > replication:
            problems.append(
                f"{name}: min.insync.replicas {min_isr} > replication_factor {replication} "
                "(no write could ever be acknowledged with acks=all)"
            )
    if policies(configs.get("cleanup.policy")) - {"compact", "delete"}:
        problems.append(f"{name}: cleanup.policy must be compact, delete or both")
    if len(problems) > before:
        return None
    return TopicDecl(name, partitions, replication, configs)


def registry_declaration(
    *,
    partitions: int,
    channel_partitions: int,
    replication_factor: int,
    min_insync_replicas: int,
    registry: Iterable[TopicSpec] = ALL,
) -> dict[str, TopicDecl]:
    """What a service assumes without a file: the registry with these numbers (and
    compaction and retention -1 where the registry says so); every topic with its
    dead-letter topic."""
    base = {"min.insync.replicas": str(min_insync_replicas), "unclean.leader.election.enable": "false"}
    declared: dict[str, TopicDecl] = {}
    for spec in registry:
        count = channel_partitions if spec.channel else partitions
        policy = "compact" if spec.compacted else "delete"
        kept = KEPT_FOREVER if spec.kept_forever else {}
        declared[spec.name] = TopicDecl(
            spec.name, count, replication_factor, {**base, "cleanup.policy": policy, **kept}
        )
        declared[spec.dead_letter] = TopicDecl(
            dead_letter_name(spec.name), partitions, replication_factor, {**base, "cleanup.policy": "delete"}
        )
    return declared
