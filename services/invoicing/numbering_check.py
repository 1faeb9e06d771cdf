"""The invoice-number check: a restored database must never issue a number again.

At start (a ``Runtime.start_hooks`` hook) the service reads the highest number of each
series from the tail of ``invoicing.invoices.v1`` (:mod:`services.invoicing.invoice_log`)
and stores it in ``numbering_log``. A series whose counter (``invoice_series``) is below
it, i.e. a database restored from a backup taken before invoices the log holds, issues
nothing: every issuing path calls :func:`ensure_numbering` in its transaction and is
refused with 409 ``numbering-behind-log`` (a job fails with that code, its chunk rolled
back). Reads, intake and payments go on.

The check is a query against the database on every issuing attempt, not a flag in the
process: ``billing invoicing reconcile`` advances the series, and every replica issues
again at its next attempt, without a restart. The readiness check ``numbering``
(non-serving: ``/readyz`` stays 200, ``/readyz/all`` 503) and the gauge
``billing_invoice_numbering_behind{series}`` (numbers the database is behind the log)
are refreshed on each probe.

If the log cannot be read at start, each read gives up after ``numbering_check_read_timeout_s``
and is retried until ``numbering_check_timeout_s`` in all, then the start fails: a service
that cannot tell must not issue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from prometheus_client import Gauge

from services.invoicing.config import Settings
from services.invoicing.domain.numbering import SERIES_PREFIX, Behind
from services.invoicing.handlers.numbering import CODE
from services.invoicing.invoice_log import invoices_topic, tail_highest
from services.invoicing.store.numbering import behind_log, newest_confirmation, record_log
from services.invoicing.uow import InvoicingUnitOfWork
from shared.runtime import Runtime

log = logging.getLogger(__name__)


class NumberingCheck:
    """The start hook, the readiness check and the gauge of one invoicing runtime."""

    def __init__(self, runtime: Runtime[InvoicingUnitOfWork], settings: Settings) -> None:
        self.runtime = runtime
        self.settings = settings
        self.gauge = Gauge(
            "billing_invoice_numbering_behind",
            "Invoice numbers the database's series is behind invoicing.invoices.v1 (over 0: a restored "
            "database; issuing is refused until `billing invoicing reconcile`).",
            ["service", "series"],
            registry=runtime.metrics.registry,
        )
        for series in SERIES_PREFIX:
            self.gauge.labels(runtime.spec.name, series).set(0)
        self._reported: list[Behind] | None = None
        self.clock = time.monotonic
        self.sleep = asyncio.sleep

    async def start(self) -> None:
        if not self.settings.numbering_check_enabled:
            log.warning("numbering: the check against the invoice log is off (numbering_check_enabled)")
            return
        s = self.settings
        deadline = self.clock() + s.numbering_check_timeout_s
        backoff = 0.5
        while True:
            read_timeout = max(min(s.numbering_check_read_timeout_s, deadline - self.clock()), 0.5)
            try:
                async with self.runtime.engine.connect() as conn:
                    newest = await newest_confirmation(conn)
                since = newest - timedelta(seconds=s.numbering_check_margin_s) if newest else None
                highest, read = await tail_highest(
                    s, since=since, window=s.numbering_check_window, timeout_s=read_timeout
                )
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.clock() + backoff >= deadline:
                    log.error(
                        "numbering: could not read %s to check the invoice numbers (%s); not starting",
                        invoices_topic(s),
                        type(exc).__name__,
                    )
                    raise
                log.warning("numbering: reading the invoice log failed (%s); retrying", type(exc).__name__)
                await self.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
        async with self.runtime.engine.begin() as conn:
            await record_log(conn, highest)
            rows = await behind_log(conn)
        log.info(
            "numbering: read %d record(s) of %s; highest on the log: %s",
            read,
            invoices_topic(s),
            ", ".join(f"{k} {v}" for k, v in sorted(highest.items())) or "none",
        )
        self.report(rows)

    async def ready(self) -> bool:
        async with self.runtime.engine.connect() as conn:
            rows = await behind_log(conn)
        self.report(rows)
        return not rows

    def report(self, rows: list[Behind]) -> None:
        """Set the gauge; log an error when the series falls behind, info when it is back."""
        name = self.runtime.spec.name
        late = {r.series: r for r in rows}
        for series in SERIES_PREFIX:
            r = late.get(series)
            self.gauge.labels(name, series).set(r.log - r.database if r else 0)
        if rows and rows != self._reported:
            log.error(
                "numbering: the invoice number series is behind %s (a database restored from a backup?): %s. "
                "Issuing is refused (409 %s) until `billing invoicing reconcile` has run; reads are served.",
                invoices_topic(self.settings),
                "; ".join(f"{r.series}: database {r.database}, log {r.log}" for r in rows),
                CODE,
            )
        elif not rows and self._reported:
            log.info("numbering: the invoice number series is level with the log again; issuing resumes")
        self._reported = rows


def install(runtime: Runtime[InvoicingUnitOfWork], settings: Settings) -> NumberingCheck:
    check = NumberingCheck(runtime, settings)
    runtime.start_hooks.append(check.start)
    runtime.add_readiness_check("numbering", check.ready, serving=False)
    return check
