"""W3C Trace Context in the CloudEvents headers (distributed-tracing extension):
parse and format per the W3C spec, invalid values ignored (never a refusal), a child
keeps the trace id, the outbox writes a child of the cause, the consumer makes the
inbound event's trace current for its handler."""

import json
import re
from collections.abc import Sequence
from typing import Any

import pytest

from services.customers.tables import messaging
from shared import tracing
from shared.events.customers import CustomerUpserted
from shared.events.envelope import Envelope, EventMeta, decode, encode_data, encode_headers, event_types
from shared.messaging.consumer import ConsumerLoop
from shared.messaging.outbox import OutboxWriter
from tests.support.fakes import FakeRecord, FakeStore, FakeUnitOfWork

# the example of the W3C Trace Context recommendation, section 3.2.2.x
EXAMPLE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_valid_traceparent_is_read_field_by_field() -> None:
    context = tracing.parse(EXAMPLE, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
    assert context is not None
    assert (context.trace_id, context.span_id, context.flags) == (TRACE_ID, "00f067aa0ba902b7", 1)
    assert context.tracestate == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    assert context.traceparent == EXAMPLE


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff is invalid
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent id
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper-case hex
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # trace id too short
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # version 00 is 55 characters
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  # no flags
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
    ],
)
def test_an_invalid_traceparent_gives_no_context(value: str) -> None:
    assert tracing.parse(value) is None


def test_a_later_version_is_read_by_its_first_four_fields_and_written_as_version_00() -> None:
    context = tracing.parse(f"01-{TRACE_ID}-00f067aa0ba902b7-01-what-the-future-will-be-like")
    assert context is not None and (context.trace_id, context.flags) == (TRACE_ID, 1)
    assert context.child().traceparent.startswith(f"00-{TRACE_ID}-")


def test_a_child_sets_the_flags_this_version_does_not_define_to_zero() -> None:
    context = tracing.parse(f"00-{TRACE_ID}-00f067aa0ba902b7-ff")
    assert context is not None
    assert context.child().traceparent.endswith("-03")  # sampled and random kept


def test_an_invalid_tracestate_is_dropped_and_the_traceparent_kept() -> None:
    context = tracing.parse(EXAMPLE, "not a valid=list member,,=")
    assert context is not None and context.trace_id == TRACE_ID
    assert context.tracestate is None


def test_a_child_keeps_the_trace_id_and_takes_a_new_parent_id() -> None:
    parent = tracing.parse(EXAMPLE, "congo=t61rcWkgMzE")
    assert parent is not None
    child = parent.child()
    assert child.trace_id == TRACE_ID
    assert child.span_id != parent.span_id and re.fullmatch(r"[0-9a-f]{16}", child.span_id)
    assert (child.flags, child.tracestate) == (1, "congo=t61rcWkgMzE")
    assert tracing.parse(child.traceparent, child.tracestate) == child


def test_a_new_trace_is_a_valid_traceparent() -> None:
    one, two = tracing.new_trace(), tracing.new_trace()
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-00", one.traceparent)
    assert one.trace_id != two.trace_id
    assert tracing.parse(one.traceparent) == one


def _record(headers: list[tuple[str, bytes]]) -> FakeRecord:
    event = CustomerUpserted.model_validate({"customer_number": "C-1", "customer": {"customer_type": "person"}})
    base = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"id-1"),
        ("ce_type", CustomerUpserted.EVENT_TYPE.encode()),
        ("ce_source", b"crm"),
    ]
    return FakeRecord("upserts", 0, 0, b"C-1", encode_data(event), base + headers)


def test_the_headers_travel_as_ce_traceparent_and_ce_tracestate() -> None:
    context = tracing.parse(EXAMPLE, "congo=t61rcWkgMzE")
    meta = EventMeta.new(CustomerUpserted.EVENT_TYPE, "urn:test", trace=context)
    headers = dict((k, v.decode()) for k, v in encode_headers(meta))
    assert headers["ce_traceparent"] == EXAMPLE
    assert headers["ce_tracestate"] == "congo=t61rcWkgMzE"
    trace_headers = [(k, v.encode()) for k, v in headers.items() if k.startswith("ce_trace")]
    decoded = decode(_record(trace_headers), CustomerUpserted)
    assert decoded.meta.trace == context


def test_an_event_with_an_invalid_traceparent_is_decoded_without_one_not_refused() -> None:
    env = decode(_record([("ce_traceparent", b"ff-nonsense"), ("ce_tracestate", b"a=b")]), CustomerUpserted)
    assert env.meta.trace is None
    assert env.data.customer_number == "C-1"


def _trace_of(writer: OutboxWriter) -> tracing.TraceContext:
    headers = dict(json.loads(writer._rows[-1][3]))
    context = tracing.parse(headers["ce_traceparent"], headers.get("ce_tracestate"))
    assert context is not None
    return context


def test_the_outbox_writes_a_child_of_the_cause_else_of_the_current_trace_else_a_new_trace() -> None:
    event = CustomerUpserted.model_validate({"customer_number": "C-1", "customer": {"customer_type": "person"}})
    cause = tracing.parse(EXAMPLE)
    assert cause is not None
    writer = OutboxWriter(messaging, "urn:test")
    writer.add("t.v1", event, key="C-1", trace=cause)
    written = _trace_of(writer)
    assert written.trace_id == TRACE_ID and written.span_id != cause.span_id
    other = tracing.new_trace()
    with tracing.use(other):
        writer.add("t.v1", event, key="C-1")
        assert _trace_of(writer).trace_id == other.trace_id
        writer.add("t.v1", event, key="C-1", trace=cause)  # an explicit cause wins
        assert _trace_of(writer).trace_id == TRACE_ID
    writer.add("t.v1", event, key="C-1")
    fresh = _trace_of(writer)
    assert fresh.trace_id not in (TRACE_ID, other.trace_id)


async def test_the_consumer_makes_the_inbound_trace_current_or_starts_one() -> None:
    seen: list[str | None] = []

    async def handler(events: Sequence[Envelope[Any]], uow: Any) -> None:
        current = tracing.current()
        seen.append(current.trace_id if current else None)

    loop = ConsumerLoop(
        topic="upserts",
        consumer="c:upserts",
        types=event_types(CustomerUpserted),
        handler=handler,
        uow_factory=lambda: FakeUnitOfWork(FakeStore()),  # type: ignore[arg-type,return-value]
    )
    await loop.process([_record([("ce_traceparent", EXAMPLE.encode())])])
    await loop.process([_record([("ce_traceparent", b"00-bad")])])
    assert seen[0] == TRACE_ID
    assert seen[1] is not None and re.fullmatch(r"[0-9a-f]{32}", seen[1]) and seen[1] != TRACE_ID
    assert tracing.current() is None  # only inside the handler
