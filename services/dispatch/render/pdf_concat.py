"""Concatenating PDFs into one file as they come, without holding them in memory.

A print batch can hold tens of thousands of documents. A merger that builds the whole
output in memory (pypdf's ``PdfWriter``) holds every page of every document until it
writes: memory grows with the batch. :class:`PdfConcatenator` instead writes each
document's objects to the output file as soon as the document is added and keeps only
what the end of the file needs:

- each object's byte offset goes to a cross-reference spool file (fixed 20-byte lines at
  the object's number, as the PDF's ``xref`` table wants them), copied to the end of the
  output when it is finished;
- the page tree is built bottom-up while pages arrive: a ``/Pages`` node holds at most
  :data:`FANOUT` kids and is written when full, so only one open node per tree level is
  in memory (a few hundred numbers for any batch size).

Each input is read with pypdf (any valid PDF, not only ours); its pages and every object
they reference are renumbered into the output. The inputs' own page trees, catalogs and
information dictionaries are not copied (a reference to one becomes ``null``), and
attributes a page inherits from its tree (``/Resources``, ``/MediaBox``, ``/CropBox``,
``/Rotate``) are written on the page itself.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass, field
from typing import IO, Any, cast

from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NullObject,
    PdfObject,
    StreamObject,
)

FANOUT = 64
"""Kids per ``/Pages`` node (the depth grows by one level every 64 times the pages)."""
INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")
_XREF_LINE = 20
_HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
_COPIED_NOT = frozenset({"/Pages", "/Catalog"})


@dataclass
class _Node:
    number: int
    kids: list[int] = field(default_factory=list)
    count: int = 0


class _Hashing:
    """The output file, with its SHA-256 and position kept as bytes are written."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.sha256 = hashlib.sha256()
        self.position = 0

    def write(self, data: bytes) -> int:
        self.handle.write(data)
        self.sha256.update(data)
        self.position += len(data)
        return len(data)


class PdfConcatenator:
    """Pages of PDFs appended to ``handle`` one document at a time (see the module).

    ``add`` returns the number of pages the document added; ``finish`` writes the page
    tree's open nodes, the catalog, the cross-reference table and the trailer, and
    returns the output's SHA-256 (hex)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._out = _Hashing(handle)
        self._xref: IO[bytes] = tempfile.TemporaryFile(prefix="pdf-xref-")  # noqa: SIM115 - closed in finish/close
        self._next = 1
        self._catalog = self._reserve()
        self._levels: list[_Node] = [_Node(self._reserve())]
        self.pages = 0
        self._out.write(_HEADER)

    def _reserve(self) -> int:
        number = self._next
        self._next += 1
        return number

    def _begin(self, number: int) -> None:
        self._xref.seek((number - 1) * _XREF_LINE)
        self._xref.write(b"%010d 00000 n \n" % self._out.position)
        self._out.write(b"%d 0 obj\n" % number)

    def _end(self) -> None:
        self._out.write(b"\nendobj\n")

    def add(self, pdf: bytes | IO[bytes]) -> int:
        """Append every page of ``pdf`` (its bytes or a readable binary file)."""
        reader = PdfReader(io.BytesIO(pdf) if isinstance(pdf, bytes | bytearray) else pdf)
        try:
            return self._add(reader)
        finally:
            # pypdf's objects and their reader refer to each other: freed at once when the
            # cache is emptied, not at the collector's next full run
            reader.resolved_objects.clear()

    def _add(self, reader: PdfReader) -> int:
        pages = list(reader.pages)
        if not pages:
            raise ValueError("a PDF without pages")
        numbers: dict[int, int] = {}
        pending: list[int] = []
        refs = [p.indirect_reference for p in pages]
        for ref in refs:
            if ref is not None:
                numbers[ref.idnum] = self._reserve()
        for page, ref in zip(pages, refs, strict=True):
            number = numbers[ref.idnum] if ref is not None else self._reserve()
            leaf = self._levels[0]
            self._begin(number)
            self._write_page(page, leaf.number, reader, numbers, pending)
            self._end()
            leaf.kids.append(number)
            self._counted(1)
            if len(leaf.kids) >= FANOUT:
                self._close_level(0)
        while pending:
            source = pending.pop()
            obj = reader.get_object(source)
            self._begin(numbers[source])
            self._write(obj, reader, numbers, pending)
            self._end()
        return len(pages)

    def _counted(self, pages: int) -> None:
        self.pages += pages
        for node in self._levels:
            node.count += pages

    def _write_page(
        self, page: DictionaryObject, parent: int, reader: PdfReader, numbers: dict[int, int], pending: list[int]
    ) -> None:
        out = self._out
        sink = cast(IO[Any], out)
        out.write(b"<<\n/Parent %d 0 R\n" % parent)
        for key, value in page.items():
            if key == "/Parent":
                continue
            NameObject(key).write_to_stream(sink)
            out.write(b" ")
            self._write(value, reader, numbers, pending)
            out.write(b"\n")
        for key in INHERITED:
            if key not in page:
                value = _inherited(page, key)
                if value is not None:
                    NameObject(key).write_to_stream(sink)
                    out.write(b" ")
                    self._write(value, reader, numbers, pending)
                    out.write(b"\n")
        out.write(b">>")

    def _write(self, obj: Any, reader: PdfReader, numbers: dict[int, int], pending: list[int]) -> None:
        out = self._out
        sink = cast(IO[Any], out)
        if isinstance(obj, IndirectObject):
            number = numbers.get(obj.idnum)
            if number is None:
                target = obj.get_object()
                if isinstance(target, DictionaryObject) and target.get("/Type") in _COPIED_NOT:
                    out.write(b"null")
                    return
                number = numbers[obj.idnum] = self._reserve()
                pending.append(obj.idnum)
            out.write(b"%d 0 R" % number)
        elif isinstance(obj, StreamObject):
            data = obj._data
            out.write(b"<<")
            for key, value in obj.items():
                if key == "/Length":
                    continue
                NameObject(key).write_to_stream(sink)
                out.write(b" ")
                self._write(value, reader, numbers, pending)
                out.write(b" ")
            out.write(b"/Length %d>>\nstream\n" % len(data))
            out.write(data)
            out.write(b"\nendstream")
        elif isinstance(obj, DictionaryObject):
            out.write(b"<<")
            for key, value in obj.items():
                NameObject(key).write_to_stream(sink)
                out.write(b" ")
                self._write(value, reader, numbers, pending)
                out.write(b" ")
            out.write(b">>")
        elif isinstance(obj, ArrayObject):
            out.write(b"[")
            for value in obj:
                self._write(value, reader, numbers, pending)
                out.write(b" ")
            out.write(b"]")
        elif isinstance(obj, PdfObject):
            obj.write_to_stream(sink)
        else:  # pragma: no cover - pypdf hands out PdfObjects only
            NullObject().write_to_stream(sink)

    def _close_level(self, level: int) -> None:
        """Write the full node of ``level`` under its parent (made when needed) and open
        a new one in its place."""
        node = self._levels[level]
        if level + 1 == len(self._levels):
            self._levels.append(_Node(self._reserve(), count=node.count))
        parent = self._levels[level + 1]
        self._write_node(node, parent.number)
        parent.kids.append(node.number)
        self._levels[level] = _Node(self._reserve())
        if len(parent.kids) >= FANOUT:
            self._close_level(level + 1)

    def _write_node(self, node: _Node, parent: int | None) -> None:
        self._begin(node.number)
        kids = b" ".join(b"%d 0 R" % kid for kid in node.kids)
        up = b"" if parent is None else b" /Parent %d 0 R" % parent
        self._out.write(b"<< /Type /Pages%s /Count %d /Kids [ %s ] >>" % (up, node.count, kids))
        self._end()

    def finish(self) -> str:
        """Write the end of the file; returns its SHA-256 (hex)."""
        if self.pages == 0:
            raise ValueError("no pages to write")
        level = 0
        while level < len(self._levels) - 1:
            node = self._levels[level]
            parent = self._levels[level + 1]
            if node.kids:
                self._write_node(node, parent.number)
                parent.kids.append(node.number)
            else:  # reserved, never used: written as an empty object so the xref stays whole
                self._begin(node.number)
                self._out.write(b"null")
                self._end()
            level += 1
        root = self._levels[-1]
        self._write_node(root, None)
        self._begin(self._catalog)
        self._out.write(b"<< /Type /Catalog /Pages %d 0 R >>" % root.number)
        self._end()
        start = self._out.position
        size = self._next
        self._out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
        self._xref.flush()
        self._xref.seek(0)
        remaining = (size - 1) * _XREF_LINE
        while remaining:
            chunk = self._xref.read(min(remaining, 1 << 20))
            if not chunk:
                raise RuntimeError("the cross-reference spool is short")
            self._out.write(chunk)
            remaining -= len(chunk)
        trailer = b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        self._out.write(trailer % (size, self._catalog, start))
        self.close()
        return self._out.sha256.hexdigest()

    def close(self) -> None:
        self._xref.close()


def _inherited(page: DictionaryObject, key: str) -> Any:
    node = page.get("/Parent")
    seen = 0
    while node is not None and seen < 64:
        node = node.get_object()
        if key in node:
            return node[key]
        node = node.get("/Parent")
        seen += 1
    return None


def fsync_file(handle: IO[bytes]) -> None:
    handle.flush()
    os.fsync(handle.fileno())
