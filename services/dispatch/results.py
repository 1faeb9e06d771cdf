"""Recording a channel worker's results: the state each attempt leaves its document in,
its delivered / failed event, and the group commit (:class:`ResultWriter`) that records
whatever completed together in one transaction. Step 3 of :mod:`services.dispatch.delivery`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, cast

from services.dispatch.channels.base import clean_reason
from services.dispatch.domain.documents import State
from services.dispatch.domain.outcomes import (
    ChannelUnavailable,
    Delivered,
    Outcome,
    RetryPolicy,
    Staged,
)
from services.dispatch.prerender import Prepared
from services.dispatch.repositories import Claim, DispatchUnitOfWork, Result
from shared.events import topics
from shared.events.dispatch import DeliveryFailed, DocumentDelivered, DocumentKind

LINGER_S = 0.02
"""How long an e-mail result group may wait to fill (see :class:`ResultWriter`)."""


def result_of(claim: Claim, outcome: Outcome | ChannelUnavailable, policy: RetryPolicy, now: datetime) -> Result:
    """The state an attempt leaves its document in."""
    if isinstance(outcome, Delivered):
        return Result(claim, State.DELIVERED, "delivered", receipt=outcome.receipt)
    if isinstance(outcome, Staged):
        return Result(claim, State.STAGED, "staged", receipt=outcome.receipt, batch_id=outcome.batch_id)
    if isinstance(outcome, ChannelUnavailable):
        return Result(
            claim,
            State.QUEUED,
            "unavailable",
            code=outcome.code,
            reason=clean_reason(outcome.reason),
            detail=_detail(outcome.detail),
        )
    reason, detail = clean_reason(outcome.reason), _detail(outcome.detail)
    if not outcome.permanent:
        retry_at = policy.after_transient(claim.attempt, now)
        if retry_at is not None:
            return Result(
                claim, State.RETRY, "retry", code=outcome.code, reason=reason, detail=detail, next_attempt_at=retry_at
            )
    return Result(claim, State.FAILED, "failed", code=outcome.code, reason=reason, detail=detail)


def _detail(detail: str | None) -> str | None:
    return clean_reason(detail) if detail else None


def emit(uow: DispatchUnitOfWork, result: Result, now: datetime) -> None:
    """The delivered / failed event of a recorded result (none for staged or requeued)."""
    c = result.claim
    kind = cast(DocumentKind, c.kind)
    if result.state is State.DELIVERED:
        event: DocumentDelivered | DeliveryFailed = DocumentDelivered(
            document_id=c.id,
            document_kind=kind,
            source_id=c.source_id,
            customer_number=c.customer_number,
            channel=cast(Any, c.channel),
            delivered_at=now,
            receipt=(result.receipt or "")[:300] or None,
        )
    elif result.state in (State.FAILED, State.RETRY):
        event = DeliveryFailed(
            document_id=c.id,
            document_kind=kind,
            source_id=c.source_id,
            customer_number=c.customer_number,
            channel=cast(Any, c.channel),
            failed_at=now,
            attempt=c.attempt,
            final=result.state is State.FAILED,
            code=result.code or "failed",
            reason=result.reason or "-",
        )
    else:
        return
    uow.outbox.add(topics.DELIVERIES.name, event, key=c.id, trace=c.trace)


class ResultWriter:
    """Commits results in groups: whatever completed while the previous group was being
    committed goes in the next one. :meth:`put` returns once its result is committed
    (True: recorded; False: another attempt had taken the document over).

    ``group`` > 1 (e-mail): a group waits up to ``linger_s`` for that many results
    while attempts are still under way (``busy()``), so that one transaction records
    more of them (a commit costs the same for 3 results as for 16). Senders keep
    sending meanwhile: the window a crash may resend in stays bounded by the
    deliverer's concurrency (a sender takes its next document only once its result is
    committed), and lengthens by at most ``linger_s``."""

    def __init__(
        self,
        uow_factory: Callable[[], DispatchUnitOfWork],
        on_recorded: Callable[[Result], None],
        renders: dict[str, Prepared] | None = None,
        *,
        group: int = 1,
        linger_s: float = 0.0,
        busy: Callable[[], int] | None = None,
    ) -> None:
        self._uow = uow_factory
        self._on_recorded = on_recorded
        self._renders = renders
        """Prerendering channels: renders made by this batch's attempts (by document id);
        None for the others."""
        self._group = max(1, group)
        self._linger_s = linger_s
        self._busy = busy or (lambda: 0)
        self._queue: asyncio.Queue[tuple[Result, asyncio.Future[bool]] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name="dispatch-result-writer")
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._queue.put_nowait(None)
        if self._task is not None:
            await self._task

    async def put(self, result: Result) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((result, future))
        return await future

    async def _run(self) -> None:
        closing = False
        while not closing:
            item = await self._queue.get()
            if item is None:
                return
            group = [item]
            closing = self._take_queued(group)
            if not closing and len(group) < self._group and self._busy() > 0:
                closing = await self._linger(group)
            try:
                won = await self._commit([r for r, _ in group])
            except Exception as exc:
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for result, future in group:
                if result.claim.id in won:
                    self._on_recorded(result)
                if not future.done():
                    future.set_result(result.claim.id in won)

    def _take_queued(self, group: list[tuple[Result, asyncio.Future[bool]]]) -> bool:
        """Add what is queued to ``group``; True when the writer is closing."""
        while not self._queue.empty():
            more = self._queue.get_nowait()
            if more is None:
                return True
            group.append(more)
        return False

    async def _linger(self, group: list[tuple[Result, asyncio.Future[bool]]]) -> bool:
        """Wait for more results (see the class); True when the writer is closing."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._linger_s
        while len(group) < self._group and self._busy() > 0:
            left = deadline - loop.time()
            if left <= 0:
                return False
            try:
                more = await asyncio.wait_for(self._queue.get(), left)
            except TimeoutError:
                return False
            if more is None:
                return True
            group.append(more)
            if self._take_queued(group):
                return True
        return False

    async def _commit(self, results: Sequence[Result]) -> set[str]:
        now = datetime.now(UTC)
        async with self._uow() as uow:
            # a render ends with its document's way (delivered, failed): the record drops it
            won = await uow.documents.record(results, drop_renders=self._renders is not None)
            for result in results:
                if result.claim.id in won:
                    emit(uow, result, now)
            if self._renders is not None:
                await self._keep_renders(uow, [r for r in results if r.claim.id in won])
            await uow.commit()
        return won

    async def _keep_renders(self, uow: DispatchUnitOfWork, results: Sequence[Result]) -> None:
        """A render made by this attempt is kept when another attempt follows (a retry,
        the channel unavailable); one whose document's way ended went with the record."""
        assert self._renders is not None
        await uow.documents.save_renders(
            [(r.claim.id, self._renders[r.claim.id]) for r in results if r.claim.id in self._renders and not r.final]
        )
