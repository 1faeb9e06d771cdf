"""E-invoice (*verkkolasku*): a Finvoice 3.0 file with its SOAP transmission frame,
validated against the official XSD and checked for the arithmetic the schema does not
enforce *before* it leaves. An invalid file is a permanent failure with the reasons;
it is never delivered.

Delivery to the operator:

- ``folder`` (default): ``finvoice-<document id>.xml`` in the drop folder, written
  atomically (temporary file, fsync, rename), so the operator's pick-up never sees half
  a file. The name is the document's: written again after a crash, the file replaces
  itself. When an earlier attempt's worker died before recording its outcome and the
  file is there, it was delivered: it is not written a second time (only made
  durable). A worker's batch goes in groups (:meth:`EInvoiceChannel.deliver_groups`):
  rendered a few documents per task in the render processes, all handed over at once;
  written a group at a time (every file fsynced, side by side, then the folder once:
  :mod:`.drop_folder`), and recorded a group per transaction, only once the group's
  files and names are on disk.
- ``http``: one POST per file, ``Idempotency-Key`` = the Finvoice message identifier
  (the same for every attempt of the document), so an operator that keeps keys drops
  a repeat. 2xx delivered; 408, 429, 502, 503, 504 and no answer: the endpoint is
  unavailable (the partition waits); other 5xx: this file retried later; 4xx: refused.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx

from services.dispatch import formats
from services.dispatch.channels.base import Refused, Rendered, clean_reason, write_atomically
from services.dispatch.channels.drop_folder import GroupFile, write_group
from services.dispatch.channels.offload import RenderChunk, RenderPool, render_all_in, render_in
from services.dispatch.config import Settings
from services.dispatch.domain.documents import Document
from services.dispatch.domain.naming import einvoice_file_name, finvoice_message_identifier
from services.dispatch.domain.outcomes import ChannelUnavailable, Delivered, Failed, Outcome
from services.dispatch.domain.requirements import channel_problem
from services.dispatch.finvoice.schema import finvoice_schema
from services.dispatch.repositories import Claim
from shared.events.customers import Channel

_ENDPOINT_DOWN = frozenset({408, 429, 502, 503, 504})

GroupOutcomes = list[tuple[Claim, Outcome | ChannelUnavailable]]
"""A written group: each claim with its outcome (delivered, refused, the folder unavailable)."""

RENDER_CHUNK = 8
"""Documents per render task: one round trip to a render process for 8 (a task costs
about as much as rendering a document's worth of pickling and pipe work)."""


class EInvoiceChannel:
    name: Channel = "einvoice"

    def __init__(self, settings: Settings) -> None:
        self._s = settings
        self._http: httpx.AsyncClient | None = None
        # file writes wait on fsync: as many threads as documents in flight
        self._files = ThreadPoolExecutor(settings.concurrency("einvoice"), thread_name_prefix="einvoice-files")
        # a group's fsyncs side by side, all at once: the journal commits them together
        self._syncs = ThreadPoolExecutor(settings.concurrency("einvoice"), thread_name_prefix="einvoice-fsync")
        self._renderer: RenderPool | None = None

    async def start(self) -> None:
        if self._s.renderers():
            self._renderer = RenderPool(self.name, self._s, self._s.renderers())
            await self._renderer.warm()  # ready (not consuming) once it can render
        if self._s.einvoice_mode == "http":
            if not self._s.einvoice_url:
                raise ValueError("DISPATCH_EINVOICE_URL is required with DISPATCH_EINVOICE_MODE=http")
            headers = {"Content-Type": "text/xml; charset=utf-8"}
            if self._s.einvoice_token is not None:
                headers["Authorization"] = f"Bearer {self._s.einvoice_token.get_secret_value()}"
            self._http = httpx.AsyncClient(headers=headers, timeout=self._s.einvoice_timeout_s)
        else:
            self._s.einvoice_folder.mkdir(parents=True, exist_ok=True)

    async def stop(self) -> None:
        if self._renderer is not None:
            await self._renderer.stop()
            self._renderer = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        await asyncio.to_thread(self._files.shutdown, wait=True)
        await asyncio.to_thread(self._syncs.shutdown, wait=True)

    def warm(self) -> None:
        """Load the XSD (a render process does this before its first render)."""
        finvoice_schema()

    def render(self, document_id: str, doc: Document) -> Rendered:
        problem = channel_problem("einvoice", doc.customer.data)
        if problem is not None:
            raise Refused.of(problem)
        message_id = finvoice_message_identifier(document_id)
        xml = formats.finvoice(
            doc,
            sender_address=self._s.einvoice_sender_address or doc.seller.einvoice_address,
            sender_intermediator=self._s.einvoice_sender_intermediator or doc.seller.einvoice_operator,
            message_id=message_id,
            timestamp=datetime.now(UTC).replace(microsecond=0),
        )
        name = einvoice_file_name(document_id)
        rendered = Rendered(file_name=name, content_type="application/xml", content=xml, receipt=name)
        problems = formats.finvoice_problems(xml)
        if problems:
            detail = clean_reason(f"{len(problems)} problem(s): {formats.describe(problems)}")
            reason = clean_reason(f"invalid Finvoice ({detail})")
            raise Refused(Failed("invalid-finvoice", reason, permanent=True, detail=detail), rendered)
        return rendered

    async def attempt(self, claim: Claim) -> Outcome:
        """A worker's attempt: rendered (built and checked) in a render process, then
        delivered from here."""
        rendered = await render_in(self._renderer, self.render, claim)
        if isinstance(rendered, Failed):
            return rendered
        return await self.deliver(claim, rendered)

    @property
    def grouped(self) -> bool:
        """A worker delivers its batches with :meth:`deliver_groups` (the drop folder);
        to an endpoint, one POST per document (:meth:`attempt`)."""
        return self._http is None and self._s.einvoice_mode == "folder"

    @property
    def groups_overlap(self) -> bool:
        """The next group is written while one is recorded (at most two groups, each half
        the concurrency, between written and recorded); at a concurrency of 1, a group
        of 1 is recorded before the next is written, so the window stays at 1."""
        return self._s.concurrency(self.name) >= 2

    async def deliver_groups(self, claims: Sequence[Claim]) -> AsyncGenerator[GroupOutcomes, None]:
        """A worker's batch: every claim rendered in the render processes (``RENDER_CHUNK``
        a task, all handed over at once, so they render while earlier groups are written
        and recorded), then written to the drop folder in groups of at most half the
        channel's concurrency, in the claims' order. Each group is yielded once its files
        and the folder are on disk, with each claim's outcome: delivered; refused by
        the render (its own failure: the others go on); or the folder unavailable (a
        write that failed; the caller stops the batch there). A render process dying
        raises (the batch is retried)."""
        # half the concurrency: one group recorded while the next is written keeps at most
        # ``concurrency`` documents between written and recorded (the README's window)
        size = max(1, self._s.concurrency(self.name) // 2)
        chunks = deque(render_all_in(self._renderer, self.render, claims, min(RENDER_CHUNK, size)))
        taken: list[RenderChunk] = []
        try:
            while chunks:
                taken = [chunks.popleft()]
                count = len(taken[0].claims)
                while chunks and chunks[0].done() and count + len(chunks[0].claims) <= size:
                    count += len(chunks[0].claims)
                    taken.append(chunks.popleft())
                pairs: list[tuple[Claim, Rendered | Failed]] = []
                for chunk in taken:
                    pairs.extend(zip(chunk.claims, await chunk.result(), strict=True))
                yield await self._write_group(pairs)
        finally:
            # the rest, and those taken for a group that did not come together (an
            # earlier chunk's render failed): dropped, their failures retrieved
            for chunk in (*taken, *chunks):
                chunk.cancel()

    async def _write_group(self, pairs: Sequence[tuple[Claim, Rendered | Failed]]) -> GroupOutcomes:
        rendered = [(c, r) for c, r in pairs if isinstance(r, Rendered)]
        files = [GroupFile(r.file_name, r.content, keep_existing=c.resumed) for c, r in rendered]
        folder = self._s.einvoice_folder
        loop = asyncio.get_running_loop()
        errors = await loop.run_in_executor(self._files, write_group, folder, files, self._syncs.map) if files else []
        written = {c.id: exc for (c, _), exc in zip(rendered, errors, strict=True)}
        outcomes: GroupOutcomes = []
        for claim, result in pairs:
            if isinstance(result, Failed):
                outcomes.append((claim, result))
            elif (exc := written[claim.id]) is None:
                outcomes.append((claim, Delivered(result.receipt)))
            else:
                outcomes.append((claim, _folder_unavailable(exc)))
        return outcomes

    async def deliver(self, claim: Claim, rendered: Rendered) -> Outcome:
        if self._http is not None:
            return await self._post(claim, rendered)
        path = self._s.einvoice_folder / rendered.file_name
        loop = asyncio.get_running_loop()
        if claim.resumed and await loop.run_in_executor(self._files, path.exists):
            return Delivered(rendered.receipt)  # the attempt that died had written it
        try:
            await loop.run_in_executor(self._files, write_atomically, path, rendered.content)
        except OSError as exc:
            raise _folder_unavailable(exc) from None
        return Delivered(rendered.receipt)

    async def _post(self, claim: Claim, rendered: Rendered) -> Outcome:
        assert self._http is not None and self._s.einvoice_url
        key = finvoice_message_identifier(claim.id)
        try:
            response = await self._http.post(
                self._s.einvoice_url, content=rendered.content, headers={"Idempotency-Key": key}
            )
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(
                "endpoint-unreachable", f"no answer from the endpoint ({type(exc).__name__})", type(exc).__name__
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return Delivered(response.headers.get("Location") or rendered.receipt)
        if status in _ENDPOINT_DOWN:
            raise ChannelUnavailable("endpoint-unavailable", f"the endpoint answered HTTP {status}", f"HTTP {status}")
        if status >= 500:
            return Failed("endpoint-error", f"the endpoint answered HTTP {status}", False, f"HTTP {status}")
        return Failed("einvoice-refused", f"the endpoint refused the file (HTTP {status})", True, f"HTTP {status}")


def _folder_unavailable(exc: OSError) -> ChannelUnavailable:
    return ChannelUnavailable("drop-folder", f"cannot write the drop folder ({type(exc).__name__})", type(exc).__name__)
