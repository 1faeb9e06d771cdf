"""What the services and workers say about Kafka, read from their own endpoints (never
from the harness's counters): ``/readyz`` (the code, ``status`` and the checks that
fail) and ``/metrics`` (``billing_outbox_pending``, ``billing_outbox_relay_healthy``,
``billing_outbox_relay_failures_total``), polled while two brokers are down and after
they returned."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.system import System

METRICS = ("billing_outbox_pending", "billing_outbox_relay_healthy", "billing_outbox_relay_failures_total")


@dataclass(frozen=True)
class Probe:
    name: str
    at: float
    code: int | None
    """/readyz's HTTP status (None: no answer)."""
    status: str | None
    failing: tuple[str, ...]
    metrics: dict[str, float]

    @property
    def pending(self) -> float:
        value = self.metrics.get("billing_outbox_pending", math.nan)
        return 0.0 if math.isnan(value) else value

    def line(self) -> str:
        if self.code is None:
            return f"{self.name}: no answer"
        failing = f" [{', '.join(self.failing)} down]" if self.failing else ""
        healthy = self.metrics.get("billing_outbox_relay_healthy")
        relay = "" if healthy is None else f", relay {'ok' if healthy else 'failing'}"
        return f"{self.name}: {self.code} {self.status}{failing}, outbox {self.pending:,.0f}{relay}"


def parse_metrics(text: str) -> dict[str, float]:
    """The samples of :data:`METRICS` in a Prometheus exposition (one per service)."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in METRICS:
                out[sample.name] = sample.value
    return out


async def probe(client: httpx.AsyncClient, system: System, name: str) -> Probe:
    at = time.monotonic()
    try:
        ready = await client.get(system.url(name) + "/readyz")
        body = ready.json()
        metrics = parse_metrics((await client.get(system.url(name) + "/metrics", headers=system.scraper)).text)
    except (httpx.HTTPError, ValueError):
        return Probe(name, at, None, None, (), {})
    failing = tuple(sorted(k for k, v in body.get("checks", {}).items() if v != "ok"))
    return Probe(name, at, ready.status_code, body.get("status"), failing, metrics)


@dataclass
class Watch:
    """Probes of every process, once a second, until stopped."""

    system: System
    probes: list[Probe] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, print_every: float = 5.0, t0: float = 0.0) -> None:
        last_print = 0.0
        async with httpx.AsyncClient(timeout=10) as client:
            while not self.stop.is_set():
                round_ = await asyncio.gather(*(probe(client, self.system, n) for n in self.system.names()))
                self.probes += round_
                now = time.monotonic()
                if now - last_print >= print_every:
                    last_print = now
                    shown = [p.line() for p in round_ if p.failing or p.pending or p.code != 200]
                    print(
                        f"  {now - t0:7.1f}s  two down: " + ("; ".join(shown) or "every process ready, outbox empty"),
                        flush=True,
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), 1.0)

    def showed_outage(self) -> bool:
        """Has some process shown the outage both ways: rows kept in its outbox while its
        /readyz is 200 'degraded' with the relay failing? (The relay finds out when a
        batch is not acknowledged within ``outbox_send_timeout_s``.)"""
        return any(
            p.code == 200 and p.status == "degraded" and "outbox_relay" in p.failing and p.pending > 0
            for p in self.probes
        )


def outage_checks(probes: list[Probe], after: list[Probe]) -> list[tuple[str, bool, str]]:
    """PASS/FAIL lines of the two-brokers-down phase (``probes``) and of the end
    (``after``: one probe per process once the day is done)."""
    results: list[tuple[str, bool, str]] = []
    kept: dict[str, float] = {}
    for p in probes:
        kept[p.name] = max(kept.get(p.name, 0.0), p.pending)
    holding = {n: v for n, v in kept.items() if v > 0}
    results.append(
        (
            "two brokers down: the outbox kept its rows (billing_outbox_pending > 0 on /metrics)",
            bool(holding),
            "most rows waiting per process: " + (", ".join(f"{n} {v:,.0f}" for n, v in holding.items()) or "none"),
        )
    )
    degraded = sorted({(p.name, p.failing) for p in probes if p.code == 200 and p.status == "degraded" and p.failing})
    refused = sorted({p.name for p in probes if p.code is not None and p.code != 200})
    silent = sorted({p.name for p in probes if p.code is None})
    results.append(
        (
            "two brokers down: /readyz 200 'degraded' naming the failing relay, never 503 (the APIs kept serving)",
            any("outbox_relay" in f for _, f in degraded) and not refused,
            "degraded: "
            + (", ".join(f"{n} [{', '.join(f)}]" for n, f in degraded) or "none")
            + f"; answered otherwise than 200: {refused or 'none'}; no answer: {silent or 'none'}",
        )
    )
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    unhealthy = set()
    for p in probes:
        failures = p.metrics.get("billing_outbox_relay_failures_total")
        if failures is not None:
            first.setdefault(p.name, failures)
            last[p.name] = failures
        if p.metrics.get("billing_outbox_relay_healthy") == 0:
            unhealthy.add(p.name)
    retried = {n: last[n] - first[n] for n in last if last[n] > first[n]}
    results.append(
        (
            "two brokers down: the relays waited and retried (billing_outbox_relay_healthy 0, failures counted)",
            bool(unhealthy) and bool(retried),
            f"relay failing: {sorted(unhealthy) or 'none'}; failed rounds during the outage: "
            + (", ".join(f"{n} {v:.0f}" for n, v in sorted(retried.items())) or "none"),
        )
    )
    not_ready = [p.line() for p in after if p.code != 200 or p.status != "ready" or p.pending]
    results.append(
        (
            "both brokers back: every outbox empty, every /readyz 'ready'",
            not not_ready and bool(after),
            f"{len(after)} processes; " + ("; ".join(not_ready) or "all ready, nothing waiting"),
        )
    )
    return results
