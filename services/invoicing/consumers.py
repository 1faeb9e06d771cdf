"""Kafka subscribers of the invoicing service: translate, then call the handler."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter

from services.invoicing.domain.vat import VatTable
from services.invoicing.handlers import intake, payments
from services.invoicing.uow import InvoicingUnitOfWork
from shared.events import topics
from shared.events.envelope import Envelope
from shared.messaging.consumer import subscribe
from shared.runtime import Runtime

REQUESTS_GROUP = "invoicing-requests"
PROFILES_GROUP = "invoicing-profiles"
PAYMENTS_GROUP = "invoicing-payments"


def register(runtime: Runtime[InvoicingUnitOfWork], vat: VatTable) -> None:
    intake_counter = Counter(
        "billing_invoicing_requests",
        "Billing requests taken in, by outcome (stored, stored cancelled, repeated, already invoiced: one "
        "that came again after a restore and is billed by an invoice reconcile rebuilt). Counted when the batch's "
        "handler returns (a batch retried after a rollback counts again).",
        ["outcome"],
        registry=runtime.metrics.registry,
    )
    payments_counter = Counter(
        "billing_invoicing_payments",
        "Reference payments and reversals taken in, by outcome (matched, unmatched, repeated, reversed).",
        ["outcome"],
        registry=runtime.metrics.registry,
    )

    async def on_requests(events: Sequence[Envelope[Any]], uow: InvoicingUnitOfWork) -> None:
        out = await intake.take_requests(events, uow, vat)
        intake_counter.labels("stored").inc(out.stored - out.stored_cancelled)
        intake_counter.labels("stored-cancelled").inc(out.stored_cancelled)
        intake_counter.labels("repeated").inc(out.repeated)
        intake_counter.labels("already-invoiced").inc(out.already_invoiced)

    async def on_profiles(events: Sequence[Envelope[Any]], uow: InvoicingUnitOfWork) -> None:
        await intake.take_profiles(events, uow, topic=runtime.settings.topic(topics.BILLING_PROFILES.name))

    async def on_payments(events: Sequence[Envelope[Any]], uow: InvoicingUnitOfWork) -> None:
        for outcome, n in (await payments.take_payments(events, uow)).items():
            payments_counter.labels(outcome).inc(n)

    for topic, group, handler in (
        (topics.BILLING_REQUESTS, REQUESTS_GROUP, on_requests),
        (topics.BILLING_PROFILES, PROFILES_GROUP, on_profiles),
        (topics.REFERENCE_PAYMENTS, PAYMENTS_GROUP, on_payments),
    ):
        runtime.consumer_stats.append(
            subscribe(
                runtime.broker, runtime.settings, topic=topic, group=group, handler=handler, uow_factory=runtime.uow
            )
        )
