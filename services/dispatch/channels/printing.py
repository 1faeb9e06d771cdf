"""Print: a PDF per document (A4, the bank transfer form with the virtual bar code as
digits and as Code 128), collected into one print file plus manifest per send for the
print house.

A print worker renders each document and *stages* it: the PDF goes to
``<print folder>/.staging/<batch>/<document id>.pdf`` (atomically, named after the
document, so a second rendering replaces the first). The document is ``staged``, not
delivered: it reaches the print house when its batch is closed
(:mod:`services.dispatch.print_batches`), which every print worker does for any batch
that is ready, and only then are its documents delivered.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from services.dispatch import formats
from services.dispatch.channels.base import Refused, Rendered, write_atomically
from services.dispatch.channels.offload import RenderPool, render_in
from services.dispatch.config import Settings
from services.dispatch.domain.documents import Document
from services.dispatch.domain.naming import print_batch_id
from services.dispatch.domain.outcomes import ChannelUnavailable, Failed, Outcome, Staged
from services.dispatch.domain.requirements import channel_problem
from services.dispatch.repositories import Claim
from shared.events.customers import Channel

STAGING = ".staging"


def staging_dir(folder: Path, batch_id: str) -> Path:
    return folder / STAGING / batch_id


def staged_pdf(folder: Path, batch_id: str, document_id: str) -> Path:
    return staging_dir(folder, batch_id) / f"{document_id}.pdf"


class PrintChannel:
    name: Channel = "print"

    def __init__(self, settings: Settings) -> None:
        self._s = settings
        self._files = ThreadPoolExecutor(settings.concurrency("print"), thread_name_prefix="print-files")
        self._renderer: RenderPool | None = None

    async def start(self) -> None:
        (self._s.print_folder / STAGING).mkdir(parents=True, exist_ok=True)
        if self._s.renderers():
            self._renderer = RenderPool(self.name, self._s, self._s.renderers())
            self._renderer.start()

    async def stop(self) -> None:
        if self._renderer is not None:
            await self._renderer.stop()
            self._renderer = None
        await asyncio.to_thread(self._files.shutdown, wait=True)

    async def attempt(self, claim: Claim) -> Outcome:
        """A worker's attempt: the PDF drawn in a render process, then staged from here."""
        rendered = await render_in(self._renderer, self.render, claim)
        if isinstance(rendered, Failed):
            return rendered
        return await self.deliver(claim, rendered)

    def render(self, document_id: str, doc: Document) -> Rendered:
        problem = channel_problem("print", doc.customer.data)
        if problem is not None:
            raise Refused.of(problem)
        pdf = formats.pdf(doc)
        name = f"{document_id}.pdf"
        return Rendered(file_name=name, content_type="application/pdf", content=pdf, receipt=name)

    async def deliver(self, claim: Claim, rendered: Rendered) -> Outcome:
        batch_id = claim.batch_id or print_batch_id(None, claim.id)
        path = staged_pdf(self._s.print_folder, batch_id, claim.id)
        try:
            await asyncio.get_running_loop().run_in_executor(self._files, write_atomically, path, rendered.content)
        except OSError as exc:
            raise ChannelUnavailable(
                "print-folder", f"cannot write the print folder ({type(exc).__name__})", type(exc).__name__
            ) from None
        return Staged(receipt=batch_id, batch_id=batch_id)
