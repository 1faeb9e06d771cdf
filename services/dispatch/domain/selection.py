"""Which documents a send (or its preview) takes: a channel, the states it takes them
from, and either every matching document up to the newest one at the moment the clerk
pressed the button, or an explicit list. Stored as the job's parameters, so a job
resumed after a crash selects the same documents.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.dispatch.domain.documents import SENDABLE, State
from shared.events.customers import Channel


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    customer_number: str | None = None
    number: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "customer_number": self.customer_number,
            "number": self.number,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Filters:
        return cls(
            kind=data.get("kind"),
            customer_number=data.get("customer_number"),
            number=data.get("number"),
            date_from=date.fromisoformat(data["date_from"]) if data.get("date_from") else None,
            date_to=date.fromisoformat(data["date_to"]) if data.get("date_to") else None,
        )


@dataclass(frozen=True)
class Selection:
    channel: Channel
    states: tuple[State, ...] = (State.WAITING,)
    ids: tuple[str, ...] | None = None
    """An explicit selection; None: every document matching the filters."""
    filters: Filters = field(default_factory=Filters)
    max_seq: int = 0
    """Only documents that had arrived when the send was asked for (their ``seq``)."""

    def __post_init__(self) -> None:
        if not self.states or any(s not in SENDABLE for s in self.states):
            raise ValueError("a send takes waiting or failed documents only")

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "states": [s.value for s in self.states],
            "ids": list(self.ids) if self.ids is not None else None,
            "filters": self.filters.to_json(),
            "max_seq": self.max_seq,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Selection:
        ids = data.get("ids")
        return cls(
            channel=data["channel"],
            states=tuple(State(s) for s in data["states"]),
            ids=tuple(ids) if ids is not None else None,
            filters=Filters.from_json(data.get("filters") or {}),
            max_seq=int(data["max_seq"]),
        )
