"""The start-up check's read of ``invoicing.invoices.v1`` (``invoice_log.tail_highest``) on
real Kafka: committed records only, each partition read backwards in windows until it
has seen every series, not the whole topic; nothing read when the floor (the newest
invoice in the database, minus a margin) is past every record.

Partition 0 (one transaction, then another): subscription 1..20 at offsets 0-19, notice 2
at 20, corrective 1 at 21, subscription 21 at 22, commit marker 23; a payment at 24,
marker 25 -> end 26. Windows of 4 from the end: [22, 26) holds subscription 21 and the
payment (2 records), [18, 22) subscription 19, 20, notice 2, corrective 1 (4 records):
every series seen, stop -> 6 of 24 records read.
Partition 1: subscription 22..25 at 0-3, marker 4; an aborted transaction with
subscription 99 and notice 50 at 5-6, its marker 7 -> end 8. [4, 8) holds no committed
record, [0, 4) four -> 4 read. Highest: subscription 25, notice 2, corrective 1.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.invoicing.config import Settings
from services.invoicing.invoice_log import tail_highest
from shared.events import topics
from shared.events.invoicing import CorrectiveInvoiceIssued, InvoiceIssued, PaymentRecorded
from shared.messaging.connection import make_producer
from tests.support.isolation import Sandbox
from tests.support.kafka import ce_headers

pytestmark = pytest.mark.integration


def _issued(number: int) -> tuple[bytes, list[tuple[str, bytes]]]:
    kind = CorrectiveInvoiceIssued if number >= 3_000_000_000 else InvoiceIssued
    return json.dumps({"invoice": {"invoice_number": str(number)}}).encode(), ce_headers(kind.EVENT_TYPE)


async def test_the_tail_is_read_backwards_committed_only_until_every_series_is_seen(sandbox: Sandbox) -> None:
    topic = sandbox.topic(topics.INVOICES.name)
    admin = AIOKafkaAdminClient(bootstrap_servers=sandbox.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    settings = Settings(**sandbox.settings_kwargs())
    producer = make_producer(settings)
    await producer.start()
    try:
        first = [1_000_000_000 + i for i in range(1, 21)] + [2_000_000_002, 3_000_000_001, 1_000_000_021]
        async with producer.transaction():
            for number in first:
                value, headers = _issued(number)
                await producer.send_and_wait(topic, value, key=b"C-1", partition=0, headers=headers)
        async with producer.transaction():
            await producer.send_and_wait(
                topic, b"{}", key=b"C-1", partition=0, headers=ce_headers(PaymentRecorded.EVENT_TYPE)
            )
        async with producer.transaction():
            for number in range(1_000_000_022, 1_000_000_026):
                value, headers = _issued(number)
                await producer.send_and_wait(topic, value, key=b"C-2", partition=1, headers=headers)
        await producer.begin_transaction()
        for number in (1_000_000_099, 2_000_000_050):
            value, headers = _issued(number)
            await producer.send_and_wait(topic, value, key=b"C-2", partition=1, headers=headers)
        await producer.abort_transaction()
    finally:
        await producer.stop()

    highest, read = await tail_highest(settings, since=None, window=4, timeout_s=30)
    assert highest == {"subscription": 1_000_000_025, "notice": 2_000_000_002, "corrective": 3_000_000_001}
    assert read == 6 + 4  # of the 28 committed records (and 2 aborted) on the topic

    whole, read_all = await tail_highest(settings, since=None, window=1000, timeout_s=30)
    assert whole == highest and read_all == 24 + 4  # one window: every committed record

    future = datetime.now(UTC) + timedelta(hours=1)
    assert await tail_highest(settings, since=future, window=4, timeout_s=30) == ({}, 0)
