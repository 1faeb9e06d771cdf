"""The print house's batch: one PDF holding every document of a send, and a manifest
saying where each document starts, how many pages it has, where it goes and in which
envelope.

Files, in ``folder``, named after the batch id only (so a batch written twice is the
same three files, never a second copy):

- ``print-<batch>.pdf``: the documents one after another, in the order given;
- ``print-<batch>.json``: the manifest with the batch totals and the PDF's SHA-256;
- ``print-<batch>.csv``: the same rows for the print house's mail-room software
  (``;``-separated, UTF-8, a header row).

Each file is written to a hidden temporary file in the same folder (``.print-…tmp``),
flushed to disk (fsync) and renamed over its final name; the folder is fsynced after the
renames. The CSV is written last: **a batch is complete when its CSV exists**, and the
print house takes a batch only then (and ignores dot files).

Writing the same batch id again with the same documents rewrites nothing and returns
what is on disk (``written=False``); with other documents it is refused
(:class:`BatchConflict`): a batch id names one print run.

Envelope (the default agreement with the print house, simplex printing): up to
:data:`MAX_FOLDED_SHEETS` sheets go folded in three into an E65 window envelope, more go
flat into a C4 window envelope. Both windows sit where the address field is.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter

from services.dispatch.render.sheet import Doc, build_sheet
from shared.events.reminders import ReminderDocument

MAX_FOLDED_SHEETS = 5
_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
CSV_COLUMNS = (
    "sequence",
    "document_id",
    "customer_number",
    "document_type",
    "document_number",
    "first_page",
    "page_count",
    "country",
    "envelope",
)


class BatchConflict(ValueError):
    """The batch id was already written with other documents."""


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    sequence: int
    document_id: str
    customer_number: str
    document_type: str
    """``invoice``, ``corrective``, ``credit-note`` or ``reminder``."""
    document_number: str
    """The invoice number (a reminder: the reminded invoice's number and ``-<level>``)."""
    first_page: int
    """1-based page of the merged PDF where the document starts."""
    page_count: int
    country: str
    envelope: str


@dataclass(frozen=True, slots=True)
class PrintBatch:
    batch_id: str
    pdf_path: Path
    json_path: Path
    csv_path: Path
    documents: int
    pages: int
    pdf_sha256: str
    entries: tuple[ManifestEntry, ...]
    written: bool
    """False when the batch was already complete on disk and nothing was written."""


def envelope_for(pages: int) -> str:
    return "E65" if pages <= MAX_FOLDED_SHEETS else "C4"


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _paths(folder: Path, batch_id: str) -> tuple[Path, Path, Path]:
    stem = f"print-{batch_id}"
    return folder / f"{stem}.pdf", folder / f"{stem}.json", folder / f"{stem}.csv"


def _existing(folder: Path, batch_id: str, document_ids: list[str]) -> PrintBatch | None:
    pdf_path, json_path, csv_path = _paths(folder, batch_id)
    if not (csv_path.exists() and json_path.exists() and pdf_path.exists()):
        return None
    manifest = json.loads(json_path.read_text("utf-8"))
    entries = tuple(ManifestEntry(**row) for row in manifest["documents"])
    if [e.document_id for e in entries] != document_ids:
        raise BatchConflict("this batch id was already written with other documents")
    return PrintBatch(
        batch_id=batch_id,
        pdf_path=pdf_path,
        json_path=json_path,
        csv_path=csv_path,
        documents=len(entries),
        pages=int(manifest["pages"]),
        pdf_sha256=str(manifest["pdf_sha256"]),
        entries=entries,
        written=False,
    )


def _csv(entries: Sequence[ManifestEntry]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        writer.writerow([getattr(e, column) for column in CSV_COLUMNS])
    return out.getvalue().encode("utf-8")


def write_print_batch(items: Sequence[tuple[str, Doc, bytes]], folder: Path, batch_id: str) -> PrintBatch:
    """Merge ``items`` (document id, document, its PDF) into one print file with its
    manifest in ``folder``; idempotent for the same ``batch_id`` (see the module text)."""
    if not _BATCH_ID.match(batch_id):
        raise ValueError("batch_id: 1-100 characters A-Z a-z 0-9 . _ - (a file name)")
    if not items:
        raise ValueError("a print batch needs at least one document")
    document_ids = [document_id for document_id, _, _ in items]
    if len(set(document_ids)) != len(document_ids):
        raise ValueError("a document appears twice in the batch")
    folder.mkdir(parents=True, exist_ok=True)
    done = _existing(folder, batch_id, document_ids)
    if done is not None:
        return done

    writer = PdfWriter()
    entries: list[ManifestEntry] = []
    page = 1
    for sequence, (document_id, doc, pdf) in enumerate(items, start=1):
        reader = PdfReader(io.BytesIO(pdf))
        count = len(reader.pages)
        if count == 0:
            raise ValueError(f"document #{sequence} of the batch has no pages")
        for p in reader.pages:
            writer.add_page(p)
        sheet = build_sheet(doc)
        entries.append(
            ManifestEntry(
                sequence=sequence,
                document_id=document_id,
                customer_number=sheet.customer_number,
                document_type=sheet.kind,
                document_number=f"{sheet.number}-{doc.level}" if isinstance(doc, ReminderDocument) else sheet.number,
                first_page=page,
                page_count=count,
                country=sheet.country,
                envelope=envelope_for(count),
            )
        )
        page += count
    merged = io.BytesIO()
    writer.write(merged)
    pdf_bytes = merged.getvalue()
    digest = hashlib.sha256(pdf_bytes).hexdigest()

    pdf_path, json_path, csv_path = _paths(folder, batch_id)
    manifest: dict[str, Any] = {
        "batch_id": batch_id,
        "pdf": pdf_path.name,
        "pdf_sha256": digest,
        "documents": [asdict(e) for e in entries],
        "pages": page - 1,
        "envelopes": dict(sorted(Counter(e.envelope for e in entries).items())),
    }
    _write_atomically(pdf_path, pdf_bytes)
    _write_atomically(json_path, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
    _write_atomically(csv_path, _csv(entries))
    _fsync_dir(folder)
    return PrintBatch(
        batch_id=batch_id,
        pdf_path=pdf_path,
        json_path=json_path,
        csv_path=csv_path,
        documents=len(entries),
        pages=page - 1,
        pdf_sha256=digest,
        entries=tuple(entries),
        written=True,
    )
