"""Topics as declared infrastructure, against a real broker: `billing topics apply`
creates what deploy/topics/development.toml declares (under the test's own prefix),
`plan` shows a config that drifted and `apply` puts it back, what cannot be done safely
is refused (and the rest still applied), a second apply has nothing to do, and a
service in production mode refuses to start on topics it cannot trust, creating none."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from typer.testing import CliRunner

from billing_cli.main import app as cli
from services.customers.app import SPEC as CUSTOMERS
from services.customers.app import build
from services.customers.config import Settings
from shared.db.migrations import upgrade
from shared.messaging.topics_admin import TopicsNotReady
from tests.support.isolation import Sandbox, ServiceProcess
from tests.support.kafka import wait_for

pytestmark = pytest.mark.integration

DEVELOPMENT = Path(__file__).resolve().parents[2] / "deploy" / "topics" / "development.toml"
DECLARED_TOPICS = 21  # 12 registry topics + 9 dead-letter topics of consumed ones (the file)


@pytest.fixture
async def admin(sandbox: Sandbox) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=sandbox.bootstrap)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def billing(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`billing topics …` in this process; (exit code, stdout, stderr)."""
    monkeypatch.setenv("CUSTOMERS_KAFKA_BOOTSTRAP_SERVERS", sandbox.bootstrap)
    runner = CliRunner()

    async def run(*args: str) -> tuple[int, str, str]:
        argv = ["topics", *args, "--file", str(DEVELOPMENT), "--prefix", sandbox.prefix]
        result = await asyncio.to_thread(runner.invoke, cli, argv)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return run


async def mine(admin: AIOKafkaAdminClient, sandbox: Sandbox) -> list[str]:
    return sorted(t for t in await admin.list_topics() if t.startswith(sandbox.prefix))


async def partitions(admin: AIOKafkaAdminClient, topic: str) -> int:
    [found] = await admin.describe_topics([topic])
    return len(found["partitions"])


async def create(admin: AIOKafkaAdminClient, topic: str, count: int) -> None:
    """Create a topic by hand; wait until the broker's metadata has it."""
    await admin.create_topics([NewTopic(topic, num_partitions=count, replication_factor=1)])

    async def seen() -> bool:
        return await partitions(admin, topic) == count

    await wait_for(seen, timeout=15)


async def config(admin: AIOKafkaAdminClient, topic: str) -> dict[str, str]:
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    [(_code, _message, _type, _name, entries)] = response.resources
    return {entry[0]: entry[1] for entry in entries}


async def settled(admin: AIOKafkaAdminClient, topic: str, key: str, value: str) -> None:
    """Wait until the broker reports ``key=value`` (a config change reaches it through
    the KRaft metadata log, a moment after the request is answered)."""

    async def seen() -> bool:
        return (await config(admin, topic)).get(key) == value

    await wait_for(seen, timeout=15)


async def test_apply_creates_every_declared_topic_and_a_second_apply_has_nothing_to_do(
    sandbox: Sandbox, admin: AIOKafkaAdminClient, billing: Any
) -> None:
    code, out, _ = await billing("apply")
    assert code == 0, out
    assert "applied: 21 created, 0 grown, 0 altered" in out

    async def listed() -> list[str] | None:  # a created topic reaches every broker's metadata a moment later
        names = await mine(admin, sandbox)
        return names if len(names) >= DECLARED_TOPICS else None

    topics = await wait_for(listed, timeout=15)
    assert len(topics) == DECLARED_TOPICS
    assert sandbox.topic("crm.customer-upserts.v1.dlq") in topics
    assert await partitions(admin, sandbox.topic("dispatch.jobs.print.v1")) == 12
    invoices = await config(admin, sandbox.topic("invoicing.invoices.v1"))
    assert (invoices["retention.ms"], invoices["unclean.leader.election.enable"]) == ("-1", "false")
    profiles = await config(admin, sandbox.topic("customers.billing-profiles.v1"))
    assert (profiles["cleanup.policy"], profiles["delete.retention.ms"]) == ("compact", str(30 * 86_400_000))
    dlq = await config(admin, sandbox.topic("sales.billing-requests.v1.dlq"))
    assert dlq["retention.bytes"] == str(1024**3)

    code, out, _ = await billing("apply")
    assert (code, out.splitlines()[-1]) == (0, "nothing to apply")
    code, out, _ = await billing("plan")
    assert (code, out.strip()) == (
        0,
        ("21 topic(s) declared: 0 to create, 0 to change, 0 with only refused changes, 21 in sync; 0 refused"),
    )


async def test_plan_shows_a_drifted_config_and_apply_puts_it_back_keeping_what_is_undeclared(
    sandbox: Sandbox, admin: AIOKafkaAdminClient, billing: Any
) -> None:
    assert (await billing("apply"))[0] == 0
    runs = sandbox.topic("invoicing.runs.v1")
    # someone changed it by hand (AlterConfigs replaces the topic's whole set)
    await admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, runs, {"retention.ms": "1000", "max.message.bytes": "2000000"})]
    )
    await settled(admin, runs, "retention.ms", "1000")
    code, out, _ = await billing("plan")
    assert code == 2, out  # changes pending
    assert "    retention.ms: 1000 -> 2592000000" in out
    assert "    ! max.message.bytes=2000000 is set on the topic but not declared" in out
    assert "0 to create, 1 to change, 0 with only refused changes, 20 in sync; 0 refused" in out
    assert (await config(admin, runs))["retention.ms"] == "1000"  # plan changed nothing

    code, out, _ = await billing("apply")
    assert code == 0, out
    assert "applied: 0 created, 0 grown, 1 altered" in out
    await settled(admin, runs, "retention.ms", "2592000000")
    after = await config(admin, runs)
    assert after["retention.ms"] == "2592000000"
    assert after["segment.ms"] == "86400000"  # the whole declared set is there again
    assert after["max.message.bytes"] == "2000000"  # flagged, not dropped
    assert (await billing("plan"))[0] == 0


async def test_fewer_partitions_are_refused_and_the_rest_is_still_applied(
    sandbox: Sandbox, admin: AIOKafkaAdminClient, billing: Any
) -> None:
    email = sandbox.topic("dispatch.jobs.email.v1")
    await create(admin, email, 16)
    code, out, err = await billing("apply")
    assert code == 1
    assert f"{email}: partitions 16 -> 12: Kafka cannot remove partitions" in err
    assert "applied: 20 created, 0 grown, 1 altered" in out  # its configs are still set
    assert await partitions(admin, email) == 16
    await settled(admin, email, "retention.ms", "604800000")

    async def all_seen() -> bool:  # the admin client's metadata catches up with the CLI's creates
        return len(await mine(admin, sandbox)) == DECLARED_TOPICS

    await wait_for(all_seen, timeout=15)


async def test_more_partitions_only_with_the_flag(sandbox: Sandbox, admin: AIOKafkaAdminClient, billing: Any) -> None:
    email = sandbox.topic("dispatch.jobs.email.v1")
    await create(admin, email, 4)
    code, _, err = await billing("apply")
    assert code == 1 and "partitions 4 -> 12: not without --allow-partition-increase" in err
    assert await partitions(admin, email) == 4
    code, out, _ = await billing("apply", "--allow-partition-increase")
    assert code == 0, out
    assert "partitions -> 12 (allowed by --allow-partition-increase)" in out
    assert "applied: 0 created, 1 grown," in out

    async def grown() -> bool:
        return await partitions(admin, email) == 12

    await wait_for(grown, timeout=15)


async def migrated(sandbox: Sandbox) -> None:
    """Production's own step (`billing migrate`): a production service refuses an unmigrated database."""
    await upgrade(CUSTOMERS.migrations_dir, sandbox.db_url)


def production(sandbox: Sandbox, **overrides: Any) -> Settings:
    return Settings(**sandbox.settings_kwargs(mode="production", service_name="customers", **overrides))


async def test_a_production_service_refuses_to_start_on_a_missing_topic_and_creates_none(
    sandbox: Sandbox, admin: AIOKafkaAdminClient, log_dir: Path
) -> None:
    await migrated(sandbox)
    process = ServiceProcess(sandbox, "customers", log_dir, mode="production", kafka_topics_file=str(DEVELOPMENT))
    process.start()
    try:
        assert await process.wait_exit() != 0
    finally:
        process.stop()
    log = process.log_path.read_text()
    # customers: produces 2 topics, consumes 1 (and its dead-letter topic)
    assert "customers: refusing to start: 4 topic problem(s) (production mode creates no topics)" in log
    assert f"  - {sandbox.topic('crm.customer-upserts.v1.dlq')}: missing" in log
    assert f"fix: billing topics apply --file {DEVELOPMENT} --prefix {sandbox.prefix}" in log
    assert await mine(admin, sandbox) == []


async def test_a_production_service_refuses_weaker_durability_than_declared(
    sandbox: Sandbox, admin: AIOKafkaAdminClient, billing: Any
) -> None:
    await migrated(sandbox)
    assert (await billing("apply"))[0] == 0  # RF 1, min ISR 1: the development file
    upserts = sandbox.topic("crm.customer-upserts.v1")
    runtime = build(production(sandbox))  # no file: the production defaults, RF 3, min ISR 2
    with pytest.raises(TopicsNotReady) as refused:
        await runtime.start()
    await runtime.engine.dispose()
    message = str(refused.value)
    assert f"  - {upserts}: min.insync.replicas 1, declared 2" in message
    assert f"  - {upserts}: replication factor 1, declared 3" in message
    assert message.count("min.insync.replicas 1, declared 2") == 4  # each of its four topics
    assert "fix: billing topics apply --file deploy/topics/production.toml --prefix" in message
    assert "fix: kafka-reassign-partitions.sh" in message


async def test_a_production_service_names_only_what_is_wrong_and_starts_when_nothing_is(
    sandbox: Sandbox, admin: AIOKafkaAdminClient, billing: Any
) -> None:
    await migrated(sandbox)
    assert (await billing("apply"))[0] == 0
    profiles = sandbox.topic("customers.billing-profiles.v1")
    settings = production(sandbox, kafka_topics_file=str(DEVELOPMENT))
    await settled(admin, profiles, "cleanup.policy", "compact")
    current = await config(admin, profiles)
    keep = {k: current[k] for k in ("cleanup.policy", "min.insync.replicas", "delete.retention.ms")}
    await admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, profiles, {**keep, "unclean.leader.election.enable": "true"})]
    )
    await settled(admin, profiles, "unclean.leader.election.enable", "true")
    runtime = build(settings)
    with pytest.raises(TopicsNotReady) as refused:
        await runtime.start()
    await runtime.engine.dispose()
    problems = [line for line in str(refused.value).splitlines() if line.startswith("  - ")]
    assert problems == [f"  - {profiles}: unclean.leader.election.enable is true"]

    assert (await billing("apply"))[0] == 0
    await settled(admin, profiles, "unclean.leader.election.enable", "false")
    runtime = build(settings)
    await runtime.start()  # the same check passes: the service runs
    try:
        assert {sandbox.topic(t.name) for t in CUSTOMERS.produces} <= set(await mine(admin, sandbox))
    finally:
        await runtime.stop()


async def test_compaction_turned_off_stops_a_production_service_and_no_file_lowers_forever(
    sandbox: Sandbox, admin: AIOKafkaAdminClient, billing: Any, tmp_path: Path
) -> None:
    await migrated(sandbox)
    assert (await billing("apply"))[0] == 0
    profiles = sandbox.topic("customers.billing-profiles.v1")
    await settled(admin, profiles, "cleanup.policy", "compact")
    current = await config(admin, profiles)
    keep = {k: current[k] for k in ("min.insync.replicas", "unclean.leader.election.enable")}
    await admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, profiles, {**keep, "cleanup.policy": "delete"})]
    )
    await settled(admin, profiles, "cleanup.policy", "delete")
    runtime = build(production(sandbox, kafka_topics_file=str(DEVELOPMENT)))
    with pytest.raises(TopicsNotReady) as refused:
        await runtime.start()
    await runtime.engine.dispose()
    problems = [line for line in str(refused.value).splitlines() if line.startswith("  - ")]
    assert problems == [f"  - {profiles}: cleanup.policy delete, declared compact"]

    # a file that would give the invoices a limit is refused before anything is applied
    seven_days = tmp_path / "seven-days.toml"
    text = DEVELOPMENT.read_text(encoding="utf-8")
    forever = 'config."retention.ms" = -1 '
    assert forever in text
    seven_days.write_text(text.replace(forever, 'config."retention.ms" = 604800000 '), encoding="utf-8")
    argv = ["topics", "apply", "--file", str(seven_days), "--prefix", sandbox.prefix]
    result = await asyncio.to_thread(CliRunner().invoke, cli, argv)
    assert result.exit_code == 1
    assert "invoicing.invoices.v1: retention.ms must be -1, is 604800000" in result.stderr
    assert (await config(admin, sandbox.topic("invoicing.invoices.v1")))["retention.ms"] == "-1"
    assert (await config(admin, profiles))["cleanup.policy"] == "delete"  # nothing applied


async def test_a_development_service_creates_its_missing_topics_from_the_file(
    sandbox: Sandbox, admin: AIOKafkaAdminClient
) -> None:
    # the sandbox's settings say 3 partitions: the file's 6 win when a file is given
    runtime = build(Settings(**sandbox.settings_kwargs(kafka_topics_file=str(DEVELOPMENT))))
    await runtime.start()
    await runtime.stop()
    assert await mine(admin, sandbox) == sorted(
        sandbox.topic(name)
        for name in (
            "crm.customer-upserts.v1",
            "crm.customer-upserts.v1.dlq",
            "customers.billing-profiles.v1",
            "customers.corrections.v1",
        )
    )
    profiles = sandbox.topic("customers.billing-profiles.v1")
    assert await partitions(admin, profiles) == 6
    await settled(admin, profiles, "delete.retention.ms", str(30 * 86_400_000))
    assert (await config(admin, profiles))["cleanup.policy"] == "compact"
    await settled(admin, sandbox.topic("crm.customer-upserts.v1.dlq"), "retention.bytes", str(1024**3))
