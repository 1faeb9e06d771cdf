"""Billing requests consumed a batch at a time (issue 20, ingest) on real Kafka and
PostgreSQL: records that are not valid requests in the middle of a batch go to the
dead letters alone and every other request of the batch is stored; a batch delivered
again (the consumer died after the database commit, before the offset commit) stores
nothing twice."""

from __future__ import annotations

import json

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import OffsetAndMetadata

from services.invoicing.app import build as build_invoicing
from services.invoicing.config import Settings as InvoicingSettings
from services.invoicing.consumers import REQUESTS_GROUP
from shared.events import topics
from shared.events.sales import BillingRequestSubmitted
from shared.messaging.consumer import ConsumerStats
from shared.runtime import Runtime
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, ce_headers, wait_for
from tests.support.sales import request

pytestmark = pytest.mark.integration

BATCH = 40
BAD_JSON_AT = 13
BAD_VAT_AT = 27
WRONG_VAT_LINE = ("HS-1KK", "Helsingin Sanomat 1 kk", "1", "30.00", "13", ("2026-11-01", "2026-11-30"))


def _runtime(sandbox: Sandbox) -> Runtime:  # type: ignore[type-arg]
    kwargs = sandbox.settings_kwargs(daily_run_enabled=False, jobs_poll_interval_s=0.1)
    return build_invoicing(InvoicingSettings(**kwargs))


def _request_stats(runtime: Runtime) -> ConsumerStats:  # type: ignore[type-arg]
    name = runtime.settings.topic(topics.BILLING_REQUESTS.name)
    return next(s for s in runtime.consumer_stats if s.topic == name)


async def _publish(sandbox: Sandbox, records: list[tuple[str, bytes, str]]) -> None:
    """(key, value, ce_id) on the requests topic, one partition (one key): one batch.
    The topic is made first when missing (the consumer is not started yet)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=sandbox.bootstrap)
    await admin.start()
    try:
        name = sandbox.topic(topics.BILLING_REQUESTS.name)
        if name not in await admin.list_topics():
            await admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    async with Publisher(sandbox.bootstrap) as p:
        for key, value, event_id in records:
            headers = ce_headers(BillingRequestSubmitted.EVENT_TYPE, event_id, "urn:test:orders")
            await p.send(sandbox.topic(topics.BILLING_REQUESTS.name), value, key=key, headers=headers)


def _batch() -> list[tuple[str, bytes, str]]:
    out = []
    for i in range(BATCH):
        if i == BAD_JSON_AT:
            value = b'{"request_id": "BR-13", not json'
        elif i == BAD_VAT_AT:
            value = json.dumps(request(f"BR-{i}", "C-1", lines=(WRONG_VAT_LINE,))).encode()
        else:
            value = json.dumps(request(f"BR-{i}", "C-1")).encode()
        out.append(("C-1", value, f"ev-{i}"))
    return out


async def test_bad_records_in_the_middle_of_a_batch_are_dead_lettered_alone_and_the_rest_stored(
    sandbox: Sandbox,
) -> None:
    await _publish(sandbox, _batch())  # all waiting before the consumer starts: one fetch
    runtime = _runtime(sandbox)
    await runtime.start()
    try:
        await wait_for(lambda: sandbox.has("SELECT count(*) FROM dead_letters", 2), timeout=60)
        await wait_for(lambda: sandbox.has("SELECT count(*) FROM billing_requests", BATCH - 2), timeout=60)
        stats = _request_stats(runtime)
    finally:
        await runtime.stop()
    stored = {r[0] for r in await sandbox.fetch("SELECT request_id FROM billing_requests")}
    assert stored == {f"BR-{i}" for i in range(BATCH) if i not in (BAD_JSON_AT, BAD_VAT_AT)}
    dead = await sandbox.fetch('SELECT "offset", error_code FROM dead_letters ORDER BY "offset"')
    assert [(r[0], r[1]) for r in dead] == [(BAD_JSON_AT, "bad-json"), (BAD_VAT_AT, "vat-rate-invalid")]
    # neither refused record is claimed in the inbox (a replay after the fix is handled)
    claimed = {r[0] for r in await sandbox.fetch("SELECT event_id FROM inbox")}
    assert claimed == {f"ev-{i}" for i in range(BATCH) if i not in (BAD_JSON_AT, BAD_VAT_AT)}
    assert (stats.handled, stats.dead_lettered, stats.duplicates) == (BATCH - 2, 2, 0)


async def test_a_batch_delivered_again_after_its_commit_stores_nothing_twice(sandbox: Sandbox) -> None:
    records = [r for i, r in enumerate(_batch()) if i not in (BAD_JSON_AT, BAD_VAT_AT)]
    await _publish(sandbox, records)
    first = _runtime(sandbox)
    await first.start()
    try:
        await wait_for(lambda: sandbox.has("SELECT count(*) FROM billing_requests", len(records)), timeout=60)
    finally:
        await first.stop()
    before = await sandbox.fetch("SELECT request_id, content_hash, received_at FROM billing_requests ORDER BY 1")

    # as if the consumer had died between the database commit and the offset commit:
    # the group's offsets back to the start, so the whole batch comes again
    topic = sandbox.topic(topics.BILLING_REQUESTS.name)
    group = first.settings.group(REQUESTS_GROUP)
    admin = AIOKafkaAdminClient(bootstrap_servers=sandbox.bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    partitions = [tp for tp, at in committed.items() if tp.topic == topic and at.offset > 0]
    assert partitions  # the first consumer committed its batch
    rewind = AIOKafkaConsumer(bootstrap_servers=sandbox.bootstrap, group_id=group, enable_auto_commit=False)
    await rewind.start()
    try:
        rewind.assign(partitions)
        await rewind.commit({tp: OffsetAndMetadata(0, "") for tp in partitions})
    finally:
        await rewind.stop()
    # and a sender's retry of the same events (same ce_id) after them
    await _publish(sandbox, records[:5])

    second = _runtime(sandbox)
    await second.start()
    try:
        stats = _request_stats(second)
        await wait_for(lambda: stats.records >= len(records) + 5, timeout=60)
    finally:
        await second.stop()
    assert (stats.handled, stats.duplicates, stats.dead_lettered) == (0, len(records) + 5, 0)
    after = await sandbox.fetch("SELECT request_id, content_hash, received_at FROM billing_requests ORDER BY 1")
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    assert await sandbox.scalar("SELECT count(*) FROM inbox") == len(records)
