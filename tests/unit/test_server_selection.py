"""Which servers the integration tests use, and how their containers are configured
(tests/support/servers.py, tests/support/containers.py), without an engine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest

from tests.support import containers, servers

STACK = servers.STACK.read_text()
ENDPOINTS = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", servers.SWITCH)
PER_NODE = {  # where and how the broker listens: differs on purpose between the two
    "process.roles",
    "node.id",
    "controller.quorum.voters",
    "listeners",
    "advertised.listeners",
    "listener.security.protocol.map",
    "controller.listener.names",
    "inter.broker.listener.name",
    "log.dirs",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENDPOINTS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def engine(monkeypatch: pytest.MonkeyPatch, answers: bool) -> None:
    monkeypatch.setattr(servers, "docker_answers", lambda: answers)


def as_property(env_name: str) -> str:
    """apache/kafka's convention, as its documentation states it."""
    key = env_name.removeprefix("KAFKA_").lower()
    return key.replace("___", "-").replace("__", "\0").replace("_", ".").replace("\0", "_")


def stack_properties() -> dict[str, str]:
    block = STACK.split('server.properties" <<EOF', 1)[1].split("\nEOF", 1)[0]
    return dict(line.split("=", 1) for line in block.splitlines() if "=" in line and not line.startswith("#"))


@pytest.mark.parametrize(
    ("switch", "kind"), [("local", "local stack"), ("containers", "testcontainers"), ("environment", "environment")]
)
def test_the_switch_wins_over_what_answers(clean_env: pytest.MonkeyPatch, switch: str, kind: str) -> None:
    engine(clean_env, True)
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "k:9092")
    clean_env.setenv("DATABASE_URL", "postgresql://u:p@h/db")
    clean_env.setenv(servers.SWITCH, switch)
    assert servers.planned_kind() == kind


def test_without_the_switch_environment_then_engine_then_local_stack(clean_env: pytest.MonkeyPatch) -> None:
    engine(clean_env, False)
    assert servers.planned_kind() == "local stack"
    engine(clean_env, True)
    assert servers.planned_kind() == "testcontainers"
    clean_env.setenv("KAFKA_BOOTSTRAP_SERVERS", "k:9092")
    assert servers.planned_kind() == "testcontainers"  # one endpoint alone is not an environment
    clean_env.setenv("DATABASE_URL", "postgresql://u:p@h/db")
    assert servers.planned_kind() == "environment"
    clean_env.setenv(servers.SWITCH, "auto")
    assert servers.planned_kind() == "environment"


def test_an_unknown_switch_value_is_refused_by_name(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv(servers.SWITCH, "docker")
    with pytest.raises(ValueError, match=r"BILLING_TEST_SERVERS='docker'.*environment, containers, local"):
        servers.planned_kind()


def test_a_forced_path_that_cannot_run_says_why(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv(servers.SWITCH, "environment")
    with pytest.raises(RuntimeError, match="needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL"):
        servers.start()
    clean_env.setenv(servers.SWITCH, "containers")
    engine(clean_env, False)
    with pytest.raises(RuntimeError, match="no container engine answers"):
        servers.start()


def test_the_kafka_container_is_configured_as_the_local_stack_configures_its_broker() -> None:
    env = containers.kafka_env("billing-test-kafka-x", 23456)
    props = {as_property(k): v for k, v in env.items() if k.startswith("KAFKA_") and k != "KAFKA_HEAP_OPTS"}
    stack = stack_properties()
    assert stack["auto.create.topics.enable"] == "false"  # what the services rely on: they create their topics
    shared = {k: v for k, v in stack.items() if k not in PER_NODE}
    assert {k: props.get(k) for k in shared} == shared
    assert props["process.roles"] == stack["process.roles"]
    heap = re.search(r"KAFKA_HEAP=\$\{BILLING_KAFKA_HEAP:-(\w+)\}", STACK)
    assert heap is not None and env["KAFKA_HEAP_OPTS"] == f"-Xms{heap.group(1)} -Xmx{heap.group(1)}"


def test_kafka_listens_for_the_host_on_the_published_port_and_for_the_network_on_9092(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TC_HOST", "127.0.0.1")
    env = containers.kafka_env("billing-test-kafka-x", 23456)
    listeners = dict(re.findall(r"(\w+)://([^,]*)", env["KAFKA_LISTENERS"]))
    advertised = dict(re.findall(r"(\w+)://([^,]*)", env["KAFKA_ADVERTISED_LISTENERS"]))
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    host = next(name for name, where in advertised.items() if where == "127.0.0.1:23456")
    assert listeners[host] == ":23456"
    assert advertised[env["KAFKA_INTER_BROKER_LISTENER_NAME"]] == "billing-test-kafka-x:9092"
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] not in advertised
    assert set(listeners) <= set(protocols)
    assert base64_uuid_bytes(env["CLUSTER_ID"]) == 16


def base64_uuid_bytes(text: str) -> int:
    import base64

    return len(base64.urlsafe_b64decode(text + "=="))


def test_postgres_runs_with_the_local_stacks_connection_limit_and_without_fsync() -> None:
    command = containers.postgres_command()
    options = dict(command[i + 1].split("=", 1) for i, arg in enumerate(command) if arg == "-c")
    stack_limit = re.search(r"-c max_connections=(\d+)", STACK)
    assert stack_limit is not None and options["max_connections"] == stack_limit.group(1)
    assert options["fsync"] == "off"
    assert command[0] == "postgres"  # the official image's entrypoint runs the server for this


def test_a_container_is_a_leftover_only_when_its_owner_process_is_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    me = containers.owner_of(os.getpid())
    host, pid, started = me.split(":")
    alive = SimpleNamespace(labels={containers.OWNER_LABEL: me})
    dead = SimpleNamespace(labels={containers.OWNER_LABEL: containers.owner_of(child.pid)})
    reused = SimpleNamespace(labels={containers.OWNER_LABEL: f"{host}:{pid}:{int(started or 0) - 1}"})
    elsewhere = SimpleNamespace(labels={containers.OWNER_LABEL: f"not-{host}:1:1"})
    assert containers.leftovers([alive, dead, reused, elsewhere]) == [dead, reused]


def test_images_from_the_environment_else_built_here_else_official(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(containers.KAFKA_IMAGE_ENV, raising=False)
    monkeypatch.delenv(containers.POSTGRES_IMAGE_ENV, raising=False)
    assert containers.chosen_images(lambda name: True) == ("local/kafka:4.1.1", "local/postgres:15")
    assert containers.chosen_images(lambda name: False) == ("apache/kafka:4.1.1", "postgres:15")
    monkeypatch.setenv(containers.KAFKA_IMAGE_ENV, "registry.example/kafka:4.1.1")
    monkeypatch.setenv(containers.POSTGRES_IMAGE_ENV, "registry.example/postgres:15")
    assert containers.chosen_images(lambda name: True) == (
        "registry.example/kafka:4.1.1",
        "registry.example/postgres:15",
    )
