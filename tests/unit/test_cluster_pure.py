"""The pure parts of ``make cluster-test``: the broker faults a seed names, what
deploy/cluster/compose.yml declares (three voters, the durability settings), and how
the outage probes turn into PASS/FAIL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.outage import Probe, outage_checks, parse_metrics
from tests.cluster.plan import BROKERS, Fault, plan

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "cluster" / "compose.yml"


def test_a_seed_names_one_plan_and_seeds_differ() -> None:
    assert plan(7) == plan(7)
    assert len({tuple(plan(seed)) for seed in range(20)}) > 1


@pytest.mark.parametrize("seed", range(50))
def test_two_different_brokers_one_at_a_time_then_two_together(seed: int) -> None:
    first, second, both = plan(seed, hold_s=25.0)
    assert [f.step for f in (first, second, both)] == ["publish", "billing-run", "remind"]
    assert len(first.brokers) == len(second.brokers) == 1
    assert first.brokers != second.brokers
    assert len(set(both.brokers)) == 2 and set(both.brokers) <= set(BROKERS)
    assert both.down_s == 25.0 and both.after_s == 0.0
    assert all(10.0 <= f.down_s <= 20.0 for f in (first, second))  # past the 9 s session timeout


def test_the_plan_is_for_three_brokers() -> None:
    with pytest.raises(ValueError):
        plan(1, brokers=("a", "b"))


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def default(value: str) -> str:
    found = re.fullmatch(r"\$\{[A-Z_0-9]+:-(.*)\}", value)
    return found.group(1) if found else value


def brokers() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items() if name.startswith("kafka-")}


def test_three_combined_nodes_form_a_quorum_of_three_voters() -> None:
    nodes = brokers()
    assert sorted(nodes) == list(BROKERS)
    for name, service in nodes.items():
        env = service["environment"]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        voters = dict(v.split("@") for v in env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","))
        assert voters == {str(i): f"kafka-{i}:9093" for i in (1, 2, 3)}
        assert voters[env["KAFKA_NODE_ID"]] == f"{name}:9093"  # each node is the voter of its id
        assert service["restart"] == "no"  # the test decides when a killed broker returns
    assert len({s["environment"]["CLUSTER_ID"] for s in nodes.values()}) == 1


def test_durability_settings_are_production_s() -> None:
    for service in brokers().values():
        env = service["environment"]
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"


def test_each_broker_keeps_its_data_on_its_own_volume_and_advertises_its_published_port() -> None:
    volumes, ports = set(), set()
    for name, service in brokers().items():
        env = service["environment"]
        (volume,) = service["volumes"]
        source, target = volume.split(":")
        assert target == env["KAFKA_LOG_DIRS"]
        volumes.add(source)
        advertised = dict(listener.split("://") for listener in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
        assert advertised["BROKER"] == f"{name}:9092"  # the inter-broker listener
        assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] == "BROKER"
        (published,) = service["ports"]
        port = re.fullmatch(r"127\.0\.0\.1:(\$\{[A-Z_0-9]+:-\d+\}):9094", published)
        assert port is not None, published
        assert advertised["HOST"] == f"127.0.0.1:{port.group(1)}"  # what the host reaches
        assert "HOST://:9094" in env["KAFKA_LISTENERS"]
        ports.add(default(port.group(1)))
    assert len(volumes) == len(ports) == 3
    assert volumes <= set(compose()["volumes"])


def probe(name: str, code: int | None, status: str, failing: tuple[str, ...] = (), **m: float) -> Probe:
    return Probe(name, 0.0, code, status, failing, dict(m))


def verdicts(probes: list[Probe], after: list[Probe]) -> list[bool]:
    return [ok for _, ok, _ in outage_checks(probes, after)]


READY = [probe("reminders", 200, "ready", billing_outbox_pending=0.0)]


def test_an_outage_shown_as_designed_passes() -> None:
    during = [
        probe("reminders", 200, "ready", billing_outbox_pending=5, billing_outbox_relay_failures_total=0),
        probe(
            "reminders",
            200,
            "degraded",
            ("outbox_relay",),
            billing_outbox_pending=194,
            billing_outbox_relay_healthy=0,
            billing_outbox_relay_failures_total=2,
        ),
    ]
    assert verdicts(during, READY) == [True, True, True, True]


def test_a_503_an_empty_outbox_a_relay_that_never_failed_and_rows_left_all_fail() -> None:
    during = [
        probe("reminders", 503, "not ready", ("database",), billing_outbox_pending=0),
        probe("reminders", 200, "ready", billing_outbox_relay_healthy=1, billing_outbox_relay_failures_total=3),
    ]
    left = [probe("reminders", 200, "ready", billing_outbox_pending=3)]
    assert verdicts(during, left) == [False, False, False, False]


def test_a_degraded_kafka_check_alone_is_not_the_relay_saying_so() -> None:
    during = [probe("print-1", 200, "degraded", ("kafka",), billing_outbox_pending=0)]
    assert verdicts(during, READY)[1] is False


def test_metrics_are_read_from_the_exposition() -> None:
    text = (
        "# TYPE billing_outbox_pending gauge\n"
        'billing_outbox_pending{service="reminders"} 194.0\n'
        "# TYPE billing_outbox_relay_healthy gauge\n"
        'billing_outbox_relay_healthy{service="reminders"} 0.0\n'
        'billing_consumer_lag{service="reminders",group="g",topic="t",partition="0"} 4.0\n'
    )
    assert parse_metrics(text) == {"billing_outbox_pending": 194.0, "billing_outbox_relay_healthy": 0.0}


def test_a_fault_describes_itself() -> None:
    assert Fault("remind", ("kafka-1", "kafka-3"), 0.0, 30.0).describe() == (
        "remind: SIGKILL kafka-1 and kafka-3 0.0s into the step, down 30s"
    )
