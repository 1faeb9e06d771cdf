"""The print house's batch: one PDF holding every document of a send, and a manifest
saying where each document starts, how many pages it has, where it goes and in which
envelope.

Files, in ``folder``, named after the batch id only (so a batch written twice is the
same three files, never a second copy):

- ``print-<batch>.pdf``: the documents one after another, in the order given, written
  while they are read (:func:`stream_print_batch`): a batch of any size is merged
  without holding its PDFs in memory;
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
import io
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from services.dispatch.render.pdf_concat import PdfConcatenator
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


PdfSource = bytes | Path
"""A document's PDF: its bytes, or the file that holds them (read when its turn comes)."""


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


def _write_atomically(path: Path, data: bytes | Iterable[bytes]) -> None:
    """``data`` (bytes, or pieces written as they come) to a hidden temporary file,
    fsynced and renamed over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            for piece in (data,) if isinstance(data, bytes) else data:
                handle.write(piece)
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


def _csv(entries: Sequence[ManifestEntry]) -> Iterator[bytes]:
    """The CSV manifest, a row at a time."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        writer.writerow([getattr(e, column) for column in CSV_COLUMNS])
        if out.tell() > 1 << 16:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def _json(head: dict[str, Any], entries: Sequence[ManifestEntry], tail: dict[str, Any]) -> Iterator[bytes]:
    """The JSON manifest ``head + {"documents": entries} + tail``, a document at a time:
    the text ``json.dumps(..., ensure_ascii=False, indent=1)`` gives for the whole."""
    yield json.dumps(head, ensure_ascii=False, indent=1)[:-2].encode("utf-8")
    yield b',\n "documents": ['
    for i, e in enumerate(entries):
        text = json.dumps(asdict(e), ensure_ascii=False, indent=1).replace("\n", "\n  ")
        yield (",\n  " if i else "\n  ").encode("utf-8") + text.encode("utf-8")
    yield b"\n ]," if entries else b"],"
    yield json.dumps(tail, ensure_ascii=False, indent=1)[1:].encode("utf-8")


def write_print_batch(items: Sequence[tuple[str, Doc, bytes]], folder: Path, batch_id: str) -> PrintBatch:
    """Merge ``items`` (document id, document, its PDF) into one print file with its
    manifest in ``folder``; idempotent for the same ``batch_id`` (see the module text)."""
    return stream_print_batch([document_id for document_id, _, _ in items], items, folder, batch_id)


def stream_print_batch(
    document_ids: Sequence[str], items: Iterable[tuple[str, Doc, PdfSource]], folder: Path, batch_id: str
) -> PrintBatch:
    """:func:`write_print_batch` for a batch of any size: ``items`` (document id, document,
    its PDF as bytes or a file path) is read one at a time, in the order of
    ``document_ids``, and each document's pages are written to the print file before the
    next is read (:class:`PrintBatchWriter`): memory does not grow with the PDFs.
    ``items`` is not read at all when the batch is already on disk."""
    writer = PrintBatchWriter(folder, batch_id, document_ids)
    if writer.done is not None:
        return writer.done
    try:
        for document_id, doc, pdf in items:
            writer.add(document_id, doc, pdf)
        return writer.finish()
    finally:
        writer.close()


class PrintBatchWriter:
    """A print batch written one document at a time (see :func:`stream_print_batch`).

    ``done`` is the batch as it is on disk when it was complete already (then nothing
    is written); else :meth:`add` each document in the order of ``document_ids`` and
    :meth:`finish`. The print file is written to a hidden temporary file that becomes
    ``print-<batch>.pdf`` only in :meth:`finish`; :meth:`close` without it removes it."""

    def __init__(self, folder: Path, batch_id: str, document_ids: Sequence[str]) -> None:
        if not _BATCH_ID.match(batch_id):
            raise ValueError("batch_id: 1-100 characters A-Z a-z 0-9 . _ - (a file name)")
        if not document_ids:
            raise ValueError("a print batch needs at least one document")
        if len(set(document_ids)) != len(document_ids):
            raise ValueError("a document appears twice in the batch")
        folder.mkdir(parents=True, exist_ok=True)
        self.batch_id = batch_id
        self._folder = folder
        self._ids = list(document_ids)
        self.done = _existing(folder, batch_id, self._ids)
        self._entries: list[ManifestEntry] = []
        self._pdf_path, self._json_path, self._csv_path = _paths(folder, batch_id)
        self._tmp = self._pdf_path.with_name(f".{self._pdf_path.name}.{os.getpid()}.tmp")
        self._handle: IO[bytes] | None = None
        self._merged: PdfConcatenator | None = None
        if self.done is None:
            self._handle = open(self._tmp, "wb")  # noqa: SIM115 - closed in finish / close
            self._merged = PdfConcatenator(self._handle)

    def add(self, document_id: str, doc: Doc, pdf: PdfSource) -> None:
        assert self._merged is not None, "the batch is complete or closed"
        sequence = len(self._entries) + 1
        if sequence > len(self._ids) or self._ids[sequence - 1] != document_id:
            raise ValueError(f"document #{sequence} of the batch is not the one its list names")
        first = self._merged.pages + 1
        try:
            count = _add(self._merged, pdf)
        except ValueError as exc:
            raise ValueError(f"document #{sequence} of the batch: {exc}") from None
        self._entries.append(_entry(sequence, document_id, doc, first, count))

    def finish(self) -> PrintBatch:
        assert self._merged is not None and self._handle is not None, "the batch is complete or closed"
        entries = self._entries
        if len(entries) != len(self._ids):
            raise ValueError(f"{len(self._ids) - len(entries)} document(s) of the batch were not given")
        digest = self._merged.finish()
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        self._handle = self._merged = None
        os.replace(self._tmp, self._pdf_path)
        pages = sum(e.page_count for e in entries)
        head = {"batch_id": self.batch_id, "pdf": self._pdf_path.name, "pdf_sha256": digest}
        tail = {"pages": pages, "envelopes": dict(sorted(Counter(e.envelope for e in entries).items()))}
        _write_atomically(self._json_path, _json(head, entries, tail))
        _write_atomically(self._csv_path, _csv(entries))
        _fsync_dir(self._folder)
        self.done = PrintBatch(
            batch_id=self.batch_id,
            pdf_path=self._pdf_path,
            json_path=self._json_path,
            csv_path=self._csv_path,
            documents=len(entries),
            pages=pages,
            pdf_sha256=digest,
            entries=tuple(entries),
            written=True,
        )
        return self.done

    def close(self) -> None:
        """Give up an unfinished batch (its temporary file is removed); no-op after finish."""
        if self._merged is not None:
            self._merged.close()
            self._merged = None
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            self._tmp.unlink(missing_ok=True)


def _add(merged: PdfConcatenator, pdf: PdfSource) -> int:
    if isinstance(pdf, Path):
        with open(pdf, "rb") as source:
            return merged.add(source)
    return merged.add(pdf)


def _entry(sequence: int, document_id: str, doc: Doc, first_page: int, count: int) -> ManifestEntry:
    sheet = build_sheet(doc)
    return ManifestEntry(
        sequence=sequence,
        document_id=document_id,
        customer_number=sheet.customer_number,
        document_type=sheet.kind,
        document_number=f"{sheet.number}-{doc.level}" if isinstance(doc, ReminderDocument) else sheet.number,
        first_page=first_page,
        page_count=count,
        country=sheet.country,
        envelope=envelope_for(count),
    )
