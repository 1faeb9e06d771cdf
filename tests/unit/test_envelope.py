"""CloudEvents envelope: what is accepted, what is refused and why."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from shared.events.customers import CustomerUpserted
from shared.events.envelope import (
    Event,
    EventMeta,
    InvalidEvent,
    decode,
    encode_data,
    encode_headers,
    event_types,
    header_map,
    new_event_id,
)
from tests.support.fakes import FakeRecord

GOOD = {"customer_number": "C-1", "customer": {"customer_type": "person", "name": "Maija Meikäläinen"}}


def record(value: bytes | None, **headers: str | None) -> FakeRecord:
    base = {"ce_id": "e-1", "ce_type": CustomerUpserted.EVENT_TYPE, "ce_source": "urn:crm", "ce_specversion": "1.0"}
    base.update(headers)
    return FakeRecord("t", 0, 0, b"C-1", value, [(k, v.encode()) for k, v in base.items() if v is not None])


def test_encoded_event_decodes_to_the_same_data_and_attributes() -> None:
    event = CustomerUpserted.model_validate(GOOD)
    meta = EventMeta("id-9", event.EVENT_TYPE, "urn:billing:test", datetime(2026, 1, 2, 3, 4, tzinfo=UTC), "C-1")
    rec = FakeRecord("t", 0, 0, b"C-1", encode_data(event), encode_headers(meta))
    env = decode(rec, CustomerUpserted)
    assert env.data == event
    assert env.meta == meta


def test_the_record_key_travels_with_the_event_for_the_consumer_to_check() -> None:
    event = CustomerUpserted.model_validate(GOOD)
    meta = EventMeta("id-9", event.EVENT_TYPE, "urn:billing:test", datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    assert (
        decode(FakeRecord("t", 0, 0, b"C-1", encode_data(event), encode_headers(meta)), CustomerUpserted).meta.key
        == "C-1"
    )
    assert (
        decode(FakeRecord("t", 0, 0, None, encode_data(event), encode_headers(meta)), CustomerUpserted).meta.key is None
    )
    assert (
        decode(FakeRecord("t", 0, 0, b"\xff", encode_data(event), encode_headers(meta)), CustomerUpserted).meta.key
        is None
    )


def test_unknown_fields_are_ignored_so_producers_may_add_optional_ones() -> None:
    body = {**GOOD, "added_later": 1}
    assert decode(record(json.dumps(body).encode()), CustomerUpserted).data.customer_number == "C-1"


@pytest.mark.parametrize(
    ("value", "headers", "code"),
    [
        (b"{", {}, "bad-json"),
        (b"\xff\xfe", {}, "bad-json"),
        (None, {}, "empty-body"),
        (json.dumps(GOOD).encode(), {"ce_id": ""}, "missing-id"),
        (json.dumps(GOOD).encode(), {"ce_type": "fi.billing.other.v1"}, "unknown-type"),
        (json.dumps(GOOD).encode(), {"ce_specversion": None}, "missing-specversion"),
        (json.dumps(GOOD).encode(), {"ce_specversion": "0.3"}, "bad-specversion"),
        (json.dumps(GOOD).encode(), {"ce_id": " e-1"}, "bad-id"),
        (json.dumps(GOOD).encode(), {"ce_id": "x" * 257}, "bad-id"),
        (json.dumps(GOOD).encode(), {"ce_id": "e\x001"}, "bad-id"),
        (json.dumps(GOOD).encode(), {"ce_source": "urn:\x00crm"}, "bad-source"),
        (json.dumps(GOOD).encode(), {"ce_subject": "C-1\n"}, "bad-subject"),
        (json.dumps(GOOD).encode(), {"ce_time": "2026-01-01"}, "bad-time"),
        (json.dumps(GOOD).encode(), {"ce_time": "2026-01-01 10:00:00Z"}, "bad-time"),
        (json.dumps(GOOD).encode(), {"ce_time": "2026-01-01T10:00:00+25:00"}, "bad-time"),
        (json.dumps(GOOD).encode(), {"ce_source": ""}, "missing-source"),
        (json.dumps(GOOD).encode(), {"ce_time": "yesterday"}, "bad-time"),
        (json.dumps(GOOD).encode(), {"ce_time": "2026-01-01T10:00:00"}, "bad-time"),
        (json.dumps({"customer_number": "C 1", "customer": {}}).encode(), {}, "invalid-data"),
    ],
)
def test_invalid_records_are_refused_with_a_code(
    value: bytes | None, headers: dict[str, str | None], code: str
) -> None:
    with pytest.raises(InvalidEvent) as exc:
        decode(record(value, **headers), CustomerUpserted)
    assert exc.value.code == code


def test_validation_reason_names_fields_but_never_echoes_values() -> None:
    body = {"customer_number": "C-1", "customer": {"customer_type": "martian", "name": "Maija Meikäläinen"}}
    with pytest.raises(InvalidEvent) as exc:
        decode(record(json.dumps(body).encode()), CustomerUpserted)
    assert "customer.customer_type" in exc.value.reason
    assert "martian" not in exc.value.reason
    assert "Maija" not in exc.value.reason


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-11-22T10:00:00+02:00", datetime(2026, 11, 22, 8, 0, tzinfo=UTC)),
        ("2026-11-22t10:00:00z", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        ("2026-11-22T10:00:00Z", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        ("2026-11-22T10:00:00.123456789-01:30", datetime(2026, 11, 22, 11, 30, 0, 123456, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_any_rfc3339_time_is_accepted_in_either_letter_case(stamp: str, expected: datetime) -> None:
    env = decode(record(json.dumps(GOOD).encode(), ce_time=stamp), CustomerUpserted)
    assert env.meta.time == expected


class _Cancelled(Event):
    EVENT_TYPE = "fi.billing.test.order-cancelled.v1"
    order_id: str


class _Submitted(Event):
    EVENT_TYPE = "fi.billing.test.request-submitted.v1"
    request_id: str


def test_a_topic_with_several_types_decodes_each_record_by_its_ce_type() -> None:
    types = event_types(_Submitted, _Cancelled)
    submitted = decode(record(b'{"request_id": "R-1"}', ce_type=_Submitted.EVENT_TYPE), types)
    cancelled = decode(record(b'{"order_id": "O-1"}', ce_type=_Cancelled.EVENT_TYPE), types)
    assert isinstance(submitted.data, _Submitted) and submitted.data.request_id == "R-1"
    assert isinstance(cancelled.data, _Cancelled) and cancelled.data.order_id == "O-1"
    with pytest.raises(InvalidEvent) as exc:
        decode(record(json.dumps(GOOD).encode()), types)
    assert exc.value.code == "unknown-type"
    assert _Submitted.EVENT_TYPE in exc.value.reason  # says which types the topic carries


def test_a_topic_refuses_two_models_for_one_type_and_types_of_another_version() -> None:
    from shared.events.topics import TopicSpec

    with pytest.raises(ValueError, match="two models"):
        event_types(_Submitted, _Submitted)
    with pytest.raises(ValueError, match="v2"):
        TopicSpec("sales.requests.v2", (_Submitted,), key="customer number")


def test_a_topic_ordered_by_time_refuses_a_record_without_ce_time() -> None:
    value = json.dumps(GOOD).encode()
    with pytest.raises(InvalidEvent) as exc:
        decode(record(value), CustomerUpserted, require_time=True)
    assert exc.value.code == "missing-time"
    stamped = decode(record(value, ce_time="2026-11-23T08:00:00Z"), CustomerUpserted, require_time=True)
    assert stamped.meta.time == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("a", b"1"), ("b", "Ä".encode())], {"a": "1", "b": "Ä"}),
        ([("a", b"1"), ("a", b"2")], {"a": "2"}),  # a later header of the same name wins
        ([("a", None), ("b", b"2")], {"b": "2"}),  # no value: left out
        ([("a", b"\xff"), ("b", b"2")], {"b": "2"}),  # not UTF-8: left out
        ([("a", "text"), ("b", bytearray(b"2"))], {"a": "text", "b": "2"}),
        ([("a", b"1"), ("a", None)], {"a": "1"}),
        (None, {}),
        ([], {}),
    ],
)
def test_header_map_reads_every_shape_of_header_as_the_careful_loop_does(
    headers: list[tuple[str, object]] | None, expected: dict[str, str]
) -> None:
    assert header_map(headers) == expected


def test_a_record_with_an_undecodable_header_still_decodes_by_its_other_headers() -> None:
    rec = record(json.dumps(GOOD).encode())
    rec.headers.append(("x-vendor", b"\xff\xfe"))
    env = decode(rec, CustomerUpserted)
    assert env.meta.id == "e-1" and env.data.customer_number == "C-1"


def test_event_ids_are_distinct_random_uuids_of_version_4() -> None:
    ids = [new_event_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:200]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert uuid.UUID(EventMeta.new("t.v1", "urn:x").id).version == 4
