"""The topic registry: every topic the system uses, in one place.

Names carry the contract version (``…v1``). Keys: everything about one customer is
keyed by customer id (ordering per customer); channel jobs by document id. Every
consumed topic has a dead-letter topic ``<topic>.dlq``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from shared.events.bank import ReferencePaymentReceived, ReferencePaymentReversed
from shared.events.customers import BillingProfileChanged, BillingProfileErased, CustomerCorrected, CustomerUpserted
from shared.events.dispatch import DeliveryFailed, DocumentDelivered, SendDocument
from shared.events.envelope import Event, event_types
from shared.events.invoicing import (
    BillingRunFinished,
    CorrectiveInvoiceIssued,
    InvoiceIssued,
    InvoiceSettled,
    PaymentRecorded,
    PaymentReversed,
)
from shared.events.reminders import HandedOverToCollection, ReminderIssued
from shared.events.sales import BillingRequestSubmitted, OrderCancelled


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
    """Compacted (``cleanup.policy=compact``): every declaration must say so, and the
    production start check requires it (the erasure tombstones rely on it)."""
    kept_forever: bool = False
    """Kept forever (``retention.ms=-1``, ``retention.bytes=-1``): every declaration must
    say so, the production start check requires it, and ``billing topics apply`` never
    lowers it (the invoice reconcile rebuilds from the whole topic)."""
    requires_time: bool = False
    """Records must carry ``ce_time``: consumers order them by it (upserts)."""
    channel: bool = False
    """Channel job topics get more partitions (``kafka_channel_partitions``)."""
    tombstone: type[Event] | None = None
    """A compacted topic's tombstone (a record with a null value): the event its key
    makes (built from the key alone, see :func:`shared.events.envelope.decode`)."""

    def __post_init__(self) -> None:
        if not self.events:
            raise ValueError(f"{self.name} carries no event type")
        version = self.name.rsplit(".", 1)[1]
        for cls in self.events:
            if not cls.EVENT_TYPE.endswith(f".{version}"):
                raise ValueError(f"{cls.EVENT_TYPE} is not a {version} type, but {self.name} is a {version} topic")
        event_types(*self.events, *([self.tombstone] if self.tombstone else []))  # refuses two models for one type
        if self.tombstone is not None and not self.compacted:
            raise ValueError(f"{self.name} is not compacted: a tombstone there deletes nothing")
        if self.tombstone is not None and not self.tombstone.EVENT_TYPE.endswith(f".{version}"):
            raise ValueError(
                f"{self.tombstone.EVENT_TYPE} is not a {version} type, but {self.name} is a {version} topic"
            )

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

BILLING_REQUESTS = TopicSpec(
    "sales.billing-requests.v1",
    (BillingRequestSubmitted, OrderCancelled),
    key="customer number",
    kind="inbound",
)

REFERENCE_PAYMENTS = TopicSpec(
    "bank.reference-payments.v1",
    (ReferencePaymentReceived, ReferencePaymentReversed),
    key=(
        "canonical payment reference: the national reference without spaces or leading zeros; an RF reference"
        " whose body is a national reference keys by that national form, any other RF reference by its compact"
        " upper-case form (so a payment and its reversal share a partition and arrive in order, whichever form"
        " the bank wrote)"
    ),
    kind="inbound",
)

# Outbound: this system publishes.
BILLING_PROFILES = TopicSpec(
    "customers.billing-profiles.v1",
    (BillingProfileChanged,),
    key="customer number",
    compacted=True,
    tombstone=BillingProfileErased,
)

CUSTOMER_CORRECTIONS = TopicSpec(
    "customers.corrections.v1", (CustomerCorrected,), key="customer number", kind="outbound"
)

INVOICES = TopicSpec(
    "invoicing.invoices.v1",
    (InvoiceIssued, CorrectiveInvoiceIssued, PaymentRecorded, PaymentReversed, InvoiceSettled),
    key="customer number",
    kept_forever=True,
)

BILLING_RUNS = TopicSpec("invoicing.runs.v1", (BillingRunFinished,), key="run id")

REMINDERS = TopicSpec("reminders.reminders.v1", (ReminderIssued, HandedOverToCollection), key="customer number")

# Internal: one job topic per channel, many partitions, keyed by document id.
EMAIL_JOBS = TopicSpec("dispatch.jobs.email.v1", (SendDocument,), key="document id", kind="internal", channel=True)
EINVOICE_JOBS = TopicSpec(
    "dispatch.jobs.einvoice.v1", (SendDocument,), key="document id", kind="internal", channel=True
)
PRINT_JOBS = TopicSpec("dispatch.jobs.print.v1", (SendDocument,), key="document id", kind="internal", channel=True)
CHANNEL_JOBS = {"email": EMAIL_JOBS, "einvoice": EINVOICE_JOBS, "print": PRINT_JOBS}

DELIVERIES = TopicSpec("dispatch.deliveries.v1", (DocumentDelivered, DeliveryFailed), key="document id")

ALL: tuple[TopicSpec, ...] = (
    CUSTOMER_UPSERTS,
    BILLING_PROFILES,
    CUSTOMER_CORRECTIONS,
    BILLING_REQUESTS,
    REFERENCE_PAYMENTS,
    INVOICES,
    BILLING_RUNS,
    REMINDERS,
    EMAIL_JOBS,
    EINVOICE_JOBS,
    PRINT_JOBS,
    DELIVERIES,
)
