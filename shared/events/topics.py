"""The topic registry: every topic the system uses, in one place.

Names carry the contract version (``…v1``). Keys: everything about one customer is
keyed by customer id (ordering per customer); channel jobs by document id. Every
consumed topic has a dead-letter topic ``<topic>.dlq``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from shared.events.customers import BillingProfileChanged, CustomerCorrected, CustomerUpserted
from shared.events.envelope import Event, event_types


@dataclass(frozen=True)
class TopicSpec:
    name: str
    events: tuple[type[Event], ...]
    """The event types the topic carries (records say which in ``ce_type``). Several
    types share a topic when their order per key matters (a billing request and the
    cancellation of its order; an invoice issued and the payment recorded on it)."""
    key: str
    """What the record key is (documentation, and the AsyncAPI description)."""
    kind: Literal["inbound", "outbound", "internal"] = "outbound"
    compacted: bool = False
    requires_time: bool = False
    """Records must carry ``ce_time``: consumers order them by it (upserts)."""
    channel: bool = False
    """Channel job topics get more partitions (``kafka_channel_partitions``)."""

    def __post_init__(self) -> None:
        if not self.events:
            raise ValueError(f"{self.name} carries no event type")
        version = self.name.rsplit(".", 1)[1]
        for cls in self.events:
            if not cls.EVENT_TYPE.endswith(f".{version}"):
                raise ValueError(f"{cls.EVENT_TYPE} is not a {version} type, but {self.name} is a {version} topic")
        event_types(*self.events)  # refuses two models for one type

    @cached_property
    def types(self) -> dict[str, type[Event]]:
        """``ce_type`` -> model: what :func:`shared.events.envelope.decode` dispatches on."""
        return event_types(*self.events)

    @property
    def dead_letter(self) -> str:
        return dead_letter_name(self.name)


def dead_letter_name(name: str) -> str:
    return f"{name}.dlq"


# Inbound: other systems publish.
CUSTOMER_UPSERTS = TopicSpec(
    "crm.customer-upserts.v1", (CustomerUpserted,), key="customer number", kind="inbound", requires_time=True
)

# Outbound: this system publishes.
BILLING_PROFILES = TopicSpec(
    "customers.billing-profiles.v1", (BillingProfileChanged,), key="customer number", compacted=True
)

CUSTOMER_CORRECTIONS = TopicSpec(
    "customers.corrections.v1", (CustomerCorrected,), key="customer number", kind="outbound"
)

ALL: tuple[TopicSpec, ...] = (CUSTOMER_UPSERTS, BILLING_PROFILES, CUSTOMER_CORRECTIONS)
