"""Events on the wire: JSON body, CloudEvents attributes as Kafka headers.

This is the CloudEvents Kafka protocol binding in *binary content mode*: the record
value is the event data as JSON, and the attributes travel as headers
``ce_specversion``, ``ce_id``, ``ce_source``, ``ce_type``, ``ce_time``,
``ce_subject`` plus ``content-type: application/json``. Another system can publish
with any Kafka client or a CloudEvents SDK.

Every event type is a frozen pydantic v2 model deriving from :class:`Event`, whose
``EVENT_TYPE`` names the type and version (``fi.billing.customers.upserted.v1``).
Within a version, changes only add optional fields; consumers ignore unknown fields.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"


class Event(BaseModel):
    """Base of every event data model (the contract)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    EVENT_TYPE: ClassVar[str]


E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class EventMeta:
    """The CloudEvents context attributes of one event."""

    id: str
    type: str
    source: str
    time: datetime
    subject: str | None = None

    @classmethod
    def new(cls, event_type: str, source: str, subject: str | None = None) -> EventMeta:
        return cls(
            id=str(uuid.uuid4()),
            type=event_type,
            source=source,
            time=datetime.now(UTC),
            subject=subject,
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


def encode_headers(meta: EventMeta) -> list[tuple[str, bytes]]:
    headers = [
        ("ce_specversion", SPEC_VERSION.encode()),
        ("ce_id", meta.id.encode()),
        ("ce_source", meta.source.encode()),
        ("ce_type", meta.type.encode()),
        ("ce_time", meta.time.isoformat().encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    if meta.subject is not None:
        headers.append(("ce_subject", meta.subject.encode()))
    return headers


def encode_data(data: Event) -> bytes:
    return data.model_dump_json().encode()


class RecordLike(Protocol):
    @property
    def headers(self) -> Any: ...  # sequence of (str, bytes)

    @property
    def value(self) -> bytes | None: ...


def header_map(headers: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers or ():
        if value is None:
            continue
        try:
            out[name] = value.decode() if isinstance(value, bytes | bytearray) else str(value)
        except UnicodeDecodeError:
            continue
    return out


def decode(record: RecordLike, event_cls: type[E]) -> Envelope[E]:
    """Parse one Kafka record into an envelope, or raise :class:`InvalidEvent`.

    The reason names what is wrong (header, field path) but never echoes field values,
    so it can be logged and stored without personal data.
    """
    headers = header_map(record.headers)
    event_id = headers.get("ce_id", "").strip()
    if not event_id:
        raise InvalidEvent("missing-id", "header ce_id is missing or empty")
    event_type = headers.get("ce_type", "")
    if event_type != event_cls.EVENT_TYPE:
        raise InvalidEvent("wrong-type", f"ce_type {event_type!r} is not {event_cls.EVENT_TYPE!r}")
    source = headers.get("ce_source", "").strip()
    if not source:
        raise InvalidEvent("missing-source", "header ce_source is missing or empty")
    try:
        time = datetime.fromisoformat(headers["ce_time"]) if "ce_time" in headers else None
    except ValueError:
        raise InvalidEvent("bad-time", "header ce_time is not an RFC 3339 timestamp") from None
    if time is not None and time.tzinfo is None:
        raise InvalidEvent("bad-time", "header ce_time has no time zone")
    if record.value is None:
        raise InvalidEvent("empty-body", "record has no value")
    try:
        data = event_cls.model_validate_json(record.value)  # pydantic's own (Rust) JSON parser
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise InvalidEvent("bad-json", "value is not JSON") from None
        raise InvalidEvent("invalid-data", validation_summary(exc)) from None
    meta = EventMeta(
        id=event_id,
        type=event_type,
        source=source,
        time=time or datetime.now(UTC),
        subject=headers.get("ce_subject"),
    )
    return Envelope(meta=meta, data=data)


def validation_summary(exc: ValidationError) -> str:
    """Field paths and error kinds only: no input values (they may be personal data)."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(body)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)[:2000]
