"""Kafka subscribers of the dispatch service: issued documents in; the customers'
billing profiles (the current billing data a re-send or a move to another channel goes
to, see :mod:`services.dispatch.profiles`); each worker's channel job topic (see
``worker.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.dispatch import handlers, profiles
from services.dispatch.config import Settings
from services.dispatch.repositories import DispatchUnitOfWork
from services.dispatch.runtime import DispatchRuntime
from shared.events import topics
from shared.events.envelope import Envelope
from shared.messaging.consumer import subscribe

GROUP = "dispatch"


def register(runtime: DispatchRuntime, settings: Settings) -> None:
    metrics = runtime.dispatch_metrics

    async def on_documents(events: Sequence[Envelope[Any]], uow: DispatchUnitOfWork) -> None:
        accepted = await handlers.accept_documents(events, uow, auto_send=settings.auto_send)
        for doc in accepted.queued:  # counted before the commit: a retried batch counts again
            metrics.queued.labels(metrics.service, doc.channel).inc()

    for topic in (topics.INVOICES, topics.REMINDERS):
        runtime.consumer_stats.append(
            subscribe(
                runtime.broker,
                runtime.settings,
                topic=topic,
                group=GROUP,
                handler=on_documents,
                uow_factory=runtime.uow,
            )
        )

    profiles_topic = runtime.settings.topic(topics.BILLING_PROFILES.name)

    async def on_profiles(events: Sequence[Envelope[Any]], uow: DispatchUnitOfWork) -> None:
        await profiles.apply_profiles(events, uow.profiles, topic=profiles_topic)

    runtime.consumer_stats.append(
        subscribe(
            runtime.broker,
            runtime.settings,
            topic=topics.BILLING_PROFILES,
            group=GROUP,
            handler=on_profiles,
            uow_factory=runtime.uow,
        )
    )
