"""Declared vs. actual topics: what to do, what to refuse (pure; no Kafka here).

:func:`plan` compares the declaration with what the brokers report and says, per topic:

- create it (missing);
- add partitions, only when allowed (``--allow-partition-increase``): every topic here
  is keyed, and a key's new partition is not its old one, so records of a key still in
  flight on the old partition may be handled after newer ones on the new partition;
- alter configs that differ;
- **refuse** fewer partitions (Kafka cannot remove one), a replication-factor change
  (a partition reassignment, not a config: the hint says how), and a change of
  ``cleanup.policy`` from compact to delete (retention would delete the latest value of
  every key, and the erasure tombstones with it), and a ``retention.ms`` or
  ``retention.bytes`` of -1 (kept forever, set on the topic) lowered to a limit (it
  deletes the history a rebuild reads, e.g. the invoice reconcile's);
- flag configs set on the topic but not declared (kept as they are).

:func:`verify` is the production start check: each topic a service needs exists with at
least the declared partitions, replication and ``min.insync.replicas``, unclean leader
election off, and what the declaration makes load-bearing: a retention declared -1 is
-1, a declared compaction is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.messaging.topic_declarations import TopicDecl, policies

# Kafka's DescribeConfigs config_source: set on the topic itself.
DYNAMIC_TOPIC_CONFIG = 1
RETENTIONS = ("retention.ms", "retention.bytes")
FOREVER = "-1"


@dataclass(frozen=True)
class ConfigValue:
    value: str | None
    source: int = DYNAMIC_TOPIC_CONFIG


@dataclass(frozen=True)
class ActualTopic:
    """What the brokers report for one topic."""

    partitions: int
    replication_factor: int
    """The smallest replica count over its partitions."""
    configs: Mapping[str, ConfigValue] = field(default_factory=dict)

    def value(self, key: str) -> str | None:
        found = self.configs.get(key)
        return found.value if found is not None else None


@dataclass
class TopicPlan:
    name: str
    """Without the environment's prefix."""
    declared: TopicDecl
    create: bool = False
    partitions_to: int | None = None
    """Partitions to grow to (allowed increase)."""
    config_changes: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    """config -> (actual, declared)"""
    undeclared: dict[str, str] = field(default_factory=dict)
    """Set on the topic, not declared: kept (resent with every alter)."""
    refused: list[str] = field(default_factory=list)
    held: dict[str, str | None] = field(default_factory=dict)
    """Declared configs whose change is refused: config -> the topic's own value (None:
    the broker's default), what an alter of the other configs keeps."""

    @property
    def has_work(self) -> bool:
        return self.create or self.partitions_to is not None or bool(self.config_changes)

    def alter_set(self) -> dict[str, str]:
        """The topic's whole set of topic-level configs after the alter. The (non-incremental)
        AlterConfigs request replaces every config set on the topic, so the undeclared ones
        go with it unchanged."""
        configs = {**self.undeclared, **self.declared.configs}
        for key, value in self.held.items():
            if value is None:
                configs.pop(key, None)
            else:
                configs[key] = value
        return configs


def _equal(key: str, actual: str | None, declared: str) -> bool:
    if key == "cleanup.policy":
        return policies(actual) == policies(declared)
    return actual == declared


def reassignment_hint(name: str, actual: int, declared: int) -> str:
    return (
        f"replication factor is {actual}, declared {declared}: a partition reassignment, not a config. "
        f"Write a reassignment with {declared} replica(s) per partition of {name} and run "
        "`kafka-reassign-partitions.sh --bootstrap-server <broker> --reassignment-json-file reassign.json "
        "--execute`, then `--verify`"
    )


def plan_topic(
    name: str, declared: TopicDecl, actual: ActualTopic | None, *, allow_partition_increase: bool = False
) -> TopicPlan:
    result = TopicPlan(name, declared)
    if actual is None:
        result.create = True
        return result
    if actual.partitions > declared.partitions:
        result.refused.append(
            f"partitions {actual.partitions} -> {declared.partitions}: Kafka cannot remove partitions "
            "(recreate the topic, or declare what it has)"
        )
    elif actual.partitions < declared.partitions:
        if allow_partition_increase:
            result.partitions_to = declared.partitions
        else:
            result.refused.append(
                f"partitions {actual.partitions} -> {declared.partitions}: not without --allow-partition-increase "
                "(the topic is keyed: a key moves to another partition, so its records still in flight "
                "may be handled after newer ones; drain the consumers first)"
            )
    if actual.replication_factor != declared.replication_factor:
        result.refused.append(reassignment_hint(name, actual.replication_factor, declared.replication_factor))
    for key, want in sorted(declared.configs.items()):
        have = actual.value(key)
        if _equal(key, have, want):
            continue
        refusal = _refused_change(key, have, want, actual)
        if refusal:
            result.refused.append(refusal)
            own = actual.configs.get(key)
            result.held[key] = own.value if own is not None and own.source == DYNAMIC_TOPIC_CONFIG else None
            continue
        result.config_changes[key] = (have, want)
    for key, found in sorted(actual.configs.items()):
        if found.source == DYNAMIC_TOPIC_CONFIG and key not in declared.configs and found.value is not None:
            result.undeclared[key] = found.value
    return result


def _refused_change(key: str, have: str | None, want: str, actual: ActualTopic) -> str | None:
    if key == "cleanup.policy" and "compact" in policies(have) and "compact" not in policies(want):
        return (
            f"cleanup.policy {have} -> {want}: retention would delete the latest value of every key "
            "(and the erasure tombstones); recreate the topic if that is really meant"
        )
    own = actual.configs.get(key)
    if (
        key in RETENTIONS
        and want != FOREVER
        and own is not None
        and own.source == DYNAMIC_TOPIC_CONFIG
        and own.value == FOREVER
    ):
        return (
            f"{key} -1 -> {want}: the topic is kept forever and a limit deletes its history for good "
            "(the invoice reconcile rebuilds from it); set it by hand with kafka-configs.sh if that is really meant"
        )
    if key == "min.insync.replicas" and want.isdigit() and int(want) > actual.replication_factor:
        return (
            f"min.insync.replicas {_shown(have)} -> {want}: the topic has {actual.replication_factor} replica(s), "
            "so no write could be acknowledged; raise its replication factor first"
        )
    return None


def plan(
    declared: Mapping[str, TopicDecl],
    actual: Mapping[str, ActualTopic | None],
    *,
    allow_partition_increase: bool = False,
) -> list[TopicPlan]:
    """One :class:`TopicPlan` per declared topic, in name order."""
    return [
        plan_topic(name, declared[name], actual.get(name), allow_partition_increase=allow_partition_increase)
        for name in sorted(declared)
    ]


def _shown(value: str | None) -> str:
    return "(broker default)" if value is None else value


def render(plans: list[TopicPlan], prefix: str = "") -> list[str]:
    """Human-readable lines: topic names and config values, nothing from records."""
    lines: list[str] = []
    for item in plans:
        topic = f"{prefix}{item.name}"
        if item.create:
            decl = item.declared
            configs = ", ".join(f"{k}={v}" for k, v in sorted(decl.configs.items()))
            lines.append(f"+ {topic}: create, {decl.partitions} partition(s), replication {decl.replication_factor}")
            lines.append(f"    {configs}")
            continue
        if not (item.has_work or item.refused or item.undeclared):
            continue
        lines.append(f"~ {topic}")
        if item.partitions_to is not None:
            lines.append(f"    partitions -> {item.partitions_to} (allowed by --allow-partition-increase)")
        for key, (have, want) in item.config_changes.items():
            lines.append(f"    {key}: {_shown(have)} -> {want}")
        for key, value in item.undeclared.items():
            lines.append(f"    ! {key}={value} is set on the topic but not declared (kept; declare it or delete it)")
        for reason in item.refused:
            lines.append(f"    REFUSED {reason}")
    creates = sum(p.create for p in plans)
    alters = sum(1 for p in plans if not p.create and p.has_work)
    refused_only = sum(1 for p in plans if p.refused and not p.has_work)
    in_sync = len(plans) - creates - alters - refused_only
    refused = sum(len(p.refused) for p in plans)
    lines.append(
        f"{len(plans)} topic(s) declared: {creates} to create, {alters} to change, "
        f"{refused_only} with only refused changes, {in_sync} in sync; {refused} refused"
    )
    return lines


Fix = str
"""How a :func:`verify` problem is fixed: ``apply`` (``billing topics apply``), ``grow``
(the same with ``--allow-partition-increase``), ``reassign`` (a partition reassignment)."""


def verify(declared: Mapping[str, TopicDecl], actual: Mapping[str, ActualTopic | None]) -> list[tuple[str, Fix]]:
    """What keeps a topic from being trusted in production: one (problem, fix) per problem."""
    problems: list[tuple[str, Fix]] = []
    for name in sorted(declared):
        want, have = declared[name], actual.get(name)
        if have is None:
            problems.append((f"{name}: missing", "apply"))
            continue
        if have.partitions < want.partitions:
            problems.append((f"{name}: {have.partitions} partition(s), declared {want.partitions}", "grow"))
        if have.replication_factor < want.replication_factor:
            problems.append(
                (
                    f"{name}: replication factor {have.replication_factor}, declared {want.replication_factor}",
                    "reassign",
                )
            )
        min_isr = have.value("min.insync.replicas")
        if min_isr is None or not min_isr.isdigit() or int(min_isr) < want.min_insync_replicas:
            problems.append(
                (f"{name}: min.insync.replicas {_shown(min_isr)}, declared {want.min_insync_replicas}", "apply")
            )
        unclean = have.value("unclean.leader.election.enable")
        if unclean != "false":
            problems.append((f"{name}: unclean.leader.election.enable is {_shown(unclean)}", "apply"))
        for key in RETENTIONS:
            if want.configs.get(key) == FOREVER and have.value(key) != FOREVER:
                problems.append((f"{name}: {key} {_shown(have.value(key))}, declared -1 (kept forever)", "apply"))
        policy = have.value("cleanup.policy")
        if "compact" in policies(want.configs.get("cleanup.policy")) and "compact" not in policies(policy):
            problems.append((f"{name}: cleanup.policy {_shown(policy)}, declared compact", "apply"))
    return problems
