"""The outbox writer's guards: no record Kafka would refuse gets in (it would block
every row behind it in the relay), and one flush per transaction (a second one would
take key locks out of order)."""

import json
from typing import Any

import pytest

from services.customers.tables import messaging
from shared.events.envelope import Event
from shared.messaging.outbox import MAX_RECORD_BYTES, OutboxWriter, RecordTooLarge


class Blob(Event):
    EVENT_TYPE = "fi.billing.test.blob.v1"
    text: str


class RecordingSession:
    def __init__(self) -> None:
        self.statements: list[Any] = []

    async def execute(self, statement: Any, params: Any = None) -> None:
        self.statements.append((statement, params))


def test_an_event_too_large_for_kafka_is_refused_when_written() -> None:
    writer = OutboxWriter(messaging, "urn:test")
    writer.add("t.v1", Blob(text="x" * 1000), key="C-1")
    with pytest.raises(RecordTooLarge):
        writer.add("t.v1", Blob(text="x" * MAX_RECORD_BYTES), key="C-1")
    assert writer.pending == 1


async def test_a_dead_letter_too_large_for_kafka_is_forwarded_cut_and_says_its_size() -> None:
    writer = OutboxWriter(messaging, "urn:test")
    writer.add_raw("t.v1.dlq", key="C-1", value=b"v" * (MAX_RECORD_BYTES + 10), headers=[["dlq_error_code", "x"]])
    session = RecordingSession()
    await writer.flush(session)  # type: ignore[arg-type]
    params = session.statements[-1][1]
    assert len(params["values"][0]) < MAX_RECORD_BYTES
    assert ["outbox_value_truncated", str(MAX_RECORD_BYTES + 10)] in json.loads(params["headers"][0])


async def test_a_second_flush_in_one_transaction_is_refused_and_allowed_after_commit() -> None:
    writer = OutboxWriter(messaging, "urn:test")
    session = RecordingSession()
    writer.add("t.v1", Blob(text="a"), key="C-1")
    await writer.flush(session)  # type: ignore[arg-type]
    await writer.flush(session)  # type: ignore[arg-type]  # nothing queued: nothing to do
    writer.add("t.v1", Blob(text="b"), key="C-2")
    with pytest.raises(RuntimeError, match="once per transaction"):
        await writer.flush(session)  # type: ignore[arg-type]
    writer.committed()
    await writer.flush(session)  # type: ignore[arg-type]
