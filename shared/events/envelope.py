"""Events on the wire: JSON body, CloudEvents attributes as Kafka headers.

This is the CloudEvents Kafka protocol binding in *binary content mode*: the record
value is the event data as JSON, and the attributes travel as headers
``ce_specversion``, ``ce_id``, ``ce_source``, ``ce_type``, ``ce_time``,
``ce_subject`` plus ``content-type: application/json``. Another system can publish
with any Kafka client or a CloudEvents SDK.

The distributed-tracing extension rides along: ``ce_traceparent`` and
``ce_tracestate`` (W3C Trace Context, :mod:`shared.tracing`). A publisher MAY send
them; every event we write carries a ``ce_traceparent``. An invalid one is ignored
(the event is handled, under a new trace), never a reason to refuse the event.

Every event type is a frozen pydantic v2 model deriving from :class:`Event`, whose
``EVENT_TYPE`` names the type and version (``fi.billing.customers.upserted.v1``).
Within a version, changes only add optional fields; consumers ignore unknown fields.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from shared import random_ids, tracing
from shared.tracing import TraceContext

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
MAX_ATTRIBUTE_LENGTH = 256
"""Longest ``ce_id``, ``ce_source`` or ``ce_subject`` accepted."""


class Event(BaseModel):
    """Base of every event data model (the contract)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    EVENT_TYPE: ClassVar[str]


E = TypeVar("E", bound=Event)


_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_event_id() -> str:
    """A random (version 4, RFC 4122 variant) UUID as text, from the private generator
    of :mod:`shared.random_ids` as trace ids are: unique as ``uuid.uuid4()``'s, not a
    secret, and without its ``os.urandom`` system call and ``UUID`` object, which cost a
    consumer that emits an event per record a few per cent of its time. Seeding the
    global ``random`` module does not touch it; a forked child reseeds it."""
    h = "%032x" % ((random_ids.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True)
class EventMeta:
    """The CloudEvents context attributes of one event."""

    id: str
    type: str
    source: str
    time: datetime
    subject: str | None = None
    key: str | None = field(default=None, compare=False)
    """The Kafka record key (UTF-8), None when the record has none or it is not text: the
    topic's contract says what it must be (a customer number, a document id). Not a
    CloudEvents attribute, so two metas compare without it."""
    trace: TraceContext | None = field(default=None, compare=False)
    """The distributed-tracing extension (``ce_traceparent``/``ce_tracestate``): None
    when the record had none, or an invalid one."""

    @classmethod
    def new(
        cls, event_type: str, source: str, subject: str | None = None, trace: TraceContext | None = None
    ) -> EventMeta:
        return cls(
            id=new_event_id(),
            type=event_type,
            source=source,
            time=datetime.now(UTC),
            subject=subject,
            trace=trace,
        )


@dataclass(frozen=True)
class Envelope(Generic[E]):
    meta: EventMeta
    data: E


class InvalidEvent(Exception):
    """An inbound record that is not a valid event of the expected type."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def header_texts(meta: EventMeta) -> list[tuple[str, str]]:
    """The CloudEvents Kafka headers of ``meta`` as text (what :func:`encode_headers`
    encodes; the outbox stores them so, as JSON)."""
    headers = [
        ("ce_specversion", SPEC_VERSION),
        ("ce_id", meta.id),
        ("ce_source", meta.source),
        ("ce_type", meta.type),
        ("ce_time", meta.time.isoformat()),
        ("content-type", CONTENT_TYPE),
    ]
    if meta.subject is not None:
        headers.append(("ce_subject", meta.subject))
    if meta.trace is not None:
        headers.extend(meta.trace.headers())
    return headers


def encode_headers(meta: EventMeta) -> list[tuple[str, bytes]]:
    return [(name, value.encode()) for name, value in header_texts(meta)]


def encode_data(data: Event) -> bytes:
    return data.model_dump_json().encode()


class RecordLike(Protocol):
    @property
    def headers(self) -> Any: ...  # sequence of (str, bytes)

    @property
    def value(self) -> bytes | None: ...


def header_map(headers: Any) -> dict[str, str]:
    """Header name -> value as text; a value that is None or not UTF-8 is left out,
    and a later header of the same name wins."""
    try:
        # the common case (every value UTF-8 bytes) in one comprehension: anything
        # else (None, text, undecodable bytes) raises, and the loop below sorts it out
        return {name: value.decode() for name, value in headers or ()}
    except (AttributeError, UnicodeDecodeError, TypeError):
        pass
    out: dict[str, str] = {}
    for name, value in headers or ():
        if value is None:
            continue
        try:
            out[name] = value.decode() if isinstance(value, bytes | bytearray) else str(value)
        except UnicodeDecodeError:
            continue
    return out


# RFC 3339 section 5.6 date-time: "T"/"Z" in either letter case, any number of
# fraction digits, a numeric offset or Z. (datetime.fromisoformat alone accepts forms
# RFC 3339 does not, a bare date for one, and refuses some it does, a lower-case "t".)
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


_PLAIN_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:(?:[0-5]\d)[+-](?:[01]\d|2[0-3]):[0-5]\d$")


def parse_rfc3339(value: str) -> datetime:
    """An RFC 3339 timestamp as an aware datetime; ``ValueError`` if it is not one.
    Fractions beyond microseconds are truncated; a leap second (``:60``) is read as
    the last microsecond of that minute."""
    m = _RFC3339.match(value)
    if m is None:
        raise ValueError("not an RFC 3339 date-time")
    if _PLAIN_TIME.match(value):
        # the common form (upper-case T, no fraction, a numeric offset in range, no
        # leap second): the C parser reads it as the general path below would
        return datetime.fromisoformat(value)
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    if m.group(8):
        tz = UTC
    else:
        sign = 1 if m.group(9) == "+" else -1
        hours, minutes = int(m.group(10)), int(m.group(11))
        if hours > 23 or minutes > 59:
            raise ValueError("offset out of range")
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    if second == 60:
        second, micro = 59, 999_999
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)


EventTypes = Mapping[str, type[Event]]


def event_types(*classes: type[Event]) -> dict[str, type[Event]]:
    """``ce_type`` -> model, for :func:`decode` (a discriminated union keyed by type)."""
    types: dict[str, type[Event]] = {}
    for cls in classes:
        if cls.EVENT_TYPE in types:
            raise ValueError(f"two models for event type {cls.EVENT_TYPE}")
        types[cls.EVENT_TYPE] = cls
    return types


def decode(
    record: RecordLike,
    types: EventTypes | type[E],
    *,
    require_time: bool = False,
    tombstone: type[Event] | None = None,
    start_trace: bool = False,
) -> Envelope[Any]:
    """Parse one Kafka record into an envelope, or raise :class:`InvalidEvent`.

    ``types`` maps each ``ce_type`` the topic carries to its model (or is the one
    model): the record's ``ce_type`` picks the model, and a type the topic does not
    carry is refused (``unknown-type``).

    The reason names what is wrong (header, field path) but never echoes field values,
    so it can be logged and stored without personal data.

    ``tombstone``: the topic is compacted and a record with a null value is its
    tombstone: it decodes to this model, built from the key (:func:`decode_tombstone`).
    Without it a null value is refused (``empty-body``).

    ``start_trace``: a record without a (valid) trace context gets a new trace (the
    consumer's choice: this event starts one); else its ``trace`` is None.
    """
    if record.value is None and tombstone is not None:
        return decode_tombstone(record, tombstone, start_trace=start_trace)
    models: EventTypes = {types.EVENT_TYPE: types} if isinstance(types, type) else types
    headers = header_map(record.headers)
    spec_version = headers.get("ce_specversion")
    if spec_version is None:
        raise InvalidEvent("missing-specversion", "header ce_specversion is missing")
    if spec_version != SPEC_VERSION:
        raise InvalidEvent("bad-specversion", f"ce_specversion must be {SPEC_VERSION!r}")
    event_id = headers.get("ce_id", "")
    if not event_id.strip():
        raise InvalidEvent("missing-id", "header ce_id is missing or empty")
    if event_id != event_id.strip() or len(event_id) > MAX_ATTRIBUTE_LENGTH or not event_id.isprintable():
        raise InvalidEvent(
            "bad-id",
            f"header ce_id has surrounding spaces, control characters or over {MAX_ATTRIBUTE_LENGTH} characters",
        )
    event_type = headers.get("ce_type", "")
    model = models.get(event_type)
    if model is None:
        known = ", ".join(sorted(models))
        shown = event_type if len(event_type) <= 100 and event_type.isprintable() else "(unprintable)"
        raise InvalidEvent("unknown-type", f"ce_type {shown!r} is not one this topic carries ({known})")
    source = headers.get("ce_source", "")
    if not source.strip():
        raise InvalidEvent("missing-source", "header ce_source is missing or empty")
    if len(source) > MAX_ATTRIBUTE_LENGTH or not source.isprintable():
        raise InvalidEvent("bad-source", f"header ce_source has control characters or over {MAX_ATTRIBUTE_LENGTH}")
    subject = headers.get("ce_subject")
    if subject is not None and (len(subject) > MAX_ATTRIBUTE_LENGTH or not subject.isprintable()):
        raise InvalidEvent("bad-subject", f"header ce_subject has control characters or over {MAX_ATTRIBUTE_LENGTH}")
    time: datetime | None = None
    if require_time and "ce_time" not in headers:
        raise InvalidEvent("missing-time", "header ce_time is required on this topic (consumers order by it)")
    if "ce_time" in headers:
        try:
            time = parse_rfc3339(headers["ce_time"])
        except ValueError:
            raise InvalidEvent("bad-time", "header ce_time is not an RFC 3339 date-time with a time zone") from None
    if record.value is None:
        raise InvalidEvent("empty-body", "record has no value")
    try:
        data = model.model_validate_json(record.value)  # pydantic's own (Rust) JSON parser
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise InvalidEvent("bad-json", "value is not JSON") from None
        raise InvalidEvent("invalid-data", validation_summary(exc)) from None
    meta = EventMeta(
        id=event_id,
        type=event_type,
        source=source,
        time=time or datetime.now(UTC),
        subject=subject,
        key=record_key(record),
        # invalid: None (a new trace), never a refusal
        trace=tracing.from_headers(headers) or (tracing.new_trace() if start_trace else None),
    )
    return Envelope(meta=meta, data=data)


def decode_tombstone(record: RecordLike, model: type[E], *, start_trace: bool = False) -> Envelope[E]:
    """A tombstone (null value) as the event ``model``, built from the record's key
    (``{"customer_number": key}``: the one field a tombstone model has).

    The CloudEvents headers are used when the record has them (ours do); a bare
    tombstone (written by another tool, or a header lost) still counts: its id is its
    position (``topic/partition/offset``, the same on every redelivery, so the inbox
    drops a copy) and its time the time it is read. Its ``ce_traceparent`` is read as
    an event's is. Only a tombstone without a usable
    key is refused: it names nothing to erase.
    """
    key = record_key(record)
    if not key:
        raise InvalidEvent("tombstone-without-key", "a record with a null value has no (UTF-8) key")
    fields = [name for name in model.model_fields]
    if len(fields) != 1:
        raise TypeError(f"{model.__name__} is not a tombstone model (one field, from the key)")
    try:
        data = model.model_validate({fields[0]: key})
    except ValidationError as exc:
        raise InvalidEvent("invalid-data", "tombstone key: " + validation_summary(exc)) from None
    headers = header_map(record.headers)
    position = f"{getattr(record, 'topic', '')}/{getattr(record, 'partition', '')}/{getattr(record, 'offset', '')}"
    event_id = _attribute(headers.get("ce_id")) or f"tombstone:{position}"
    source = _attribute(headers.get("ce_source")) or "urn:kafka:tombstone"
    time: datetime | None = None
    with contextlib.suppress(ValueError):
        time = parse_rfc3339(headers.get("ce_time", ""))
    meta = EventMeta(
        id=event_id,
        type=model.EVENT_TYPE,
        source=source,
        time=time or datetime.now(UTC),
        subject=key,
        key=key,
        # none or invalid: a new trace when handled
        trace=tracing.from_headers(headers) or (tracing.new_trace() if start_trace else None),
    )
    return Envelope(meta=meta, data=data)


def _attribute(value: str | None) -> str | None:
    """A usable CloudEvents attribute as given, else None."""
    if value is None or not value.strip() or value != value.strip():
        return None
    return value if len(value) <= MAX_ATTRIBUTE_LENGTH and value.isprintable() else None


def record_key(record: object) -> str | None:
    """A record's key as text; None when it has none or it is not UTF-8."""
    key = getattr(record, "key", None)
    if isinstance(key, bytes | bytearray):
        try:
            return bytes(key).decode()
        except UnicodeDecodeError:
            return None
    return key if isinstance(key, str) else None


def validation_summary(exc: ValidationError) -> str:
    """Field paths and error kinds only: no input values (they may be personal data)."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(body)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)[:2000]
