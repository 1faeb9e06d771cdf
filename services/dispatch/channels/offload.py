"""Rendering in other processes: a channel worker's documents rendered on the machine's
other cores while its own process claims, delivers and records.

Building and checking a Finvoice (about 0.6 ms of CPU) and drawing a PDF (about 2 ms)
are pure CPU work in Python: in the worker's process they take the event loop's one core
from everything else (Kafka, PostgreSQL, file writes). :class:`RenderPool` runs the
channel's own ``render`` in ``processes`` child processes instead (``spawn``ed: nothing
of the worker's threads or connections is inherited). A child gets what the claim holds
(the stored payload as JSON text, the recipient override) and returns the rendered file
or the document's permanent failure; nothing else changes: the same render, the same
checks (every Finvoice still goes through the XSD and the sums before it may leave),
the same bytes.

A child that dies (killed, out of memory) breaks the pool: the attempt raises, the
batch fails and is retried as any worker error is (its documents go back to queued),
and the pool is made again for the retry.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from services.dispatch.channels.base import ChannelAdapter, Refused, Rendered
from services.dispatch.config import Settings
from services.dispatch.domain.documents import stored_document
from services.dispatch.domain.outcomes import Failed
from services.dispatch.records import Claim
from shared.events.customers import Channel

log = logging.getLogger(__name__)

_CHILD: dict[str, ChannelAdapter] = {}
"""The channel a child process renders with (made once per child)."""


def _start_child(channel: Channel, settings: Settings, parent: int | None = None) -> None:
    from services.dispatch import channels

    _CHILD["channel"] = channels.make(channel, settings)
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), name="render-parent-watch", daemon=True).start()


def _exit_with(parent: int, every_s: float = 1.0) -> None:
    """In a child: exit when the worker that started it is gone. A worker killed with
    SIGKILL cannot stop its pool, and a render process waiting for work would otherwise
    live on as an orphan (adopted by init) for as long as the machine runs."""
    while os.getppid() == parent:
        time.sleep(every_s)
    os._exit(0)


def _warm() -> None:
    """In a child, once: what its first render would otherwise load (the channel's
    ``warm``: the Finvoice XSD)."""
    warm = getattr(_CHILD["channel"], "warm", None)
    if warm is not None:
        warm()


def _render(document_id: str, source: str, payload: str, recipient: Any) -> Rendered | Failed:
    """In a child: the channel's render of the stored document."""
    try:
        return _CHILD["channel"].render(document_id, stored_document(source, payload, recipient))
    except Refused as refused:
        return refused.failed


def _render_many(items: list[tuple[str, str, str, Any]]) -> list[Rendered | Failed]:
    """In a child: several documents in one round trip (one task, one pickle each way)."""
    return [_render(*item) for item in items]


class RenderPool:
    """``processes`` children rendering ``channel``'s documents (see the module)."""

    def __init__(self, channel: Channel, settings: Settings, processes: int) -> None:
        self._channel = channel
        self._settings = settings
        self._processes = max(1, processes)
        self._pool: ProcessPoolExecutor | None = None

    def _make(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_child,
            initargs=(self._channel, self._settings, os.getpid()),
        )

    def start(self) -> list[Future[None]]:
        """Start the children now, each importing the channel and loading what its
        renders need, so that the first batch does not wait for them (seconds of CPU);
        the warm-ups, to wait for (:meth:`warm`)."""
        if self._pool is not None:
            return []
        self._pool = self._make()
        return [self._pool.submit(_warm) for _ in range(self._processes)]

    async def warm(self) -> None:
        """Start the children and wait until each is ready to render."""
        for warming in self.start():
            await asyncio.wrap_future(warming)

    async def stop(self) -> None:
        """Stop the children once their renders are done, in a thread: waiting for them
        here would stop the event loop (the consumers, the HTTP server) meanwhile."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    async def render(self, claim: Claim) -> Rendered | Failed:
        """The claim's document rendered in a child: the file, or its permanent failure."""
        if self._pool is None:
            self.start()
        pool = self._pool
        assert pool is not None
        try:
            return await asyncio.get_running_loop().run_in_executor(
                pool, _render, claim.id, claim.source, claim.payload, claim.recipient
            )
        except BrokenProcessPool:
            self._broken(pool)
            raise

    async def render_many(self, claims: Sequence[Claim]) -> list[Rendered | Failed]:
        """The claims' documents rendered in one child in one task (in order): a few
        documents per round trip keep the children busy at a fraction of the
        per-task cost (pickling, the pipe, the executor's bookkeeping)."""
        if self._pool is None:
            self.start()
        pool = self._pool
        assert pool is not None
        items = [(c.id, c.source, c.payload, c.recipient) for c in claims]
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, _render_many, items)
        except BrokenProcessPool:
            self._broken(pool)
            raise

    def _broken(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:  # once per pool (a batch's other renders fail with it)
            log.error("%s: a render process died; the batch is retried with new ones", self._channel)
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)


async def render_in(
    pool: RenderPool | None, adapter: Callable[[str, Any], Rendered], claim: Claim
) -> Rendered | Failed:
    """With a pool, there; without, here (``render_processes`` 0)."""
    if pool is not None:
        return await pool.render(claim)
    try:
        return adapter(claim.id, stored_document(claim.source, claim.payload, claim.recipient))
    except Refused as refused:
        return refused.failed


def render_all_in(
    pool: RenderPool | None, adapter: Callable[[str, Any], Rendered], claims: Sequence[Claim], chunk: int
) -> list[RenderChunk]:
    """The claims' renders, ``chunk`` documents a task, all handed to the pool at once
    (it renders while the caller writes and records what came back before); without
    a pool each chunk is rendered here when the caller takes it."""
    step = max(1, chunk)
    parts = [list(claims[i : i + step]) for i in range(0, len(claims), step)]
    if pool is None:
        return [RenderChunk(part, None, adapter) for part in parts]
    return [RenderChunk(part, asyncio.ensure_future(pool.render_many(part)), adapter) for part in parts]


class RenderChunk:
    """Some claims' renders, in the claims' order: under way in the pool, or (no pool)
    made here by :meth:`result`."""

    def __init__(
        self,
        claims: list[Claim],
        future: asyncio.Future[list[Rendered | Failed]] | None,
        adapter: Callable[[str, Any], Rendered],
    ) -> None:
        self.claims = claims
        self._future = future
        self._adapter = adapter

    def done(self) -> bool:
        return self._future is None or self._future.done()

    async def result(self) -> list[Rendered | Failed]:
        if self._future is not None:
            return await self._future
        return [await render_in(None, self._adapter, c) for c in self.claims]

    def cancel(self) -> None:
        """Not wanted any more (the batch stopped): dropped, its failure too."""
        if self._future is not None and not self._future.done():
            self._future.cancel()
        elif self._future is not None and not self._future.cancelled():
            self._future.exception()  # retrieved: no "exception never retrieved" noise
