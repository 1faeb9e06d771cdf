"""Closing print batches: a send's staged PDFs become one print file and its manifest
in the print folder, and only then are the documents delivered.

A batch may close when it is *sealed* (its send queued every document; an automatic
batch is sealed when made) and none of its documents is still queued, being sent or
waiting for a retry. Every print worker looks for such batches every
``print_close_interval_s``; a batch row locked with SKIP LOCKED and marked ``closing``
under the worker's lease key is closed by that worker alone, and one left ``closing``
by a worker that died is taken over. The files are named after the batch and written
atomically (``services.dispatch.render``), so closing a batch again after a crash
rewrites the same files, never a second batch.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime

from services.dispatch import formats
from services.dispatch.channels.printing import staged_pdf, staging_dir
from services.dispatch.config import Settings
from services.dispatch.delivery import emit
from services.dispatch.domain.documents import Document, State, stored_document
from services.dispatch.lease import WorkerLease
from services.dispatch.metrics import DispatchMetrics
from services.dispatch.repositories import DispatchUnitOfWork, Result

log = logging.getLogger(__name__)


class BatchCloser:
    def __init__(
        self,
        settings: Settings,
        uow_factory: Callable[[], DispatchUnitOfWork],
        lease: WorkerLease,
        metrics: DispatchMetrics,
    ) -> None:
        self._folder = settings.print_folder
        self._uow = uow_factory
        self._lease = lease
        self._m = metrics

    async def tick(self) -> int:
        """Close what is ready; returns the number of batches closed."""
        await self._lease.held()
        async with self._uow() as uow:
            ready = await uow.documents.closable_batches(worker_key=self._lease.key)
            for batch_id in ready:
                await uow.documents.start_closing(batch_id, self._lease.key)
            await uow.commit()
        for batch_id in ready:
            await self.close(batch_id)
        return len(ready)

    async def close(self, batch_id: str) -> None:
        started = time.monotonic()
        async with self._uow() as uow:
            staged = await uow.documents.staged_in(batch_id)
        file_name: str | None = None
        manifest: str | None = None
        if staged:
            items: list[tuple[str, Document, bytes]] = []
            for claim in staged:
                doc = stored_document(claim.source, claim.payload, claim.recipient)
                items.append((claim.id, doc, await asyncio.to_thread(self._pdf, batch_id, claim.id, doc)))
            files = await asyncio.to_thread(formats.print_batch, items, self._folder, batch_id)
            file_name, manifest = files.pdf_path.name, files.csv_path.name
        now = datetime.now(UTC)
        async with self._uow() as uow:
            await uow.documents.deliver_staged(batch_id, file_name or "")
            for claim in staged:
                emit(uow, Result(claim, State.DELIVERED, "delivered", receipt=file_name), now)
            await uow.documents.close_batch(
                batch_id, documents_count=len(staged), file_name=file_name, manifest=manifest
            )
            await uow.commit()
        self._m.delivered.labels(self._m.service, "print").inc(len(staged))
        await asyncio.to_thread(shutil.rmtree, staging_dir(self._folder, batch_id), True)
        log.info("print batch %s closed: %d document(s) in %.1fs", batch_id, len(staged), time.monotonic() - started)

    def _pdf(self, batch_id: str, document_id: str, doc: Document) -> bytes:
        """The staged PDF; rendered again if the staging file is gone (the same bytes:
        rendering is a function of the document)."""
        path = staged_pdf(self._folder, batch_id, document_id)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            log.warning("print batch %s: a staged PDF is missing; rendering it again", batch_id)
            return formats.pdf(doc)
