"""Dispatch's own Prometheus series, per channel, in the runtime's registry (beside the
shared consumer, outbox and dead-letter series; consumer lag per channel is
``billing_consumer_lag{group="dispatch-<channel>"}``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class DispatchMetrics:
    def __init__(self, registry: CollectorRegistry, service: str = "dispatch") -> None:
        self.service = service
        self.queued = Counter(
            "billing_dispatch_queued",
            "Documents put on a channel's job topic (a send, automatic sending, a retry).",
            ["service", "channel"],
            registry=registry,
        )
        self.delivered = Counter(
            "billing_dispatch_delivered",
            "Documents delivered (print: when their batch reached the print folder).",
            ["service", "channel"],
            registry=registry,
        )
        self.failed = Counter(
            "billing_dispatch_failed",
            "Failed attempts; final=true: no more automatic attempts (a clerk may re-send).",
            ["service", "channel", "final"],
            registry=registry,
        )
        self.retries = Counter(
            "billing_dispatch_retries",
            "Attempts to be made again: reason=document (this document, from the retry table) or "
            "channel-unavailable (the server or folder could not take any document; the partition waits).",
            ["service", "channel", "reason"],
            registry=registry,
        )
        self.resumed = Counter(
            "billing_dispatch_resumed",
            "Attempts that took over from a worker that died before recording its outcome "
            "(each may be a second delivery of the same document, with the same Message-ID / file name).",
            ["service", "channel"],
            registry=registry,
        )
        self.skipped = Counter(
            "billing_dispatch_jobs_skipped",
            "Channel jobs not taken: reason=delivered (a duplicate), busy (another live worker has it), stale.",
            ["service", "channel", "reason"],
            registry=registry,
        )
        self.renders = Counter(
            "billing_dispatch_renders",
            "Documents rendered and stored for sending (e-mail): where=ahead (while the document waited "
            "for its send) or sending (by an attempt that found no usable render). Each document once: "
            "a retry, a takeover or a redelivered job sends the stored render.",
            ["service", "channel", "where"],
            registry=registry,
        )
        self.seconds = Histogram(
            "billing_dispatch_delivery_seconds",
            "One document: render and deliver (print: render and stage).",
            ["service", "channel"],
            buckets=DELIVERY_BUCKETS,
            registry=registry,
        )
