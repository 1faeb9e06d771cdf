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


def register(runtime: Runtime[CustomersUnitOfWork]) -> None:
    stale_upserts = Counter(
        "billing_customers_stale_upserts",
        "CRM upserts older (ce_time) than the last one applied for the customer: ignored, each with an audit row. "
        "Counted when the batch's handler returns (a batch retried after a rollback counts again); the exact "
        "number is the audit rows with changes->>'ignored' = 'stale'.",
        registry=runtime.metrics.registry,
    )

    async def on_upserts(events: Sequence[Envelope[CustomerUpserted]], uow: CustomersUnitOfWork) -> None:
        outcome = await handlers.apply_upserts(events, uow)
        if outcome.stale:
            stale_upserts.inc(outcome.stale)

    runtime.consumer_stats.append(
        subscribe(
            runtime.broker,
            runtime.settings,
            topic=topics.CUSTOMER_UPSERTS,
            group=GROUP,
            handler=on_upserts,
            uow_factory=runtime.uow,
        )
    )
