"""FastStream's in-memory broker: routing and serialization of the shared subscriber.
(Delivery, redelivery and offsets are proven against real Kafka in tests/integration.)"""

import json
from collections.abc import Sequence
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, TestKafkaBroker

from shared.events.customers import CustomerUpserted
from shared.events.envelope import Envelope
from shared.events.topics import CUSTOMER_UPSERTS
from shared.messaging.broker import make_broker
from shared.messaging.consumer import subscribe
from shared.settings import ServiceSettings
from tests.support.fakes import FakeStore, FakeUnitOfWork

# Never contacted: the in-memory broker stands in for Kafka, the fake unit of work for PostgreSQL.
SERVERS = {"database_url": "postgresql+asyncpg://unused/unused", "kafka_bootstrap_servers": "unused:9092"}


async def test_subscriber_hands_cloudevents_records_to_the_handler_and_dead_letters_the_rest() -> None:
    settings = ServiceSettings(**SERVERS, kafka_topic_prefix="mem.")  # type: ignore[arg-type]
    broker = KafkaBroker()
    store = FakeStore()
    seen: list[Envelope[CustomerUpserted]] = []

    async def handler(events: Sequence[Envelope[CustomerUpserted]], uow: Any) -> None:
        seen.extend(events)

    stats = subscribe(
        broker,
        settings,
        topic=CUSTOMER_UPSERTS,
        group="customers",
        handler=handler,
        uow_factory=lambda: FakeUnitOfWork(store),  # type: ignore[arg-type,return-value]
    )
    body = {"customer_number": "C-9", "customer": {"customer_type": "company", "name": "Oy"}}
    async with TestKafkaBroker(broker) as br:
        await br.publish(
            json.dumps(body).encode(),
            "mem.crm.customer-upserts.v1",
            key=b"C-9",
            headers={
                "ce_specversion": "1.0",
                "ce_id": "evt-1",
                "ce_type": CustomerUpserted.EVENT_TYPE,
                "ce_source": "urn:crm",
                "ce_time": "2026-11-23T10:00:00+02:00",
            },
        )
        await br.publish(
            b"garbage", "mem.crm.customer-upserts.v1", key=b"C-9", headers={"ce_specversion": "1.0", "ce_id": "evt-2"}
        )

    assert [(e.meta.id, e.data.customer_number) for e in seen] == [("evt-1", "C-9")]
    assert list(store.dead_letters.values()) == ["unknown-type"]
    assert stats.topic == "mem.crm.customer-upserts.v1"


def test_subscriber_uses_the_safe_consumer_policy() -> None:
    broker = make_broker(ServiceSettings(**SERVERS))  # type: ignore[arg-type]
    subscribe(
        broker,
        ServiceSettings(**SERVERS),  # type: ignore[arg-type]
        topic=CUSTOMER_UPSERTS,
        group="customers",
        handler=lambda events, uow: None,  # type: ignore[arg-type,return-value]
        uow_factory=lambda: None,  # type: ignore[arg-type,return-value]
    )
    (sub,) = broker.subscribers
    args = sub._connection_args  # what the aiokafka consumer is built with
    assert args["enable_auto_commit"] is False
    assert args["auto_offset_reset"] == "earliest"
    assert args["isolation_level"] == "read_committed"
    assert sub.group_id == "customers"
    assert sub.ack_policy is AckPolicy.NACK_ON_ERROR
