"""What every channel does: render a document (pure CPU, also for previews) and deliver
what it rendered (I/O). Rendering may refuse a document for good (:class:`Refused`);
delivering returns an outcome or raises
:class:`~services.dispatch.domain.outcomes.ChannelUnavailable`."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from services.dispatch.domain.documents import Document
from services.dispatch.domain.outcomes import Failed, Outcome
from services.dispatch.domain.requirements import Problem
from services.dispatch.repositories import Claim
from shared.events.customers import Channel


@dataclass(frozen=True)
class Rendered:
    """A document as it would leave: the bytes a clerk can download from a preview,
    and what the delivery needs."""

    file_name: str
    content_type: str
    content: bytes
    receipt: str
    """What identifies it outside: the Message-ID, the file name."""
    message: EmailMessage | None = None
    recipient: str | None = None


class Refused(Exception):
    """Rendering refused the document for good (no address, invalid Finvoice): a
    permanent failure with its reason; ``rendered``: what it made anyway (a preview
    shows the invalid file)."""

    def __init__(self, failed: Failed, rendered: Rendered | None = None) -> None:
        super().__init__(failed.code)
        self.failed = failed
        self.rendered = rendered

    @classmethod
    def of(cls, problem: Problem) -> Refused:
        return cls(Failed(problem.code, problem.reason, permanent=True))  # the code says it all: no detail


class ChannelAdapter(Protocol):
    name: Channel

    async def start(self) -> None:
        """Open what delivering needs (connections, folders)."""

    async def stop(self) -> None: ...

    def render(self, document_id: str, doc: Document) -> Rendered: ...

    async def deliver(self, claim: Claim, rendered: Rendered) -> Outcome: ...


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def clean_reason(text: str, limit: int = 480) -> str:
    """A reason fit for the delivery-failed event (one line, no control characters)."""
    return _CONTROL.sub(" ", text).strip()[:limit] or "-"


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees either nothing or all of it:
    a hidden temporary file in the same folder, flushed to disk, renamed over the final
    name, and the folder flushed so that the rename survives a power cut."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
