"""Deterministic names of what leaves the house: the e-mail Message-ID, the Finvoice
message identifier and file name, the print batch files. The same document always gets
the same names, so a copy sent again after a crash is recognisable as the same one (a
receiver can drop it by Message-ID; a file lands on the same name and replaces itself).

Pure: no I/O.
"""

from __future__ import annotations

import re

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def message_id(document_id: str, domain: str) -> str:
    """RFC 5322 Message-ID of the document's e-mail: ``<document id@domain>``."""
    return f"<{document_id}@{domain}>"


def finvoice_message_identifier(document_id: str) -> str:
    """Finvoice ``MessageIdentifier`` (at most 48 characters): the document id's 32 hex digits."""
    return document_id.replace("-", "")


def safe_name(text: str, max_length: int = 100) -> str:
    """A file-name-safe form (letters, digits, ``.``, ``_``, ``-``)."""
    return _SAFE.sub("_", text)[:max_length] or "_"


def einvoice_file_name(document_id: str) -> str:
    return f"finvoice-{document_id}.xml"


def print_batch_id(job_id: str | None, first_document_id: str) -> str:
    """A send's print batch is named after its job; documents queued without a send
    (automatic sending) are batched per worker batch, named after its first document."""
    return f"send-{job_id}" if job_id else f"auto-{first_document_id}"
