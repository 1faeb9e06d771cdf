"""Declared vs. actual topics (pure): what is done, what is refused and why, what the
production start check calls a problem."""

from shared.messaging.topic_declarations import TopicDecl
from shared.messaging.topic_plan import DYNAMIC_TOPIC_CONFIG, ActualTopic, ConfigValue, plan, plan_topic, render, verify

DEFAULT_CONFIG = 5  # Kafka's config_source of a value nobody set
NAME = "invoicing.invoices.v1"
DECL = TopicDecl(
    NAME,
    6,
    3,
    {
        "min.insync.replicas": "2",
        "unclean.leader.election.enable": "false",
        "cleanup.policy": "delete",
        "retention.ms": "-1",
    },
)


def actual(partitions: int = 6, replication: int = 3, **configs: str) -> ActualTopic:
    values = {
        "min.insync.replicas": ConfigValue("2"),
        "unclean.leader.election.enable": ConfigValue("false"),
        "cleanup.policy": ConfigValue("delete"),
        "retention.ms": ConfigValue("-1"),
        "segment.bytes": ConfigValue("1073741824", DEFAULT_CONFIG),
    }
    values.update({k.replace("_", "."): ConfigValue(v) for k, v in configs.items()})
    return ActualTopic(partitions, replication, values)


def test_a_missing_topic_is_created_as_declared() -> None:
    [item] = plan({NAME: DECL}, {NAME: None})
    assert item.create and item.declared is DECL and not item.refused


def test_a_topic_as_declared_needs_nothing() -> None:
    item = plan_topic(NAME, DECL, actual())
    assert not item.has_work and not item.refused and not item.undeclared


def test_a_config_that_differs_is_altered_and_the_whole_set_is_sent() -> None:
    item = plan_topic(NAME, DECL, actual(retention_ms="604800000", max_message_bytes="2000000"))
    assert item.config_changes == {"retention.ms": ("604800000", "-1")}
    assert item.undeclared == {"max.message.bytes": "2000000"}  # flagged, not removed
    # AlterConfigs replaces every topic-level config: the undeclared one must go along
    assert item.alter_set() == {**DECL.configs, "max.message.bytes": "2000000"}
    assert not item.refused


def test_a_broker_default_is_neither_flagged_nor_kept_as_a_topic_config() -> None:
    item = plan_topic(NAME, DECL, actual())
    assert "segment.bytes" not in item.undeclared and "segment.bytes" not in item.alter_set()


def test_fewer_partitions_are_refused() -> None:
    item = plan_topic(NAME, DECL, actual(partitions=8))
    assert not item.has_work
    assert item.refused == [
        "partitions 8 -> 6: Kafka cannot remove partitions (recreate the topic, or declare what it has)"
    ]


def test_more_partitions_only_with_the_flag_because_keys_move() -> None:
    refused = plan_topic(NAME, DECL, actual(partitions=3))
    assert refused.partitions_to is None
    [reason] = refused.refused
    assert "--allow-partition-increase" in reason and "in flight" in reason
    allowed = plan_topic(NAME, DECL, actual(partitions=3), allow_partition_increase=True)
    assert allowed.partitions_to == 6 and not allowed.refused


def test_a_replication_factor_change_is_refused_with_the_reassignment_hint() -> None:
    item = plan_topic(NAME, DECL, actual(replication=1))
    [reason] = item.refused
    assert reason.startswith("replication factor is 1, declared 3")
    assert "kafka-reassign-partitions.sh" in reason and "--reassignment-json-file" in reason
    down = plan_topic(NAME, DECL, actual(replication=5))
    assert down.refused and down.refused[0].startswith("replication factor is 5, declared 3")


def test_compact_to_delete_is_refused_delete_to_compact_is_a_change() -> None:
    compacted = plan_topic(NAME, DECL, actual(cleanup_policy="compact"))
    assert "cleanup.policy" not in compacted.config_changes
    assert compacted.refused and compacted.refused[0].startswith("cleanup.policy compact -> delete")
    both = plan_topic(NAME, DECL, actual(cleanup_policy="compact,delete"))
    assert both.refused  # dropping compaction from compact,delete loses keys too
    to_compact = TopicDecl(NAME, 6, 3, {**DECL.configs, "cleanup.policy": "compact"})
    item = plan_topic(NAME, to_compact, actual())
    assert item.config_changes == {"cleanup.policy": ("delete", "compact")} and not item.refused


def test_a_refused_config_keeps_the_topics_own_value_when_the_others_are_altered() -> None:
    item = plan_topic(NAME, DECL, actual(cleanup_policy="compact", retention_ms="5"))
    assert item.config_changes == {"retention.ms": ("5", "-1")}
    assert item.alter_set()["cleanup.policy"] == "compact"  # the alter never turns compaction off


def test_a_retention_kept_forever_is_never_lowered_the_rest_applied() -> None:
    finite = TopicDecl(
        NAME, 6, 3, {**DECL.configs, "retention.ms": "604800000", "retention.bytes": "1073741824", "segment.ms": "1"}
    )
    item = plan_topic(NAME, finite, actual(retention_bytes="-1"))
    assert [r.split(":")[0] for r in item.refused] == [
        "retention.bytes -1 -> 1073741824",
        "retention.ms -1 -> 604800000",
    ]
    assert "kept forever" in item.refused[0]
    assert item.config_changes == {"segment.ms": (None, "1")}
    assert item.alter_set()["retention.ms"] == "-1" and item.alter_set()["retention.bytes"] == "-1"


def test_a_limit_where_the_broker_default_is_unlimited_is_a_change() -> None:
    # retention.bytes is -1 by the broker's default on every topic: only the topic's own -1 is held
    decl = TopicDecl(NAME, 6, 3, {**DECL.configs, "retention.bytes": "1073741824"})
    default = ActualTopic(6, 3, {**actual().configs, "retention.bytes": ConfigValue("-1", DEFAULT_CONFIG)})
    item = plan_topic(NAME, decl, default)
    assert item.config_changes == {"retention.bytes": ("-1", "1073741824")} and not item.refused


def test_min_insync_replicas_above_the_topics_replicas_is_refused_the_rest_applied() -> None:
    item = plan_topic(NAME, DECL, actual(replication=1, min_insync_replicas="1", retention_ms="5"))
    assert "min.insync.replicas 1 -> 2: the topic has 1 replica(s)" in "\n".join(item.refused)
    assert item.config_changes == {"retention.ms": ("5", "-1")}
    assert item.alter_set()["min.insync.replicas"] == "1"
    unset = ActualTopic(6, 1, {"min.insync.replicas": ConfigValue("1", DEFAULT_CONFIG)})
    assert "min.insync.replicas" not in plan_topic(NAME, DECL, unset).alter_set()  # the broker's default stays


def test_cleanup_policy_order_does_not_matter() -> None:
    decl = TopicDecl(NAME, 6, 3, {**DECL.configs, "cleanup.policy": "compact,delete"})
    assert not plan_topic(NAME, decl, actual(cleanup_policy="delete,compact")).has_work


def test_render_says_what_happens_per_topic_with_the_prefix() -> None:
    plans = plan(
        {NAME: DECL, "invoicing.runs.v1": TopicDecl("invoicing.runs.v1", 6, 3, DECL.configs)},
        {NAME: actual(partitions=8, retention_ms="5"), "invoicing.runs.v1": None},
    )
    text = "\n".join(render(plans, "p."))
    assert "+ p.invoicing.runs.v1: create, 6 partition(s), replication 3" in text
    assert "~ p.invoicing.invoices.v1" in text
    assert "    retention.ms: 5 -> -1" in text
    assert "    REFUSED partitions 8 -> 6" in text
    assert text.endswith(
        "2 topic(s) declared: 1 to create, 1 to change, 0 with only refused changes, 0 in sync; 1 refused"
    )


def test_render_does_not_count_a_topic_whose_only_change_is_refused_as_in_sync() -> None:
    plans = plan(
        {NAME: DECL, "invoicing.runs.v1": TopicDecl("invoicing.runs.v1", 6, 3, DECL.configs)},
        {NAME: actual(partitions=8), "invoicing.runs.v1": actual()},
    )
    text = "\n".join(render(plans))
    assert text.endswith(
        "2 topic(s) declared: 0 to create, 0 to change, 1 with only refused changes, 1 in sync; 1 refused"
    )


def test_verify_names_every_weakness_and_how_it_is_fixed() -> None:
    declared = {NAME: DECL, "a.v1": TopicDecl("a.v1", 6, 3, DECL.configs)}
    weak = ActualTopic(
        3,
        1,
        {
            "min.insync.replicas": ConfigValue("1", DEFAULT_CONFIG),
            "unclean.leader.election.enable": ConfigValue("true", DYNAMIC_TOPIC_CONFIG),
        },
    )
    assert verify(declared, {"a.v1": None, NAME: weak}) == [
        ("a.v1: missing", "apply"),
        (f"{NAME}: 3 partition(s), declared 6", "grow"),
        (f"{NAME}: replication factor 1, declared 3", "reassign"),
        (f"{NAME}: min.insync.replicas 1, declared 2", "apply"),
        (f"{NAME}: unclean.leader.election.enable is true", "apply"),
        (f"{NAME}: retention.ms (broker default), declared -1 (kept forever)", "apply"),
    ]


def test_verify_requires_a_declared_forever_retention_and_a_declared_compaction() -> None:
    forever = TopicDecl(NAME, 6, 3, {**DECL.configs, "retention.bytes": "-1"})
    profiles = "customers.billing-profiles.v1"
    compact_configs = {k: v for k, v in DECL.configs.items() if k != "retention.ms"}
    compacted = TopicDecl(profiles, 6, 3, {**compact_configs, "cleanup.policy": "compact"})
    seven_days = actual(retention_ms="604800000", retention_bytes="1073741824")
    assert verify({NAME: forever, profiles: compacted}, {NAME: seven_days, profiles: actual()}) == [
        (f"{profiles}: cleanup.policy delete, declared compact", "apply"),
        (f"{NAME}: retention.ms 604800000, declared -1 (kept forever)", "apply"),
        (f"{NAME}: retention.bytes 1073741824, declared -1 (kept forever)", "apply"),
    ]
    both = actual(cleanup_policy="compact,delete")
    good = actual(retention_bytes="-1")
    assert verify({NAME: forever, profiles: compacted}, {NAME: good, profiles: both}) == []


def test_verify_without_a_file_requires_what_the_registry_makes_load_bearing() -> None:
    from shared.messaging.topic_declarations import registry_declaration

    declared = registry_declaration(partitions=6, channel_partitions=12, replication_factor=3, min_insync_replicas=2)
    declared = {n: declared[n] for n in (NAME, "customers.billing-profiles.v1")}
    weak = {NAME: actual(retention_ms="604800000"), "customers.billing-profiles.v1": actual()}
    assert [problem for problem, _fix in verify(declared, weak)] == [
        "customers.billing-profiles.v1: cleanup.policy delete, declared compact",
        f"{NAME}: retention.ms 604800000, declared -1 (kept forever)",
        f"{NAME}: retention.bytes (broker default), declared -1 (kept forever)",
    ]


def test_verify_accepts_at_least_the_declared_durability() -> None:
    stronger = actual(partitions=12, replication=5, min_insync_replicas="3", retention_ms="5")
    finite = TopicDecl(NAME, 6, 3, {**DECL.configs, "retention.ms": "604800000"})
    assert verify({NAME: finite}, {NAME: stronger}) == []  # more is fine, a finite retention is apply's business
