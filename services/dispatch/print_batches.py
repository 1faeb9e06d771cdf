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
from pathlib import Path
from typing import Any

from services.dispatch import formats
from services.dispatch.channels.printing import staged_pdf, staging_dir
from services.dispatch.config import Settings
from services.dispatch.domain.documents import Document, State, stored_document
from services.dispatch.lease import WorkerLease
from services.dispatch.metrics import DispatchMetrics
from services.dispatch.repositories import DispatchUnitOfWork, Result
from services.dispatch.results import emit

log = logging.getLogger(__name__)

CHUNK = 200
"""Documents read from the database (and merged) at a time while a batch is written."""


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
        """Write the batch's files, then deliver its documents. The PDFs are merged from
        the staging files one by one (read a chunk of documents, append their pages to
        the print file, next chunk), so memory does not grow with the batch."""
        started = time.monotonic()
        async with self._uow() as uow:
            staged = await uow.documents.staged_in(batch_id, payloads=False)
        file_name: str | None = None
        manifest: str | None = None
        if staged:
            ids = [claim.id for claim in staged]
            writer = await asyncio.to_thread(formats.print_batch_writer, self._folder, batch_id, ids)
            try:
                if writer.done is None:
                    for at in range(0, len(ids), CHUNK):
                        chunk = ids[at : at + CHUNK]
                        async with self._uow() as uow:
                            payloads = await uow.documents.payloads_of(chunk)
                        await asyncio.to_thread(self._add, writer, batch_id, chunk, payloads)
                    await asyncio.to_thread(writer.finish)
            finally:
                writer.close()
            assert writer.done is not None
            file_name, manifest = writer.done.pdf_path.name, writer.done.csv_path.name
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

    def _add(
        self,
        writer: formats.PrintBatchWriter,
        batch_id: str,
        ids: list[str],
        payloads: dict[str, tuple[str, str, Any]],
    ) -> None:
        for document_id in ids:
            source, payload, recipient = payloads[document_id]
            doc = stored_document(source, payload, recipient)
            writer.add(document_id, doc, self._pdf(batch_id, document_id, doc))

    def _pdf(self, batch_id: str, document_id: str, doc: Document) -> bytes | Path:
        """The staged PDF (its file, read when the writer takes it); rendered again if the
        staging file is gone (the same bytes: rendering is a function of the document)."""
        path = staged_pdf(self._folder, batch_id, document_id)
        if path.is_file():
            return path
        log.warning("print batch %s: a staged PDF is missing; rendering it again", batch_id)
        return formats.pdf(doc)
