"""Render each document once, ahead of its sending where possible (e-mail).

Rendering an e-mail (the PDF and the MIME message around it) costs about ten times its
SMTP exchange, so it is kept off the sending path and never repeated per attempt:

- **ahead**: a channel worker with nothing else to do renders the documents *waiting*
  for a clerk's send (a billing run's invoices wait until the clerk sends them) and
  stores each (``document_renders``). Workers share the work without doing it twice:
  each takes a few documents in one short transaction, under a transaction-level
  advisory lock per document that the others skip (not a row lock: a send skips the
  rows another transaction locks, and would leave them out). A send that overtakes a
  render ahead finds no render and the attempt renders it itself (twice, never sent
  twice);
- **on the sending path, once**: an attempt that finds no render, or one made for
  other data (a re-send to the customer's current data, changed sender settings or
  templates: :meth:`Prerendering.render_key`), renders it, sends it and stores it with
  its outcome when another attempt will follow (a retry, the channel unavailable);
- a render is deleted with the outcome that ends its document's way (delivered or
  failed): the table holds only documents on their way. It is a cache of a
  deterministic function of the stored payload (same document, same bytes), not a
  record: losing it costs one render.

Storage is a ``bytea`` row per document in PostgreSQL: it commits (or rolls back) with
the document's own state, needs no shared file volume between replicas, and is small
(about 8 KiB an e-mail, only for the backlog).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from services.dispatch.domain.documents import Document, stored_document
from services.dispatch.domain.outcomes import Outcome
from services.dispatch.metrics import DispatchMetrics
from services.dispatch.records import Claim
from shared.events.customers import Channel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """A document rendered for sending, as stored."""

    key: str
    content: bytes
    receipt: str
    address: str


@runtime_checkable
class Prerendering(Protocol):
    """A channel whose rendering is stored and sent from the store."""

    name: Channel

    def render_key(self, recipient: Mapping[str, Any] | None) -> str: ...

    def prepare(self, document_id: str, doc: Document, recipient: Mapping[str, Any] | None = None) -> Prepared: ...

    async def send_prepared(self, claim: Claim, prepared: Prepared) -> Outcome: ...


class RenderAhead:
    """The worker loop that renders waiting documents of its channel (see the module)."""

    def __init__(
        self,
        channel: Prerendering,
        uow_factory: Callable[[], Any],
        metrics: DispatchMetrics,
        *,
        batch: int = 32,
    ) -> None:
        self._channel = channel
        self._uow = uow_factory
        self._m = metrics
        self._batch = max(1, batch)
        self._after = 0
        """Documents are taken in arrival order from here on (never twice per process:
        one that cannot be rendered is not tried again every tick)."""

    async def tick(self) -> int:
        """Render until no waiting document is left unrendered; how many were stored."""
        from services.dispatch.channels.base import Refused

        stored = 0
        while True:
            async with self._uow() as uow:
                rows = await uow.documents.unrendered(self._channel.name, after=self._after, limit=self._batch)
                # a worker that held one of these documents' locks has committed its render
                # by now, maybe after the query above took its snapshot: look again
                done = await uow.documents.rendered_among([r.id for r in rows])
                renders: list[tuple[str, Prepared]] = []
                for row in (r for r in rows if r.id not in done):
                    doc = stored_document(row.source, row.payload, row.recipient)
                    with contextlib.suppress(Refused):  # refused: its attempt fails it, with the reason
                        renders.append((row.id, self._channel.prepare(row.id, doc, row.recipient)))
                    await asyncio.sleep(0)  # rendering is CPU work: let the consumers and HTTP run between
                await uow.documents.save_renders(renders)
                await uow.commit()
            if rows:
                self._after = rows[-1].seq
            stored += len(renders)
            if renders:
                self._m.renders.labels(self._m.service, self._channel.name, "ahead").inc(len(renders))
            if len(rows) < self._batch:
                return stored
