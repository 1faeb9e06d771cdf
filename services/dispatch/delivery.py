"""A channel worker's work: take a batch of channel jobs, deliver each document once.

Exactly once to an outside system cannot be had in general (an SMTP server's "250 OK"
and our database commit are two systems); this is how close it gets, per batch:

1. **Claim** (one transaction, committed before anything leaves): each document goes
   ``sending`` under this worker's lease key, and its attempt is recorded
   (``delivery_attempts``: ``sending``). A document already delivered is skipped (a
   duplicate job); one another *live* worker is sending is left to it.
2. **Render and deliver**, ``concurrency`` documents at a time (rendering is CPU work
   and runs in turn; the network waits overlap). The e-mail's Message-ID and the files'
   names are the document's, the same on every attempt. An e-mail is rendered once per
   document (:mod:`services.dispatch.prerender`): the claim reads the stored render
   with the batch, an attempt without a usable one renders it and stores it with its
   outcome when another attempt may follow.
3. **Record** each outcome with its delivered / failed event in the outbox, in one
   transaction per group of results that completed together (a group commit: a sender
   waits for its result to be committed before it takes the next document, so at most
   ``concurrency`` documents are ever between delivered and recorded). E-mail groups
   wait up to 20 ms to fill to half the senders (:class:`ResultWriter`).

The window that remains: the worker dies after the outside system took a document and
before step 3 committed it. The document is then ``sending`` under a lease nobody holds;
the redelivered job takes it over (``resumed``) and sends it again, with the same
Message-ID (a mail system drops the repeat by it) or onto the same file name (the file
replaces itself; a drop-folder file already there is not written again). A recorded
delivery is never repeated: the redelivered job finds the document ``delivered``.

Failures: see :mod:`services.dispatch.domain.outcomes`. When the channel is
unavailable the documents go back to ``queued`` and the batch raises
:class:`ChannelUnavailable`; the shared consumer retries it and stops the partition
until the channel is back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import cast

from services.dispatch.channels.base import ChannelAdapter, Refused
from services.dispatch.domain.documents import State, stored_document
from services.dispatch.domain.naming import print_batch_id
from services.dispatch.domain.outcomes import (
    ChannelUnavailable,
    Delivered,
    Outcome,
    RetryPolicy,
    Staged,
)
from services.dispatch.grouped import Group, GroupedChannel, deliver_in_groups, delivers_in_groups
from services.dispatch.lease import WorkerLease
from services.dispatch.metrics import DispatchMetrics
from services.dispatch.prerender import Prepared, Prerendering
from services.dispatch.repositories import Claim, DispatchUnitOfWork, Result
from services.dispatch.results import LINGER_S, ResultWriter, result_of
from shared import failpoints
from shared.events.dispatch import SendDocument
from shared.events.envelope import Envelope
from shared.rejections import EventRejected

log = logging.getLogger(__name__)


class Deliverer:
    """The handler a channel worker subscribes to its job topic."""

    def __init__(
        self,
        channel: ChannelAdapter,
        *,
        uow_factory: Callable[[], DispatchUnitOfWork],
        lease: WorkerLease,
        policy: RetryPolicy,
        concurrency: int,
        metrics: DispatchMetrics,
    ) -> None:
        self.channel = channel
        self._uow = uow_factory
        self._lease = lease
        self._policy = policy
        self._concurrency = max(1, concurrency)
        self._m = metrics
        self._sent = 0
        self._recorded = 0
        self._pre = channel if isinstance(channel, Prerendering) else None

    async def handle(self, events: Sequence[Envelope[SendDocument]], uow: DispatchUnitOfWork) -> None:
        name = self.channel.name
        wrong = [e for e in events if e.data.channel != name]
        if wrong:
            raise EventRejected("wrong-channel", f"a {wrong[0].data.channel} job on the {name} job topic")
        claimed, stored = await self._claim([e.data.document_id for e in events])
        # each outcome carries on the trace of its channel job
        traces = {e.data.document_id: e.meta.trace for e in events}
        claimed = [dataclasses.replace(c, trace=traces.get(c.id)) for c in claimed]
        if claimed and delivers_in_groups(self.channel):
            await self._deliver_groups(self.channel, claimed)
        elif claimed:
            await self._deliver(claimed, stored)

    async def _claim(self, ids: Sequence[str]) -> tuple[list[Claim], dict[str, Prepared]]:
        await self._lease.held()
        name = self.channel.name
        unique = list(dict.fromkeys(ids))
        async with self._uow() as uow:
            # e-mail: the stored renders first; one made for the attempt's data gives the
            # address its attempt records (no parse of the document for it)
            stored = await uow.documents.renders(unique) if self._pre else {}
            result = await uow.documents.claim(
                unique,
                channel=name,
                worker_key=self._lease.key,
                worker=self._lease.name,
                known_address=self._stored_address(stored) if stored else None,
            )
            if result.unknown:
                raise EventRejected("unknown-document", f"{len(result.unknown)} document(s) not found on {name}")
            claimed = result.claimed
            if name == "print":
                claimed = await self._auto_batch(uow, claimed)
            await uow.commit()
        for reason, n in result.skipped.items():
            self._m.skipped.labels(self._m.service, name, reason).inc(n)
            log.info("%s: %d job(s) skipped (%s)", name, n, reason)
        resumed = sum(1 for c in claimed if c.resumed)
        if resumed:
            self._m.resumed.labels(self._m.service, name).inc(resumed)
            log.warning("%s: %d document(s) taken over from a worker that died mid-delivery", name, resumed)
        failpoints.hit("dispatch.after_claim")
        return claimed, stored

    def _stored_address(self, stored: dict[str, Prepared]) -> Callable[[Claim], str | None]:
        pre = self._pre
        assert pre is not None

        def address(claim: Claim) -> str | None:
            prepared = stored.get(claim.id)
            if prepared is None or prepared.key != pre.render_key(claim.recipient):
                return None
            return prepared.address or None

        return address

    async def _auto_batch(self, uow: DispatchUnitOfWork, claimed: list[Claim]) -> list[Claim]:
        """Print documents queued without a send (automatic sending) form one batch per
        worker batch."""
        loose = [c for c in claimed if c.batch_id is None]
        if not loose:
            return claimed
        batch_id = print_batch_id(None, loose[0].id)
        await uow.documents.open_batch(batch_id, None, sealed=True)
        await uow.documents.assign_batch([c.id for c in loose], batch_id)
        return [dataclasses.replace(c, batch_id=batch_id) if c.batch_id is None else c for c in claimed]

    async def _deliver(self, claimed: Sequence[Claim], stored: dict[str, Prepared]) -> None:
        name = self.channel.name
        made: dict[str, Prepared] = {}
        gate = asyncio.Semaphore(self._concurrency)
        down: ChannelUnavailable | None = None
        crash: BaseException | None = None

        busy = 0

        async def one(claim: Claim, writer: ResultWriter) -> None:
            nonlocal down, crash, busy
            async with gate:
                started = time.monotonic()
                busy += 1
                outcome: Outcome | ChannelUnavailable
                if down is not None or crash is not None:
                    outcome = down or ChannelUnavailable("worker-error", type(crash).__name__, type(crash).__name__)
                else:
                    try:
                        outcome = await self._attempt(claim, stored, made)
                    except ChannelUnavailable as unavailable:
                        down = down or unavailable
                        outcome = unavailable
                    except Exception as exc:  # a bug: the partition stops (loud), nothing is lost
                        crash = crash or exc
                        outcome = ChannelUnavailable("worker-error", type(exc).__name__, type(exc).__name__)
                busy -= 1
                if isinstance(outcome, Delivered | Staged):
                    self._sent += 1
                    failpoints.hit(f"dispatch.after_send.{self._sent}")
                await writer.put(result_of(claim, outcome, self._policy, datetime.now(UTC)))
                self._m.seconds.labels(self._m.service, name).observe(time.monotonic() - started)

        # e-mail: groups of up to half the senders (the other half keeps the SMTP
        # connections busy while a group commits)
        async with ResultWriter(
            self._uow,
            self._recorded_one,
            made if self._pre else None,
            group=self._concurrency // 2 if self._pre else 1,
            linger_s=LINGER_S,
            busy=lambda: busy,
        ) as writer:
            done = await asyncio.gather(*(one(c, writer) for c in claimed), return_exceptions=True)
        errors = [d for d in done if isinstance(d, BaseException)]
        if crash is not None:
            log.error(
                "%s: delivering failed with %s; the partition stops until it is fixed", name, type(crash).__name__
            )
            raise crash
        if errors:
            raise errors[0]
        if down is not None:
            log.error("%s: channel unavailable (%s); the partition waits and retries", name, down.code)
            raise down

    async def _attempt(self, claim: Claim, stored: dict[str, Prepared], made: dict[str, Prepared]) -> Outcome:
        if self._pre is not None:
            return await self._attempt_prepared(self._pre, claim, stored.get(claim.id), made)
        attempt = getattr(self.channel, "attempt", None)
        if attempt is not None:  # the channel renders in other processes (e-invoice, print)
            return cast(Outcome, await attempt(claim))
        doc = stored_document(claim.source, claim.payload, claim.recipient)
        try:
            rendered = self.channel.render(claim.id, doc)
        except Refused as refused:
            return refused.failed
        return await self.channel.deliver(claim, rendered)

    async def _attempt_prepared(
        self, channel: Prerendering, claim: Claim, prepared: Prepared | None, made: dict[str, Prepared]
    ) -> Outcome:
        """Send the stored render; without one made for this attempt's data, render
        it (once: it is stored with the outcome when another attempt may follow)."""
        if prepared is None or prepared.key != channel.render_key(claim.recipient):
            doc = stored_document(claim.source, claim.payload, claim.recipient)
            try:
                prepared = channel.prepare(claim.id, doc, claim.recipient)
            except Refused as refused:
                return refused.failed
            made[claim.id] = prepared
            self._m.renders.labels(self._m.service, channel.name, "sending").inc()
        return await channel.send_prepared(claim, prepared)

    async def _deliver_groups(self, channel: GroupedChannel, claimed: Sequence[Claim]) -> None:
        """A channel that makes a group of documents durable at once (the e-invoice drop
        folder): each group recorded in one transaction once it is on disk, while the
        next one is written (:mod:`services.dispatch.grouped`)."""
        seconds = self._m.seconds.labels(self._m.service, channel.name)

        def sent() -> None:
            self._sent += 1
            failpoints.hit(f"dispatch.after_send.{self._sent}")

        async with ResultWriter(self._uow, self._recorded_one) as writer:

            async def record(group: Group, took: float) -> None:
                now = datetime.now(UTC)
                await asyncio.gather(*(writer.put(result_of(c, o, self._policy, now)) for c, o in group))
                for _ in group:
                    seconds.observe(took)

            await deliver_in_groups(channel, claimed, record=record, sent=sent)

    def _recorded_one(self, result: Result) -> None:
        name, service = self.channel.name, self._m.service
        if result.state is State.DELIVERED:
            self._m.delivered.labels(service, name).inc()
        elif result.state is State.FAILED:
            self._m.failed.labels(service, name, "true").inc()
        elif result.state is State.RETRY:
            self._m.failed.labels(service, name, "false").inc()
            self._m.retries.labels(service, name, "document").inc()
        elif result.state is State.QUEUED:
            self._m.retries.labels(service, name, "channel-unavailable").inc()
        self._recorded += 1
        failpoints.hit(f"dispatch.after_record.{self._recorded}")
