"""Tombstones on the compacted profiles topic: how a record with a null value decodes
(an erasure, never a malformed record), and what an erasure keeps of a card."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import tracing
from shared.events import topics
from shared.events.customers import (
    BillingProfileChanged,
    BillingProfileErased,
    CustomerData,
    PostalAddress,
    anonymised,
)
from shared.events.envelope import EventMeta, InvalidEvent, decode, encode_headers
from shared.messaging.consumer import ConsumerLoop
from tests.support.fakes import FakeRecord

PROFILES = topics.BILLING_PROFILES


def test_a_tombstone_with_our_headers_decodes_to_the_erasure_of_its_key() -> None:
    meta = EventMeta("e-7", BillingProfileErased.EVENT_TYPE, "urn:billing:customers", datetime(2026, 5, 1, tzinfo=UTC))
    env = decode(
        FakeRecord("p", 2, 40, b"C-100", None, encode_headers(meta)), PROFILES.types, tombstone=PROFILES.tombstone
    )
    assert env.data == BillingProfileErased(customer_number="C-100")
    assert (env.meta.id, env.meta.source, env.meta.time, env.meta.key) == (
        "e-7",
        "urn:billing:customers",
        datetime(2026, 5, 1, tzinfo=UTC),
        "C-100",
    )


def test_a_bare_tombstone_counts_too_and_its_id_is_its_position_the_same_on_every_redelivery() -> None:
    first = decode(FakeRecord("p", 1, 9, b"C-2", None, []), PROFILES.types, tombstone=PROFILES.tombstone)
    again = decode(FakeRecord("p", 1, 9, b"C-2", None, []), PROFILES.types, tombstone=PROFILES.tombstone)
    assert first.data == BillingProfileErased(customer_number="C-2")
    assert first.meta.id == again.meta.id == "tombstone:p/1/9"


@pytest.mark.parametrize(
    ("key", "code"),
    [
        (None, "tombstone-without-key"),
        (b"", "tombstone-without-key"),
        (b"no spaces allowed", "invalid-data"),
        (b"\xff", "tombstone-without-key"),
    ],
)
def test_a_tombstone_that_names_no_customer_is_refused(key: bytes | None, code: str) -> None:
    with pytest.raises(InvalidEvent) as refused:
        decode(FakeRecord("p", 0, 1, key, None, []), PROFILES.types, tombstone=PROFILES.tombstone)
    assert refused.value.code == code


def test_a_null_value_on_a_topic_without_tombstones_is_still_an_empty_body() -> None:
    with pytest.raises(InvalidEvent) as refused:
        meta = EventMeta.new(topics.CUSTOMER_UPSERTS.events[0].EVENT_TYPE, "urn:crm")
        decode(FakeRecord("u", 0, 1, b"C-1", None, encode_headers(meta)), topics.CUSTOMER_UPSERTS.types)
    assert refused.value.code == "empty-body"


def test_only_a_compacted_topic_may_declare_a_tombstone() -> None:
    with pytest.raises(ValueError, match="not compacted"):
        topics.TopicSpec("x.y.v1", (BillingProfileChanged,), key="k", tombstone=BillingProfileErased)


async def test_the_consumer_loop_hands_a_tombstone_to_the_handler_and_dead_letters_nothing() -> None:
    seen: list[object] = []

    class Uow:
        class dead_letters:
            @staticmethod
            async def add(record: object, error: object) -> bool:
                raise AssertionError("a tombstone is not a dead letter")

        class inbox:
            @staticmethod
            async def claim(consumer: str, ids: list[tuple[str, str]]) -> set[tuple[str, str]]:
                return set(ids)

        async def __aenter__(self) -> Uow:
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None

        async def commit(self) -> None:
            return None

    async def handler(events: list[object], uow: object) -> None:
        seen.extend(e.data for e in events)  # type: ignore[attr-defined]

    loop = ConsumerLoop(
        topic="p",
        consumer="c:p",
        types=PROFILES.types,
        tombstone=PROFILES.tombstone,
        handler=handler,
        uow_factory=Uow,  # type: ignore[arg-type]
    )
    await loop.process([FakeRecord("p", 0, 5, b"C-9", None, [])])
    assert seen == [BillingProfileErased(customer_number="C-9")]
    assert loop.stats.dead_lettered == 0 and loop.stats.handled == 1


def test_an_erasure_keeps_how_the_customer_is_billed_and_nothing_that_names_or_reaches_the_person() -> None:
    card = CustomerData(
        customer_type="company",
        name="Toiminimi Virtanen",
        business_id="1234567-8",
        address=PostalAddress(street_lines=["Kotikatu 1"], postal_code="00100", city="Helsinki"),
        email="matti@example.fi",
        einvoice_address="003712345678",
        einvoice_operator="003721291126",
        delivery_channel="einvoice",
        language="sv",
        consumer=False,
        no_reminders=True,
    )
    assert anonymised(card).model_dump() == {
        "customer_type": "company",
        "name": None,
        "business_id": None,
        "address": None,
        "email": None,
        "einvoice_address": None,
        "einvoice_operator": None,
        "delivery_channel": "einvoice",
        "language": "sv",
        "consumer": False,
        "no_reminders": True,
    }


async def test_the_outbox_writes_a_tombstone_as_a_null_value_with_the_erasure_headers() -> None:
    from services.customers.tables import messaging
    from shared.messaging.outbox import OutboxWriter

    class RecordingSession:
        params: Any = None

        async def execute(self, statement: Any, params: Any = None) -> None:
            self.params = params

    writer = OutboxWriter(messaging, "urn:billing:customers", "t1.")
    writer.add_tombstone(PROFILES.name, BillingProfileErased, key="C-5")
    writer.add_raw("t1.x.v1", key="C-6", value=None, headers=[])  # a null dead letter replays as null
    with pytest.raises(ValueError, match="needs a key"):
        writer.add_tombstone(PROFILES.name, BillingProfileErased, key="")
    session = RecordingSession()
    await writer.flush(session)  # type: ignore[arg-type]
    assert session.params["topics"] == [f"t1.{PROFILES.name}", "t1.x.v1"]
    assert session.params["keys"] == ["C-5", "C-6"] and session.params["values"] == [None, None]
    headers = dict(json.loads(session.params["headers"][0]))
    assert headers["ce_type"] == BillingProfileErased.EVENT_TYPE and headers["ce_subject"] == "C-5"


def test_a_tombstone_keeps_the_trace_it_was_written_with() -> None:
    cause = tracing.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=abc")
    meta = EventMeta("e-8", BillingProfileErased.EVENT_TYPE, "urn:billing:customers", datetime(2026, 5, 1, tzinfo=UTC))
    meta = EventMeta(meta.id, meta.type, meta.source, meta.time, trace=cause)
    env = decode(
        FakeRecord("p", 0, 3, b"C-9", None, encode_headers(meta)), PROFILES.types, tombstone=PROFILES.tombstone
    )
    assert env.meta.trace is not None
    assert (env.meta.trace.trace_id, env.meta.trace.span_id) == (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
    )
    assert env.meta.trace.tracestate == "vendor=abc"
    bare = decode(FakeRecord("p", 0, 4, b"C-9", None, []), PROFILES.types, tombstone=PROFILES.tombstone)
    assert bare.meta.trace is None  # handled under a new trace


async def test_the_outbox_writes_a_tombstone_with_a_child_of_the_current_or_given_trace() -> None:
    from services.customers.tables import messaging
    from shared.messaging.outbox import OutboxWriter

    class RecordingSession:
        params: Any = None

        async def execute(self, statement: Any, params: Any = None) -> None:
            self.params = params

    given = tracing.parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    current = tracing.parse("00-11111111111111111111111111111111-2222222222222222-00")
    assert given is not None and current is not None
    writer = OutboxWriter(messaging, "urn:billing:customers", "t1.")
    with tracing.use(current):
        writer.add_tombstone(PROFILES.name, BillingProfileErased, key="C-5")
        writer.add_tombstone(PROFILES.name, BillingProfileErased, key="C-6", trace=given)
    session = RecordingSession()
    await writer.flush(session)  # type: ignore[arg-type]
    written = [tracing.from_headers(dict(json.loads(h))) for h in session.params["headers"]]
    assert [t.trace_id if t else None for t in written] == [current.trace_id, given.trace_id]
    assert all(t is not None and t.span_id not in (current.span_id, given.span_id) for t in written)
