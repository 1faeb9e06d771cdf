"""The document formats, seen from the channels: PDF, e-mail, print batch, Finvoice.

The renderers live in ``services.dispatch.render`` and ``services.dispatch.finvoice``
(built beside the channels, on their own branches); this adapter is the one place the
channels touch them, so the channels do not depend on how they are organised inside.
They are imported when first used: the service's other parts (documents, the Sending
tab, jobs) work without them.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol, cast

from services.dispatch.domain.documents import Document


@functools.cache
def _render() -> Any:
    return importlib.import_module("services.dispatch.render")


@functools.cache
def _finvoice() -> Any:
    return importlib.import_module("services.dispatch.finvoice")


def is_no_email_address(exc: BaseException) -> bool:
    """The renderer refused the e-mail for want of an address."""
    return type(exc).__name__ in ("NoEmailAddress", "BadAddress")


class PrintBatchFiles(Protocol):
    """What the channel reads of a written print batch."""

    pdf_path: Path
    csv_path: Path
    documents: int


def pdf(doc: Document) -> bytes:
    return cast(bytes, _render().render_pdf(doc))


def email(
    doc: Document,
    pdf_bytes: bytes,
    *,
    document_id: str,
    sender: str,
    sender_name: str | None,
    reply_to: str | None,
    message_id_domain: str,
) -> EmailMessage:
    return cast(
        EmailMessage,
        _render().compose_email(
            doc,
            pdf_bytes,
            document_id=document_id,
            sender=sender,
            reply_to=reply_to,
            message_id_domain=message_id_domain,
            sender_name=sender_name,
        ),
    )


def print_batch(items: Sequence[tuple[str, Document, bytes]], folder: Path, batch_id: str) -> PrintBatchFiles:
    return cast(PrintBatchFiles, _render().write_print_batch(items, folder, batch_id))


def finvoice(
    doc: Document, *, sender_address: str, sender_intermediator: str, message_id: str, timestamp: datetime
) -> bytes:
    frame = _finvoice().TransmissionFrame(
        sender_address=sender_address,
        sender_intermediator=sender_intermediator,
        message_id=message_id,
        timestamp=timestamp,
    )
    return cast(bytes, _finvoice().build_finvoice(doc, frame))


def finvoice_problems(xml: bytes) -> list[Any]:
    """Why the file must not be sent (XSD and the arithmetic the schema does not
    check); [] when it may."""
    return list(_finvoice().check_finvoice(xml))


def describe(problems: Sequence[Any]) -> str:
    module = _finvoice()
    if hasattr(module, "describe"):
        return cast(str, module.describe(problems))
    shown = "; ".join(str(p) for p in problems[:5])
    return shown + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
