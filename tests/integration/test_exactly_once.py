"""Delivery guarantees against real Kafka and PostgreSQL: the round trip through the
outbox, duplicates, malformed input, a crashed consumer, a database outage."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.customers import handlers
from services.customers.tables import CustomersUnitOfWork
from shared.events.customers import BillingProfileChanged, CustomerUpserted
from shared.events.envelope import Envelope
from shared.events.topics import BILLING_PROFILES, CUSTOMER_UPSERTS
from shared.runtime import Runtime
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.isolation import Sandbox, ServiceProcess
from tests.support.kafka import Publisher, ce_headers, committed_offsets, read_topic, wait_for

pytestmark = pytest.mark.integration


async def test_upsert_flows_through_outbox_to_a_second_consumer(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork]
) -> None:
    async with Publisher(sandbox.bootstrap) as pub:
        await pub.send(
            sandbox.topic(CUSTOMER_UPSERTS.name),
            upsert("C-100", name="  ", email="not-an-address"),
            key="C-100",
            headers=ce_headers(UPSERT_TYPE),
        )

    records = await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=1)

    assert len(records) == 1
    record = records[0]
    assert record.key == b"C-100"
    headers = {k: v.decode() for k, v in record.headers}
    assert headers["ce_type"] == BillingProfileChanged.EVENT_TYPE
    assert headers["ce_source"] == "urn:billing:customers"
    assert headers["ce_subject"] == "C-100"
    profile = BillingProfileChanged.model_validate_json(record.value)
    assert (profile.customer_number, profile.version, profile.valid) == ("C-100", 1, False)
    assert {e.code for e in profile.errors} == {"name_missing", "email_invalid"}
    assert await sandbox.scalar("SELECT version FROM customers WHERE customer_number = 'C-100'") == 1
    assert await sandbox.scalar("SELECT count(*) FROM outbox") == 0


async def test_same_event_delivered_twice_has_one_effect_and_one_emitted_event(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork]
) -> None:
    headers = ce_headers(UPSERT_TYPE, event_id="crm-event-1")
    async with Publisher(sandbox.bootstrap) as pub:
        await pub.send(sandbox.topic(CUSTOMER_UPSERTS.name), upsert("C-200"), key="C-200", headers=headers)
        await wait_for(lambda: sandbox.scalar("SELECT count(*) FROM inbox"))
        # the second copy arrives in a later batch, after the first one committed
        await pub.send(
            sandbox.topic(CUSTOMER_UPSERTS.name), upsert("C-200", name="Changed"), key="C-200", headers=headers
        )

    await wait_for(lambda: customers.consumer_stats[0].records == 2)
    records = await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=1, settle=2.0)

    assert len(records) == 1
    assert customers.consumer_stats[0].duplicates == 1
    assert await sandbox.scalar("SELECT count(*) FROM customer_changes") == 1
    assert await sandbox.scalar("SELECT data->>'name' FROM customers WHERE customer_number = 'C-200'") == (
        "Kustannus Oy Esimerkki"
    )


async def test_malformed_payload_goes_to_dlq_once_and_the_next_event_is_processed(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], customers_api: httpx.AsyncClient
) -> None:
    topic = sandbox.topic(CUSTOMER_UPSERTS.name)
    async with Publisher(sandbox.bootstrap) as pub:
        await pub.send(topic, b'{"customer_number": "C-300", ', key="C-300", headers=ce_headers(UPSERT_TYPE))
        await pub.send(topic, upsert("C-300"), key="C-300", headers=ce_headers(UPSERT_TYPE))

    dlq = await read_topic(sandbox.bootstrap, sandbox.topic(CUSTOMER_UPSERTS.dead_letter), expect=1, settle=2.0)
    await wait_for(lambda: sandbox.scalar("SELECT count(*) FROM customers WHERE customer_number = 'C-300'"))

    assert len(dlq) == 1
    headers = {k: v.decode() for k, v in dlq[0].headers}
    assert headers["dlq_error_code"] == "bad-json"
    assert headers["dlq_topic"] == topic
    assert dlq[0].value == b'{"customer_number": "C-300", '
    listed = (await customers_api.get("/dead-letters")).json()
    assert [(d["error_code"], d["topic"]) for d in listed["items"]] == [("bad-json", topic)]
    profiles = await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=1)
    assert [json.loads(r.value)["customer_number"] for r in profiles] == ["C-300"]


async def test_consumer_killed_after_db_commit_before_offset_commit_has_one_effect(
    sandbox: Sandbox, log_dir: object
) -> None:
    topic = sandbox.topic(CUSTOMER_UPSERTS.name)
    group = sandbox.group("customers")
    first = ServiceProcess(sandbox, "customers", log_dir)  # type: ignore[arg-type]
    first.start(extra_env={"BILLING_TEST_HOOKS": "on", "BILLING_FAILPOINTS": "consumer.after_commit"})
    await first.wait_ready()
    async with Publisher(sandbox.bootstrap) as pub:
        await pub.send(topic, upsert("C-400"), key="C-400", headers=ce_headers(UPSERT_TYPE))

    assert await first.wait_exit() == -9  # SIGKILL right after the database commit
    first.stop()
    assert await sandbox.scalar("SELECT count(*) FROM customer_changes") == 1
    assert sum((await committed_offsets(sandbox.bootstrap, group, topic)).values()) == 0

    second = ServiceProcess(sandbox, "customers", log_dir).start()  # type: ignore[arg-type]
    try:
        await second.wait_ready()
        await wait_for(
            lambda: _committed_total(sandbox, group, topic, 1), timeout=60
        )  # the redelivered event was seen and committed this time
        profiles = await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=1, settle=2.0)
    finally:
        second.stop()

    assert len({dict(r.headers)["ce_id"] for r in profiles}) == 1  # one emitted event (copies share its id)
    assert await sandbox.scalar("SELECT count(*) FROM customer_changes") == 1
    assert await sandbox.scalar("SELECT count(*) FROM inbox") == 1


async def _committed_total(sandbox: Sandbox, group: str, topic: str, want: int) -> bool:
    return sum((await committed_offsets(sandbox.bootstrap, group, topic)).values()) >= want


async def test_postgres_outage_while_events_arrive_loses_nothing(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork]
) -> None:
    servers = sandbox.servers
    if servers.stop_postgres is None or servers.start_postgres is None:
        pytest.skip("PostgreSQL given by the environment cannot be stopped by the tests")
    topic = sandbox.topic(CUSTOMER_UPSERTS.name)
    numbers = [f"C-5{i:02d}" for i in range(30)]
    await asyncio.to_thread(servers.stop_postgres)
    try:
        async with Publisher(sandbox.bootstrap) as pub:
            for n in numbers:
                await pub.send(topic, upsert(n), key=n, headers=ce_headers(UPSERT_TYPE))
        await asyncio.sleep(3)  # the outage lasts a few seconds while the events wait
        assert customers.consumer_stats[0].retries > 0
    finally:
        await asyncio.to_thread(servers.start_postgres)

    await wait_for(lambda: sandbox.scalar("SELECT count(*) FROM customers"), timeout=90)
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM customers", len(numbers)), timeout=90)
    profiles = await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=len(numbers))
    assert sorted(json.loads(r.value)["customer_number"] for r in profiles) == numbers


async def test_record_the_database_refuses_is_dead_lettered_and_its_neighbours_are_handled(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = handlers.apply_upserts

    async def refused_for_c600(events: Sequence[Envelope[CustomerUpserted]], uow: CustomersUnitOfWork) -> Any:
        if any(e.data.customer_number == "C-600" for e in events):
            # data the contract lets through but PostgreSQL refuses (SQLSTATE 22P02)
            await uow.session.execute(text("SELECT CAST(CAST(:v AS text) AS int)"), {"v": "not a number"})
        return await real(events, uow)

    monkeypatch.setattr(handlers, "apply_upserts", refused_for_c600)
    topic = sandbox.topic(CUSTOMER_UPSERTS.name)
    async with Publisher(sandbox.bootstrap) as pub:
        await pub.send(topic, upsert("C-600"), key="C-600", headers=ce_headers(UPSERT_TYPE))
        await pub.send(topic, upsert("C-601"), key="C-600", headers=ce_headers(UPSERT_TYPE))

    dlq = await read_topic(sandbox.bootstrap, sandbox.topic(CUSTOMER_UPSERTS.dead_letter), expect=1, settle=2.0)
    await wait_for(lambda: sandbox.scalar("SELECT count(*) FROM customers WHERE customer_number = 'C-601'"))

    assert len(dlq) == 1
    headers = dict(dlq[0].headers)
    assert headers["dlq_error_code"] == b"data-error"
    assert b"22P02" in headers["dlq_reason"]
    assert b"not a number" not in headers["dlq_reason"]  # no statement parameters
    assert await sandbox.scalar("SELECT count(*) FROM customers WHERE customer_number = 'C-600'") == 0
    # the refused record is not claimed: a replay of it after a fix is handled
    assert await sandbox.scalar("SELECT count(*) FROM inbox") == 1


async def test_kafka_outage_keeps_events_in_the_outbox_until_it_returns(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], customers_api: httpx.AsyncClient
) -> None:
    servers = sandbox.servers
    if servers.stop_kafka is None or servers.start_kafka is None:
        pytest.skip("Kafka given by the environment cannot be stopped by the tests")
    async with Publisher(sandbox.bootstrap) as pub:
        await pub.send(
            sandbox.topic(CUSTOMER_UPSERTS.name), upsert("C-700"), key="C-700", headers=ce_headers(UPSERT_TYPE)
        )
    await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=1)

    await asyncio.to_thread(servers.stop_kafka)
    try:
        # the clerk's fix still commits: the new profile waits in the outbox
        response = await customers_api.patch("/customers/C-700", json={"name": "Uusi Nimi Oy"})
        assert response.status_code == 200
        await wait_for(lambda: customers.relay.failures > 0, timeout=60)
        # the new profile, and the clerk's correction for the CRM
        assert await sandbox.scalar("SELECT count(*) FROM outbox") == 2
        assert (await customers_api.get("/readyz/all")).status_code == 503
        degraded = await customers_api.get("/readyz")  # reads keep being served
        assert (degraded.status_code, degraded.json()["checks"]["kafka"]) == (200, "down")
    finally:
        await asyncio.to_thread(servers.start_kafka)

    profiles = await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=2, timeout=120)
    events = {dict(r.headers)["ce_id"]: BillingProfileChanged.model_validate_json(r.value).version for r in profiles}
    assert sorted(events.values()) == [1, 2]  # two events; a copy re-sent after the outage has the same id
    # the relay deletes the row once its own (second) send is acknowledged, after its backoff
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM outbox", 0), timeout=60)
    after = await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=len(profiles))
    assert len(after) <= 3  # at most one extra copy of the batch in flight when Kafka went away
