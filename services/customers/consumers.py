"""Kafka subscribers of the customers service: translate, then call the handler."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter

from services.customers import handlers
from services.customers.tables import CustomersUnitOfWork
from shared.events import topics
from shared.events.customers import CustomerUpserted
from shared.events.envelope import Envelope
from shared.messaging.consumer import subscribe
from shared.runtime import Runtime

GROUP = "customers"

STALE_UPSERTS = Counter(
    "billing_customers_stale_upserts",
    "CRM upserts older (ce_time) than the last one applied for the customer: ignored, each with an audit row",
)
"""Counted when the batch's handler returns (a batch retried after a rollback counts
again); the exact number is the audit rows ``changes->>'ignored' = 'stale'``."""


async def on_upserts(events: Sequence[Envelope[CustomerUpserted]], uow: CustomersUnitOfWork) -> None:
    outcome = await handlers.apply_upserts(events, uow)
    if outcome.stale:
        STALE_UPSERTS.inc(outcome.stale)


def register(runtime: Runtime[CustomersUnitOfWork]) -> None:
    runtime.consumer_stats.append(
        subscribe(
            runtime.broker,
            runtime.settings,
            topic=topics.CUSTOMER_UPSERTS,
            group=GROUP,
            event_cls=CustomerUpserted,
            handler=on_upserts,
            uow_factory=runtime.uow,
        )
    )
