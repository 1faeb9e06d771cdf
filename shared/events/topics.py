"""The topic registry: every topic the system uses, in one place.

Names carry the contract version (``…v1``). Keys: everything about one customer is
keyed by customer id (ordering per customer); channel jobs by document id. Every
consumed topic has a dead-letter topic ``<topic>.dlq``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.events.customers import BillingProfileChanged, CustomerCorrected, CustomerUpserted
from shared.events.envelope import Event


@dataclass(frozen=True)
class TopicSpec:
    name: str
    event: type[Event]
    """The one event type (and version) the topic carries."""
    key: str
    """What the record key is (documentation, and the AsyncAPI description)."""
    kind: Literal["inbound", "outbound", "internal"] = "outbound"
    compacted: bool = False
    channel: bool = False
    """Channel job topics get more partitions (``kafka_channel_partitions``)."""

    @property
    def dead_letter(self) -> str:
        return dead_letter_name(self.name)


def dead_letter_name(name: str) -> str:
    return f"{name}.dlq"


# Inbound: other systems publish.
CUSTOMER_UPSERTS = TopicSpec("crm.customer-upserts.v1", CustomerUpserted, key="customer number", kind="inbound")

# Outbound: this system publishes.
BILLING_PROFILES = TopicSpec(
    "customers.billing-profiles.v1", BillingProfileChanged, key="customer number", compacted=True
)

CUSTOMER_CORRECTIONS = TopicSpec("customers.corrections.v1", CustomerCorrected, key="customer number", kind="outbound")

ALL: tuple[TopicSpec, ...] = (CUSTOMER_UPSERTS, BILLING_PROFILES, CUSTOMER_CORRECTIONS)
