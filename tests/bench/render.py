"""Benchmark: the dispatch renderers on one core, no servers.

    uv run python -m tests.bench.render                 # 2,000 documents
    uv run python -m tests.bench.render --count 500 --profile

A realistic mix (invoices with 1-6 lines in fi/sv/en, every tenth a 40-line invoice,
reminders with interest, credit notes) is built first, outside the timings. Then, each
beside a floor measured in the same run:

- **pdf**: ``render_pdf`` per document; floor: writing the same, pre-rendered PDFs to
  files (what a channel worker does with bytes it already has);
- **e-mail**: ``compose_email`` + ``wire_bytes`` (what goes on the SMTP wire) from a
  pre-rendered PDF, and with the PDF rendered too; floor: ``wire_bytes`` of messages
  already composed;
- **print**: ``write_print_batch`` over all documents (merge + manifests, fsynced);
  floor: writing all PDFs, concatenated, as one fsynced file.

Where the time goes: the share of building the sheet (pure Python: words, number
forms, reference) against drawing and compressing the page, and with ``--profile``
the functions that take the most time (cProfile, own time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.dispatch.render import build_sheet, compose_email, render_pdf, wire_bytes, write_print_batch
from services.dispatch.render.pdf import render_sheet
from services.dispatch.render.sheet import Doc, Sheet
from tests.support import documents as d
from tests.support import render_samples as samples

LANGS = ("fi",) * 8 + ("sv", "en")
SHORT = (
    ("HS-1KK", "Helsingin Sanomat 1 kk", "1", "30.00", "10"),
    ("KUVA", "Kuvaliite", "2", "12.10", "25.5"),
    ("IL-1", "Ilmoitus, 1/4 sivua", "1", "450.00", "25.5"),
    ("DIG", "Digilehti 12 kk", "1", "99.90", "10"),
    ("TOIM", "Toimitusmaksu", "1", "4.90", "25.5"),
    ("ALE", "Kampanja-alennus", "1", "-5.00", "10"),
)


def documents(count: int) -> list[tuple[str, Doc]]:
    out: list[tuple[str, Doc]] = []
    for i in range(count):
        who = d.customer(f"B{i:06d}", samples.person(LANGS[i % len(LANGS)]))
        number = 1_100_000_000 + i
        if i % 10 == 9:
            doc: Doc = d.invoice(number, who=who, spec=samples.long_spec(40))
        elif i % 10 == 8:
            doc = d.credit_note(d.invoice(number, who=who), number=3_100_000_000 + i)
        elif i % 10 in (6, 7):
            doc = d.reminder(d.invoice(number, who=who), level=1 + i % 2, interest="1.23")
        else:
            doc = d.invoice(number, who=who, spec=SHORT[: 1 + i % 6])
        out.append((f"doc-{i:06d}", doc))
    return out


class Took:
    """Wall and CPU seconds of one timed step: on a shared machine the CPU time says what
    the code costs, the wall time what another process's load left of it."""

    def __init__(self, wall: float, cpu: float) -> None:
        self.wall, self.cpu = wall, cpu

    def __add__(self, other: Took) -> Took:
        return Took(self.wall + other.wall, self.cpu + other.cpu)


def rate(label: str, unit: str, n: int, took: Took) -> None:
    print(
        f"  {label:<52} {n / took.wall:>9,.0f} {unit}/s wall  {n / took.cpu:>9,.0f} /s CPU"
        f"   ({took.wall * 1000 / n:.3f} ms wall, {took.cpu * 1000 / n:.3f} ms CPU each)"
    )


def timed(fn: Callable[[], Any]) -> Took:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return Took(time.perf_counter() - wall, time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="cProfile render_pdf and show the top functions")
    args = parser.parse_args()
    n: int = args.count

    docs = documents(n)
    pdfs = [render_pdf(doc) for _, doc in docs[:50]]  # warm-up: fonts, code paths
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        folder = Path(tmp)
        pdfs = []

        def render_all() -> None:
            pdfs.extend(render_pdf(doc) for _, doc in docs)

        pdf_s = timed(render_all)
        pages = sum(pdf.count(b"/Type /Page\n") for pdf in pdfs)
        size = sum(len(p) for p in pdfs)
        print(f"render: {n:,} documents, {pages:,} pages, {size / n / 1024:.1f} KiB per PDF on average")

        def write_files() -> None:
            for (doc_id, _), pdf in zip(docs, pdfs, strict=True):
                (folder / f"{doc_id}.pdf").write_bytes(pdf)

        print("pdf")
        rate("floor: write pre-rendered PDFs to files", "files", n, timed(write_files))
        rate("render_pdf", "PDFs", n, pdf_s)
        sheets: list[Sheet] = []
        sheet_s = timed(lambda: sheets.extend(build_sheet(doc) for _, doc in docs))
        draw_s = timed(lambda: [render_sheet(sheet) for sheet in sheets])
        share = sheet_s.cpu / (sheet_s.cpu + draw_s.cpu)
        print(f"  where the time goes (CPU): building the sheet {share:.0%}, drawing + writing the PDF {1 - share:.0%}")

        print("e-mail")
        messages = []

        def compose_all() -> None:
            for (doc_id, doc), pdf in zip(docs, pdfs, strict=True):
                msg = compose_email(
                    doc,
                    pdf,
                    document_id=doc_id,
                    sender="laskutus@example.fi",
                    reply_to=None,
                    message_id_domain="billing.example.fi",
                )
                wire_bytes(msg)
                messages.append(msg)

        compose_s = timed(compose_all)
        rate("floor: wire_bytes of composed messages", "e-mails", n, timed(lambda: [wire_bytes(m) for m in messages]))
        rate("compose_email + wire_bytes (PDF pre-rendered)", "e-mails", n, compose_s)
        rate("render_pdf + compose_email + wire_bytes", "docs", n, pdf_s + compose_s)

        print("print")
        blob = b"".join(pdfs)

        def write_one() -> None:
            with open(folder / "floor.pdf", "wb") as handle:
                handle.write(blob)
                handle.flush()
                os.fsync(handle.fileno())

        rate("floor: all PDFs concatenated into one fsynced file", "docs", n, timed(write_one))
        items = [(doc_id, doc, pdf) for (doc_id, doc), pdf in zip(docs, pdfs, strict=True)]
        batch_s = timed(lambda: write_print_batch(items, folder / "batch", "bench"))
        rate("write_print_batch (merge, manifests, fsync)", "docs", n, batch_s)
        rate("render_pdf + write_print_batch", "docs", n, pdf_s + batch_s)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _, doc in docs[:500]:
            render_pdf(doc)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
        print(out.getvalue())


if __name__ == "__main__":
    main()
