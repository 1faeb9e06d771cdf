"""E-invoice (*verkkolasku*): a Finvoice 3.0 file with its SOAP transmission frame,
validated against the official XSD and checked for the arithmetic the schema does not
enforce *before* it leaves. An invalid file is a permanent failure with the reasons;
it is never delivered.

Delivery to the operator:

- ``folder`` (default): ``finvoice-<document id>.xml`` in the drop folder, written
  atomically (temporary file, fsync, rename), so the operator's pick-up never sees half
  a file. The name is the document's: written again after a crash, the file replaces
  itself. When an earlier attempt's worker died before recording its outcome and the
  file is there, it was delivered: it is not written a second time.
- ``http``: one POST per file, ``Idempotency-Key`` = the Finvoice message identifier
  (the same for every attempt of the document), so an operator that keeps keys drops
  a repeat. 2xx delivered; 408, 429, 502, 503, 504 and no answer: the endpoint is
  unavailable (the partition waits); other 5xx: this file retried later; 4xx: refused.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx

from services.dispatch import formats
from services.dispatch.channels.base import Refused, Rendered, clean_reason, write_atomically
from services.dispatch.channels.offload import RenderPool, render_in
from services.dispatch.config import Settings
from services.dispatch.domain.documents import Document
from services.dispatch.domain.naming import einvoice_file_name, finvoice_message_identifier
from services.dispatch.domain.outcomes import ChannelUnavailable, Delivered, Failed, Outcome
from services.dispatch.domain.requirements import channel_problem
from services.dispatch.repositories import Claim
from shared.events.customers import Channel

_ENDPOINT_DOWN = frozenset({408, 429, 502, 503, 504})


class EInvoiceChannel:
    name: Channel = "einvoice"

    def __init__(self, settings: Settings) -> None:
        self._s = settings
        self._http: httpx.AsyncClient | None = None
        # file writes wait on fsync: as many threads as documents in flight
        self._files = ThreadPoolExecutor(settings.concurrency("einvoice"), thread_name_prefix="einvoice-files")
        self._renderer: RenderPool | None = None

    async def start(self) -> None:
        if self._s.renderers():
            self._renderer = RenderPool(self.name, self._s, self._s.renderers())
            self._renderer.start()
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
            raise ChannelUnavailable(
                "drop-folder", f"cannot write the drop folder ({type(exc).__name__})", type(exc).__name__
            ) from None
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
