"""Kafka subscribers of the customers service: translate, then call the handler."""

from __future__ import annotations

from services.customers import handlers
from services.customers.tables import CustomersUnitOfWork
from shared.events import topics
from shared.messaging.consumer import subscribe
from shared.runtime import Runtime

GROUP = "customers"


def register(runtime: Runtime[CustomersUnitOfWork]) -> None:
    runtime.consumer_stats.append(
        subscribe(
            runtime.broker,
            runtime.settings,
            topic=topics.CUSTOMER_UPSERTS,
            group=GROUP,
            handler=handlers.apply_upserts,
            uow_factory=runtime.uow,
        )
    )
