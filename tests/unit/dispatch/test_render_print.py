"""The print house's batch: one merged PDF and its manifest, written atomically and
once per batch id."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from services.dispatch.render import BatchConflict, PrintBatch, render_pdf, stream_print_batch, write_print_batch
from services.dispatch.render.pdf_concat import FANOUT
from services.dispatch.render.print_batch import envelope_for
from services.dispatch.render.sheet import Doc
from tests.support import documents as d
from tests.support import render_samples as samples
from tests.support.pdf import page_texts, reader


def items() -> list[tuple[str, Doc, bytes]]:
    docs: list[tuple[str, Doc]] = [
        ("doc-a", d.invoice(1000000001, who=d.customer("C-1"))),
        ("doc-b", d.invoice(1000000004, who=d.customer("C-4"), spec=samples.long_spec(80))),
        ("doc-c", samples.reminder_with_interest()),
        ("doc-d", d.credit_note(d.invoice(1000000002, who=d.customer("C-2", d.COMPANY)))),
    ]
    return [(doc_id, doc, render_pdf(doc)) for doc_id, doc in docs]


def test_the_merged_pdf_holds_every_page_of_every_document_in_order(tmp_path: Path) -> None:
    batch_items = items()
    counts = [len(reader(pdf).pages) for _, _, pdf in batch_items]
    assert counts[0] == 1 and counts[1] >= 2 and counts[2:] == [1, 1]
    batch = write_print_batch(batch_items, tmp_path, "run-42-print")
    assert batch.written
    assert batch.documents == 4
    assert batch.pages == sum(counts)
    pages = page_texts(batch.pdf_path.read_bytes())
    assert len(pages) == sum(counts)
    # Each document starts where the manifest says: its number on its first page.
    for entry, number in zip(batch.entries, ["1000000001", "1000000004", "1000000003", "3000000001"], strict=True):
        assert number in pages[entry.first_page - 1].splitlines()
    assert [e.first_page for e in batch.entries] == [1, 2, 2 + counts[1], 3 + counts[1]]


def test_the_manifests_say_document_customer_pages_country_and_envelope(tmp_path: Path) -> None:
    batch_items = items()
    counts = [len(reader(pdf).pages) for _, _, pdf in batch_items]
    batch = write_print_batch(batch_items, tmp_path, "run-42-print")
    manifest = json.loads(batch.json_path.read_text("utf-8"))
    assert manifest["pages"] == sum(counts)
    assert manifest["pdf"] == "print-run-42-print.pdf"
    assert [row["document_id"] for row in manifest["documents"]] == ["doc-a", "doc-b", "doc-c", "doc-d"]
    with batch.csv_path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert [(r["document_id"], r["customer_number"], r["page_count"], r["country"], r["envelope"]) for r in rows] == [
        ("doc-a", "C-1", "1", "FI", "E65"),
        ("doc-b", "C-4", str(counts[1]), "FI", "E65"),
        ("doc-c", "C-3", "1", "SE", "E65"),
        ("doc-d", "C-2", "1", "FI", "E65"),
    ]
    assert [r["document_type"] for r in rows] == ["invoice", "invoice", "reminder", "credit-note"]
    assert [r["document_number"] for r in rows] == ["1000000001", "1000000004", "1000000003-2", "3000000001"]
    assert rows == [{k: str(v) for k, v in row.items()} for row in manifest["documents"]]
    assert manifest["envelopes"] == {"E65": 4}


def test_envelope_is_folded_up_to_five_sheets_and_flat_beyond() -> None:
    assert [envelope_for(n) for n in (1, 5, 6, 12)] == ["E65", "E65", "C4", "C4"]


def test_writing_the_same_batch_again_changes_nothing_and_leaves_no_duplicate(tmp_path: Path) -> None:
    batch_items = items()
    first = write_print_batch(batch_items, tmp_path, "b1")
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in tmp_path.iterdir()}
    again = write_print_batch(batch_items, tmp_path, "b1")
    assert not again.written
    assert (again.pages, again.pdf_sha256, again.entries) == (first.pages, first.pdf_sha256, first.entries)
    assert {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in tmp_path.iterdir()} == before
    assert sorted(before) == ["print-b1.csv", "print-b1.json", "print-b1.pdf"]


def test_the_same_batch_id_with_other_documents_is_refused(tmp_path: Path) -> None:
    batch_items = items()
    write_print_batch(batch_items, tmp_path, "b1")
    with pytest.raises(BatchConflict):
        write_print_batch(batch_items[:2], tmp_path, "b1")


def test_a_batch_cut_short_before_its_csv_is_written_whole_again(tmp_path: Path) -> None:
    batch_items = items()
    (tmp_path / "print-b1.pdf").write_bytes(b"%PDF-1.4 half written")
    (tmp_path / ".print-b1.json.999.tmp").write_bytes(b"{")
    batch = write_print_batch(batch_items, tmp_path, "b1")
    assert batch.written
    assert len(reader(batch.pdf_path.read_bytes()).pages) == batch.pages
    assert batch.csv_path.exists()


def test_bad_batch_ids_and_duplicate_documents_are_refused(tmp_path: Path) -> None:
    batch_items = items()
    for bad in ("../escape", "", "a/b", ".hidden"):
        with pytest.raises(ValueError, match="batch_id"):
            write_print_batch(batch_items, tmp_path, bad)
    with pytest.raises(ValueError, match="twice"):
        write_print_batch([batch_items[0], batch_items[0]], tmp_path, "dup")
    with pytest.raises(ValueError, match="at least one"):
        write_print_batch([], tmp_path, "empty")
    assert list(tmp_path.iterdir()) == []


def test_a_large_batch_is_merged_without_holding_its_pdfs_in_memory(tmp_path: Path) -> None:
    """The PDFs are read from their files one by one: the peak of Python allocations
    while a batch is merged stays a small part of the PDFs' total, and going from 300 to
    1,500 documents raises it by a small part of the PDFs added (a manifest row each)."""
    sources = items()
    files = []
    for doc_id, doc, pdf in sources:
        path = tmp_path / f"{doc_id}.pdf"
        path.write_bytes(pdf)
        files.append((doc, path, len(pdf), len(reader(pdf).pages)))

    def merge(n: int) -> tuple[int, int, int, PrintBatch]:
        ids = [f"doc-{i}" for i in range(n)]
        lazily = ((doc_id, files[i % 4][0], files[i % 4][1]) for i, doc_id in enumerate(ids))
        tracemalloc.start()
        try:
            batch = stream_print_batch(ids, lazily, tmp_path / f"out-{n}", "big")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return peak, sum(files[i % 4][2] for i in range(n)), sum(files[i % 4][3] for i in range(n)), batch

    small_peak, small_bytes, _, _ = merge(300)
    peak, total_bytes, total_pages, batch = merge(1500)
    assert peak < total_bytes / 4, f"peak {peak:,} bytes while merging {total_bytes:,} bytes of PDFs"
    assert peak - small_peak < (total_bytes - small_bytes) / 5, (small_peak, peak)
    merged = batch.pdf_path.read_bytes()
    assert len(merged) > total_bytes / 2  # every document's pages are in it, not only referenced
    assert batch.pages == total_pages
    check = PdfReader(io.BytesIO(merged), strict=True)
    assert len(check.pages) == total_pages
    assert batch.pdf_sha256 == hashlib.sha256(merged).hexdigest()
    # the manifest's first pages point at each document's first page (its number printed there)
    numbers = {"doc-a": "1000000001", "doc-b": "1000000004", "doc-c": "1000000003", "doc-d": "3000000001"}
    for entry in (batch.entries[0], batch.entries[5], batch.entries[1498], batch.entries[-1]):
        page = (check.pages[entry.first_page - 1].extract_text() or "").splitlines()
        assert numbers[sources[(entry.sequence - 1) % len(sources)][0]] in [line.strip() for line in page]
    manifest = json.loads(batch.json_path.read_text("utf-8"))
    assert [row["first_page"] for row in manifest["documents"]] == [e.first_page for e in batch.entries]


def test_the_merged_file_is_a_page_tree_of_many_levels_for_many_pages(tmp_path: Path) -> None:
    """More pages than one /Pages node holds (64 kids): the tree gets levels, every page
    is reachable once and in order."""
    _, doc, pdf = items()[0]
    n = FANOUT * FANOUT + 3
    ids = [f"d{i}" for i in range(n)]
    batch = stream_print_batch(ids, ((i, doc, pdf) for i in ids), tmp_path, "deep")
    check = PdfReader(batch.pdf_path, strict=True)
    assert len(check.pages) == n == batch.pages
    catalog: Any = check.trailer["/Root"]
    root: Any = catalog["/Pages"].get_object()
    assert int(root["/Count"]) == n and "/Parent" not in root
    kid: Any = root["/Kids"][0].get_object()
    assert str(kid["/Type"]) == "/Pages" and kid["/Parent"].get_object() == root


def test_a_document_that_is_not_a_pdf_leaves_no_batch_file(tmp_path: Path) -> None:
    sources = items()
    bad = [(sources[0][0], sources[0][1], sources[0][2]), ("doc-x", sources[1][1], b"not a pdf")]
    with pytest.raises(Exception):  # noqa: B017 - pypdf's error for a broken file
        write_print_batch(bad, tmp_path, "b-bad")
    assert [p.name for p in tmp_path.iterdir()] == []
