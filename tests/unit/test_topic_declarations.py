"""The topic declaration files and their loader: what every environment declares, and
what the loader refuses (each problem named, all at once)."""

from pathlib import Path

import pytest

from billing_cli.topics import consumed_dead_letters
from shared.events.topics import ALL, BILLING_PROFILES, INVOICES
from shared.messaging.topic_declarations import (
    DeclarationError,
    TopicDecl,
    load_declaration,
    parse_declaration,
    registry_declaration,
)
from shared.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[2]
DAY_MS = 86_400_000
ENVIRONMENTS = {"development": (1, 1), "cluster": (3, 2), "production": (3, 2)}

# A small valid file over a two-topic registry (built from the real registry's specs).
REGISTRY = (INVOICES, BILLING_PROFILES)
VALID = """
[defaults]
partitions = 3
replication_factor = 3
[defaults.config]
"min.insync.replicas" = 2
"unclean.leader.election.enable" = false
"cleanup.policy" = "delete"
"retention.ms" = 1000

[dead_letters]
partitions = 1
config = { "retention.bytes" = 5 }

[topics."invoicing.invoices.v1"]
config."retention.ms" = -1
config."retention.bytes" = -1
[topics."invoicing.invoices.v1.dlq"]
config."retention.ms" = 7
[topics."customers.billing-profiles.v1"]
partitions = 4
config."cleanup.policy" = ["compact", "delete"]
"""


def declared(environment: str) -> dict[str, TopicDecl]:
    return load_declaration(REPO / "deploy" / "topics" / f"{environment}.toml", dead_letters=consumed_dead_letters())


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_declares_every_registry_topic_and_every_consumed_dead_letter_topic(environment: str) -> None:
    topics = declared(environment)
    for spec in ALL:
        assert spec.name in topics
    assert "invoicing.invoices.v1.dlq" in topics and "crm.customer-upserts.v1.dlq" in topics
    replication, min_isr = ENVIRONMENTS[environment]
    for name, decl in topics.items():
        assert decl.replication_factor == replication, name
        assert decl.min_insync_replicas == min_isr, name
        assert decl.configs["unclean.leader.election.enable"] == "false", name


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_invoices_are_kept_forever_and_profiles_compacted_with_tombstones_kept_a_month(environment: str) -> None:
    topics = declared(environment)
    assert topics["invoicing.invoices.v1"].configs["retention.ms"] == "-1"
    assert topics["invoicing.invoices.v1"].configs["retention.bytes"] == "-1"
    profiles = topics["customers.billing-profiles.v1"].configs
    assert profiles["cleanup.policy"] == "compact"
    assert int(profiles["delete.retention.ms"]) >= 30 * DAY_MS
    for name, decl in topics.items():
        if name not in ("customers.billing-profiles.v1",):
            assert decl.configs["cleanup.policy"] == "delete", name


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_a_consumed_topic_is_gone_before_its_ids_leave_the_inbox(environment: str) -> None:
    """A redelivery must not outlive the inbox: retention plus one segment (Kafka deletes
    whole segments) stays under inbox_retention_days, except the two topics that are
    meant to be kept (invoices forever; profiles compacted: an upsert, idempotent)."""
    inbox_ms = ServiceSettings.model_fields["inbox_retention_days"].default * DAY_MS
    topics = declared(environment)
    consumed = {name.removesuffix(".dlq") for name in consumed_dead_letters()}
    for name in consumed - {"invoicing.invoices.v1", "customers.billing-profiles.v1"}:
        configs = topics[name].configs
        assert 0 < int(configs["retention.ms"]) + int(configs["segment.ms"]) < inbox_ms, name


def test_dead_letter_topics_are_bounded_in_time_and_size() -> None:
    for name, decl in declared("production").items():
        if name.endswith(".dlq"):
            assert 0 < int(decl.configs["retention.ms"]) <= 30 * DAY_MS, name
            assert int(decl.configs["retention.bytes"]) > 0, name


def test_defaults_then_dead_letter_defaults_then_the_topic_itself() -> None:
    topics = parse_declaration(VALID, registry=REGISTRY, dead_letters=["invoicing.invoices.v1.dlq"])
    assert set(topics) == {"invoicing.invoices.v1", "invoicing.invoices.v1.dlq", "customers.billing-profiles.v1"}
    invoices = topics["invoicing.invoices.v1"]
    assert (invoices.partitions, invoices.replication_factor) == (3, 3)
    # its own retention.bytes, not the dead-letter layer's 5
    assert (invoices.configs["retention.ms"], invoices.configs["retention.bytes"]) == ("-1", "-1")
    dlq = topics["invoicing.invoices.v1.dlq"]
    assert dlq.partitions == 1
    assert (dlq.configs["retention.ms"], dlq.configs["retention.bytes"]) == ("7", "5")
    assert dlq.configs["min.insync.replicas"] == "2"
    profiles = topics["customers.billing-profiles.v1"]
    assert profiles.partitions == 4 and profiles.configs["cleanup.policy"] == "compact,delete"


def problems(text: str, dead_letters: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(DeclarationError) as raised:
        parse_declaration(text, registry=REGISTRY, dead_letters=dead_letters)
    return raised.value.problems


def test_a_misspelt_topic_is_refused() -> None:
    text = VALID + '[topics."invoicing.invoice.v1"]\n'
    assert problems(text) == [
        "unknown topic 'invoicing.invoice.v1' (not in the registry shared/events/topics.py: a typo?)"
    ]


def test_a_registry_topic_or_required_dead_letter_topic_left_out_is_refused() -> None:
    text = VALID.replace('[topics."customers.billing-profiles.v1"]', '[topics."ignored"]')
    found = problems(text, dead_letters=("customers.billing-profiles.v1.dlq",))
    assert "topic 'customers.billing-profiles.v1' is not declared" in found
    assert "topic 'customers.billing-profiles.v1.dlq' is not declared" in found


def test_min_insync_replicas_above_the_replication_factor_is_refused() -> None:
    text = VALID + '\n[topics."customers.billing-profiles.v1.dlq"]\nreplication_factor = 1\n'
    found = problems(text)
    assert found == [
        "customers.billing-profiles.v1.dlq: min.insync.replicas 2 > replication_factor 1 "
        "(no write could ever be acknowledged with acks=all)"
    ]


def test_unclean_leader_election_on_is_refused_anywhere() -> None:
    text = VALID.replace('config."retention.ms" = 7', 'config."unclean.leader.election.enable" = true')
    assert problems(text) == [
        "invoicing.invoices.v1.dlq: unclean.leader.election.enable must be false (it loses acknowledged records)"
    ]


def test_unknown_configs_settings_and_bad_numbers_are_all_named_at_once() -> None:
    text = (
        VALID.replace('"retention.ms" = 1000', '"retention.ms" = 1000\n"retentoin.ms" = 5')
        .replace("partitions = 4", "partitions = 0")
        .replace("[dead_letters]", "[dead_letters]\nreplicas = 2")
    )
    found = problems(text)
    assert "invoicing.invoices.v1: unknown config 'retentoin.ms'" in found
    assert "customers.billing-profiles.v1: partitions must be a whole number >= 1 (is 0)" in found
    assert "invoicing.invoices.v1.dlq: unknown setting 'replicas' (partitions, replication_factor, config)" in found


def test_the_invoices_kept_finitely_or_the_profiles_uncompacted_are_refused() -> None:
    text = VALID.replace(
        'config."retention.ms" = -1\nconfig."retention.bytes" = -1', 'config."retention.ms" = 604800000'
    )
    text = text.replace('config."cleanup.policy" = ["compact", "delete"]', "")
    assert problems(text) == [
        "invoicing.invoices.v1: retention.ms must be -1, is 604800000 "
        "(kept forever: the invoice reconcile rebuilds from the whole topic)",
        "invoicing.invoices.v1: retention.bytes must be -1, is not declared "
        "(kept forever: the invoice reconcile rebuilds from the whole topic)",
        "customers.billing-profiles.v1: cleanup.policy must include compact (the erasure tombstones rely on it)",
    ]


def test_a_durability_setting_left_to_the_broker_is_refused() -> None:
    text = VALID.replace('"min.insync.replicas" = 2\n', "")
    assert "invoicing.invoices.v1: min.insync.replicas is not declared" in problems(text)


def test_not_toml_and_an_unreadable_file_give_a_clear_error(tmp_path: Path) -> None:
    assert problems("[defaults\n")[0].startswith("not valid TOML")
    with pytest.raises(DeclarationError, match="cannot read it"):
        load_declaration(tmp_path / "missing.toml")


def test_without_a_file_the_registry_with_the_modes_numbers() -> None:
    topics = registry_declaration(partitions=2, channel_partitions=5, replication_factor=3, min_insync_replicas=2)
    assert len(topics) == 2 * len(ALL)
    assert topics["customers.billing-profiles.v1"].configs["cleanup.policy"] == "compact"
    invoices = topics["invoicing.invoices.v1"].configs
    assert (invoices["retention.ms"], invoices["retention.bytes"]) == ("-1", "-1")
    assert "retention.ms" not in topics["invoicing.invoices.v1.dlq"].configs
    assert topics["dispatch.jobs.email.v1"].partitions == 5
    assert topics["dispatch.jobs.email.v1.dlq"].partitions == 2
    assert all(t.replication_factor == 3 and t.min_insync_replicas == 2 for t in topics.values())


def test_a_service_checks_what_it_produces_consumes_and_dead_letters_to() -> None:
    from services.customers.app import SPEC
    from services.customers.config import Settings
    from shared.messaging.topics_admin import service_declaration

    base = {"database_url": "postgresql+asyncpg://u@h/d", "kafka_bootstrap_servers": "k:9092"}
    names = ["customers.billing-profiles.v1", "customers.corrections.v1", "crm.customer-upserts.v1"]
    names.append("crm.customer-upserts.v1.dlq")
    production = service_declaration(Settings(**base, mode="production"), SPEC.produces, SPEC.consumes)
    assert list(production) == names
    assert {(d.replication_factor, d.min_insync_replicas) for d in production.values()} == {(3, 2)}
    development = service_declaration(Settings(**base), SPEC.produces, SPEC.consumes)
    assert {(d.replication_factor, d.min_insync_replicas) for d in development.values()} == {(1, 1)}
    from_file = service_declaration(
        Settings(**base, mode="production", kafka_topics_file=REPO / "deploy/topics/development.toml"),
        SPEC.produces,
        SPEC.consumes,
    )
    assert from_file["crm.customer-upserts.v1"].configs["retention.ms"] == str(14 * DAY_MS)
    assert from_file["customers.billing-profiles.v1"].replication_factor == 1


def test_the_command_refuses_a_bad_file_before_reaching_kafka(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from billing_cli.main import app

    bad = tmp_path / "production.toml"
    bad.write_text(
        (REPO / "deploy/topics/production.toml")
        .read_text()
        .replace('"dispatch.jobs.print.v1"]', '"dispatch.jobs.prnt.v1"]')
    )
    result = CliRunner().invoke(app, ["topics", "plan", "--file", str(bad)])
    assert result.exit_code == 1
    assert "unknown topic 'dispatch.jobs.prnt.v1'" in result.stderr
    assert "topic 'dispatch.jobs.print.v1' is not declared" in result.stderr
