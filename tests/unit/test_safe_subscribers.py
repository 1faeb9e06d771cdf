"""Broker-wide safe consumer policy: every subscriber every service registers commits
after its work, reads from the earliest offset and only committed (non-aborted)
records; an unsafe subscriber cannot be registered at all."""

import importlib

import pytest
from faststream import AckPolicy

from billing_cli.services import SERVICES
from shared.messaging.broker import UnsafeSubscriber, make_broker
from shared.settings import ServiceSettings

SETTINGS = {"database_url": "postgresql+asyncpg://u:p@db.invalid/x", "kafka_bootstrap_servers": "kafka.invalid:9092"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_registered_subscriber_of_every_service_is_safe(service: str) -> None:
    app = importlib.import_module(f"services.{service}.app")
    settings = importlib.import_module(f"services.{service}.config").Settings(**SETTINGS)
    runtime = app.build(settings)
    for sub in runtime.broker.subscribers:
        args = sub._connection_args  # what the aiokafka consumer is built with
        assert sub.ack_policy in (AckPolicy.NACK_ON_ERROR, AckPolicy.MANUAL), sub
        assert args["enable_auto_commit"] is False, sub
        assert args["auto_offset_reset"] == "earliest", sub
        assert args["isolation_level"] == "read_committed", sub
        assert sub.group_id, sub


def test_a_plain_subscriber_added_later_gets_the_safe_defaults() -> None:
    broker = make_broker(ServiceSettings(**SETTINGS))

    @broker.subscriber("added.later.v1", group_id="g")
    async def handler(body: bytes) -> None: ...

    (sub,) = broker.subscribers
    assert sub.ack_policy is AckPolicy.NACK_ON_ERROR
    assert sub._connection_args["auto_offset_reset"] == "earliest"
    assert sub._connection_args["isolation_level"] == "read_committed"
    assert sub._connection_args["enable_auto_commit"] is False


@pytest.mark.parametrize(
    "unsafe",
    [
        {"ack_policy": AckPolicy.ACK_FIRST, "group_id": "g"},
        {"ack_policy": AckPolicy.ACK, "group_id": "g"},
        {"ack_policy": AckPolicy.REJECT_ON_ERROR, "group_id": "g"},
        {"auto_offset_reset": "latest", "group_id": "g"},
        {"isolation_level": "read_uncommitted", "group_id": "g"},
        {},  # no group: nothing to resume from
    ],
)
def test_an_unsafe_subscriber_is_refused(unsafe: dict[str, object]) -> None:
    broker = make_broker(ServiceSettings(**SETTINGS))
    with pytest.raises(UnsafeSubscriber):
        broker.subscriber("t.v1", **unsafe)
