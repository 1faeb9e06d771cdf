"""The container images work as the compose file, the test kit and the test fixtures use
them: built by ``make images`` (deploy/containers/images.sh), run here through the
Docker-compatible API with testcontainers, each container labelled and removed."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import socket
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import asyncpg
import docker
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from testcontainers.community.postgres import PostgresContainer
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

from billing_testkit.processes import process

pytestmark = pytest.mark.containers

REPO = Path(__file__).resolve().parents[2]
LABELS = {"billing.tests": "container-images"}
BILLING = "local/billing:dev"
KAFKA = "local/kafka:4.1.1"
POSTGRES = "local/postgres:15"
SINK = "local/smtp-sink:dev"


def _labelled(container: DockerContainer) -> DockerContainer:
    return container.with_kwargs(labels=LABELS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_once(
    image: str, command: list[str], volumes: dict[str, str] | None = None, network: Network | None = None
) -> tuple[int, str]:
    """Run a command in a new container to its end: its exit code and output."""
    container = _labelled(DockerContainer(image, command=command))  # type: ignore[arg-type]
    if network is not None:
        container.with_network(network)
    for source, target in (volumes or {}).items():
        container.with_volume_mapping(source, target, "rw")
    container.start()
    try:
        result = container.get_wrapped_container().wait(timeout=120)
        out, err = container.get_logs()
        return int(result["StatusCode"]), (out + err).decode()
    finally:
        container.stop()


# --- the project image ---------------------------------------------------------------


def test_project_image_runs_the_cli_as_the_unprivileged_user() -> None:
    code, output = _run_once(BILLING, ["sh", "-c", "id -u; id -g; billing --help"])
    assert code == 0, output
    uid, gid, *help_text = output.splitlines()
    assert (uid, gid) == ("10001", "10001")
    text = "\n".join(help_text)
    for command in ("serve", "worker", "console", "migrate"):
        assert command in text


def test_project_image_runs_a_service_module_which_asks_for_its_settings() -> None:
    # `python -m services.customers` starts the service: without its settings it says which
    # one is missing (so the module, its dependencies and the settings all load in the image)
    code, output = _run_once(
        BILLING,
        [
            "sh",
            "-c",
            'python -m services.customers; echo "exit=$?"; touch /app/x 2>/dev/null && echo writable || echo read-only',
        ],
    )
    assert code == 0, output
    assert "KAFKA_BOOTSTRAP_SERVERS is not set" in output
    assert "exit=0" not in output
    assert "read-only" in output.splitlines()  # the code belongs to root, not to the user it runs as
    assert "writable" not in output.splitlines()


# --- Kafka ---------------------------------------------------------------------------


def _kafka(name: str, host_port: int, volume: str, network: Network) -> DockerContainer:
    """The test fixtures' way: a listener for the container network, one published on a
    fixed host port and advertised as 127.0.0.1:<port>, data on a named volume."""
    return (
        _labelled(DockerContainer(KAFKA, name=name))
        .with_network(network)
        .with_network_aliases(name)
        .with_bind_ports(host_port, host_port)
        .with_volume_mapping(volume, "/var/lib/kafka/data", "rw")
        .with_envs(
            KAFKA_LISTENERS=f"PLAINTEXT://:9092,CONTROLLER://:9093,HOST://:{host_port}",
            KAFKA_ADVERTISED_LISTENERS=f"PLAINTEXT://{name}:9092,HOST://127.0.0.1:{host_port}",
            KAFKA_LISTENER_SECURITY_PROTOCOL_MAP="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,HOST:PLAINTEXT",
            KAFKA_AUTO_CREATE_TOPICS_ENABLE="false",
            KAFKA_UNUSED_DOUBLE__UNDERSCORE___DASH="x",  # the naming rule: `__` -> `_`, `___` -> `-`
            CLUSTER_ID="images-test-cluster-00",
        )
        .waiting_for(LogMessageWaitStrategy("Kafka Server started").with_startup_timeout(120))
    )


@pytest.fixture
def network() -> Iterator[Network]:
    with Network(docker_network_kw={"labels": LABELS}) as created:
        yield created


@pytest.fixture
def kafka_volume() -> Iterator[str]:
    client = docker.from_env()
    volume = client.volumes.create(f"billing-images-test-{uuid.uuid4().hex[:8]}", labels=LABELS)
    try:
        yield str(volume.name)
    finally:
        volume.remove(force=True)
        client.close()


async def _produce_and_consume(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(3):
            await producer.send_and_wait(topic, f"message {i}".encode(), partition=i)
    finally:
        await producer.stop()
    values = await _consume(bootstrap, topic, group="images-test", count=3)
    assert sorted(values) == [b"message 0", b"message 1", b"message 2"]


async def _consume(bootstrap: str, topic: str, group: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(60):
            while len(values) < count:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    values += [r.value for r in records if r.value is not None]
        await consumer.commit()
    finally:
        await consumer.stop()
    return values


async def _topic_state(bootstrap: str, topic: str, group: str) -> tuple[list[int], dict[int, int | None]]:
    """The topic's partitions and the group's committed offsets (asked as the group's
    consumer would: it waits while a restarted broker loads the offsets)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = sorted(p["partition"] for p in described["partitions"])
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        # A restarted broker answers "no offset" while it still loads the offsets topic
        # (aiokafka does not retry that): ask again until they are there, or time out.
        async with asyncio.timeout(60):
            while True:
                committed = {p: await consumer.committed(TopicPartition(topic, p)) for p in partitions}
                if all(offset is not None for offset in committed.values()):
                    break
                await asyncio.sleep(0.5)
    finally:
        await consumer.stop()
    return partitions, committed


def test_kafka_image_serves_the_host_and_keeps_its_data_on_a_volume(kafka_volume: str, network: Network) -> None:
    name = f"billing-images-kafka-{uuid.uuid4().hex[:6]}"
    port = _free_port()
    bootstrap = f"127.0.0.1:{port}"
    topic = "images.round-trip"

    first = _kafka(name, port, kafka_volume, network)
    first.start()
    try:
        code, config = first.get_wrapped_container().exec_run(["cat", "/opt/kafka/config/server.properties"])
        assert code == 0
        lines = config.decode().splitlines()
        assert f"listeners=PLAINTEXT://:9092,CONTROLLER://:9093,HOST://:{port}" in lines
        assert "auto.create.topics.enable=false" in lines
        assert "unused.double_underscore-dash=x" in lines
        assert "log.dirs=/var/lib/kafka/data" in lines  # the default under the given settings
        asyncio.run(_produce_and_consume(bootstrap, topic))
        # the other listener: another container on the network, by the container's name
        code, described = _run_once(
            KAFKA,
            ["kafka-topics.sh", "--bootstrap-server", f"{name}:9092", "--describe", "--topic", topic],
            network=network,
        )
        assert code == 0, described
        assert "PartitionCount: 3" in described
        first.get_wrapped_container().stop(timeout=60)
    finally:
        first.stop()
    # `stop` (SIGTERM) reached Kafka itself, PID 1: a controlled shutdown leaves its marker
    code, listing = _run_once(KAFKA, ["ls", "-a", "/var/lib/kafka/data"], volumes={kafka_volume: "/var/lib/kafka/data"})
    assert code == 0, listing
    assert ".kafka_cleanshutdown" in listing.split()
    assert f"{topic}-0" in listing.split()

    second = _kafka(name, port, kafka_volume, network)  # a new container on the same volume
    second.start()
    try:
        logs = b"".join(second.get_logs()).decode()
        assert "formatting" not in logs  # the volume's storage was kept, not formatted again
        partitions, committed = asyncio.run(_topic_state(bootstrap, topic, "images-test"))
        assert partitions == [0, 1, 2]
        assert committed == {0: 1, 1: 1, 2: 1}
        again = asyncio.run(_consume(bootstrap, topic, group="images-test-2", count=3))
        assert sorted(again) == [b"message 0", b"message 1", b"message 2"]
    finally:
        second.stop()


def test_kafka_image_has_the_tools_and_the_documented_defaults() -> None:
    code, output = _run_once(
        KAFKA,
        ["sh", "-c", "ls /opt/kafka/bin && kafka-topics.sh --version"],
    )
    assert code == 0, output
    for tool in ("kafka-topics.sh", "kafka-broker-api-versions.sh", "kafka-consumer-groups.sh", "kafka-storage.sh"):
        assert tool in output
    assert "4.1.1" in output


def test_kafka_image_says_clearly_when_its_log_dir_is_not_writable() -> None:
    container = _labelled(DockerContainer(KAFKA)).with_env("KAFKA_LOG_DIRS", "/srv/kafka")
    container.start()
    try:
        result = container.get_wrapped_container().wait(timeout=60)
        out, err = container.get_logs()
    finally:
        container.stop()
    assert result["StatusCode"] == 1
    assert "the log dir /srv/kafka is not writable by uid 1000" in (out + err).decode()


# --- PostgreSQL ----------------------------------------------------------------------


def test_postgres_image_works_with_testcontainers_postgres_container() -> None:
    with _labelled(PostgresContainer(POSTGRES, driver=None)) as pg:
        url = pg.get_connection_url()

        async def check() -> None:
            conn = await asyncpg.connect(url)
            try:
                assert await conn.fetchval("select current_user") == "test"
                assert await conn.fetchval("select current_database()") == "test"
                await conn.execute("create table t (v text)")
                await conn.execute("insert into t values ('kept')")
                assert await conn.fetchval("select v from t") == "kept"
            finally:
                await conn.close()
            with pytest.raises(asyncpg.InvalidPasswordError):
                await asyncpg.connect(url.replace(":test@", ":wrong@"))

        asyncio.run(check())


def test_postgres_image_runs_the_init_scripts_of_the_compose_file() -> None:
    pg = (
        _labelled(DockerContainer(POSTGRES))
        .with_exposed_ports(5432)
        .with_envs(POSTGRES_PASSWORD="admin-pw", BILLING_DB_PASSWORD="service-pw")
        .with_volume_mapping(str(REPO / "deploy/docker/postgres-init.sh"), "/docker-entrypoint-initdb.d/10-billing.sh")
        .waiting_for(LogMessageWaitStrategy("database system is ready to accept connections").with_startup_timeout(60))
    )
    with pg:
        port = pg.get_exposed_port(5432)

        async def check() -> None:
            for service in ("customers", "invoicing", "reminders", "dispatch"):
                conn = await _connect_retrying(f"postgresql://{service}:service-pw@127.0.0.1:{port}/{service}")
                try:
                    assert await conn.fetchval("select current_user") == service
                finally:
                    await conn.close()

        asyncio.run(check())
        out, err = pg.get_logs()
        assert (out + err).decode().count("database system is ready to accept connections") == 1


async def _connect_retrying(url: str) -> asyncpg.Connection:
    deadline = time.monotonic() + 30
    while True:
        try:
            return await asyncpg.connect(url)
        except (OSError, asyncpg.CannotConnectNowError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


# --- the SMTP sink -------------------------------------------------------------------


def test_smtp_sink_image_runs_the_registry_command_and_keeps_mails_in_its_folder(tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    mail.mkdir()
    os.chmod(mail, 0o777)  # the sink runs as uid 10001
    row = process("mailcatcher")
    sink = (
        _labelled(DockerContainer(SINK, command=list(row.command)))  # type: ignore[arg-type]
        .with_exposed_ports(row.container_port)
        .with_volume_mapping(str(mail), "/mail", "rw")
        .waiting_for(LogMessageWaitStrategy("SMTP sink on 0.0.0.0:1025").with_startup_timeout(60))
    )
    with sink:
        port = sink.get_exposed_port(row.container_port)

        async def send() -> None:
            message = EmailMessage()
            message["From"] = "laskutus@billing.invalid"
            message["To"] = "asiakas@example.com"
            message["Subject"] = "Lasku 1001"
            message.set_content("Hyvä asiakas, liitteenä lasku.")
            await aiosmtplib.send(message, hostname="127.0.0.1", port=port, timeout=30)

        asyncio.run(send())
        deadline = time.monotonic() + 30
        while not list(mail.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.1)
    files = sorted(mail.glob("*.eml"))
    assert [f.name for f in files] == ["0000001.eml"]
    received = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert received["Subject"] == "Lasku 1001"
    assert received["To"] == "asiakas@example.com"
    assert "liitteenä lasku" in received.get_body().get_content()  # type: ignore[union-attr]
