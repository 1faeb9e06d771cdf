"""Kafka subscribers of the reminders service: translate, then call the use case.

- ``invoicing.invoices.v1``: the open items (issued, corrected, paid, settled).
- ``customers.billing-profiles.v1``: the latest profile per customer. Why consume it,
  when every invoice carries its customer's snapshot: a clerk sets "no reminders" on a
  card *after* invoices were issued (a payment plan agreed on the phone, a deceased
  customer), and that must stop the next reminder; and a reminder is a new document,
  sent to the customer's current address, e-mail and channel, not to the ones the
  invoice was sent to weeks earlier. Whether the debt is a consumer's or a business's
  stays as the invoice says (the law that applies is fixed when the debt arises).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.reminders import projection
from services.reminders.repositories import RemindersUnitOfWork
from shared.events import topics
from shared.events.envelope import Envelope
from shared.messaging.consumer import subscribe
from shared.runtime import Runtime

GROUP = "reminders"


def register(runtime: Runtime[RemindersUnitOfWork]) -> None:
    async def on_invoices(events: Sequence[Envelope[Any]], uow: RemindersUnitOfWork) -> None:
        await projection.apply_invoice_events(events, uow)

    profiles_topic = runtime.settings.topic(topics.BILLING_PROFILES.name)

    async def on_profiles(events: Sequence[Envelope[Any]], uow: RemindersUnitOfWork) -> None:
        await projection.apply_profiles(events, uow, topic=profiles_topic)

    for topic, handler in ((topics.INVOICES, on_invoices), (topics.BILLING_PROFILES, on_profiles)):
        runtime.consumer_stats.append(
            subscribe(
                runtime.broker,
                runtime.settings,
                topic=topic,
                group=GROUP,
                handler=handler,
                uow_factory=runtime.uow,
            )
        )
