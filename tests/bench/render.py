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

The **render floor** (what a PDF costs at minimum with reportlab): every drawing call
``render_pdf`` makes on its canvas, recorded once and replayed onto a fresh canvas (the
same page content and compression, none of our layout, wrapping or measuring), and an
empty one-page PDF (the library's fixed cost per document).

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

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from services.dispatch.render import build_sheet, compose_email, render_pdf, wire_bytes, write_print_batch
from services.dispatch.render import pdf as pdf_module
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


_RECORDED = (
    "drawString", "drawRightString", "setFont", "setLineWidth", "line", "rect", "setDash", "setFillGray",
    "setStrokeGray", "saveState", "restoreState", "translate", "showPage", "setTitle", "setAuthor", "setSubject",
    "setCreator",
)  # fmt: skip
Call = tuple[str, tuple[Any, ...], dict[str, Any]]


class _RecordingCanvas(Canvas):
    """reportlab's canvas, noting each drawing call of ours (the bar code's bars are
    ``rect`` calls) so that it can be replayed without the layout around it."""

    calls: list[Call]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls = []
        for name in _RECORDED:
            original = getattr(self, name)

            def recorded(*a: Any, _name: str = name, _original: Any = original, **k: Any) -> Any:
                if not self._replaying:
                    self.calls.append((_name, a, k))
                self._replaying = True
                try:
                    return _original(*a, **k)
                finally:
                    self._replaying = False

            setattr(self, name, recorded)
        self._replaying = False


def drawing_calls(doc: Doc) -> list[Call]:
    """The canvas calls ``render_pdf(doc)`` makes (outermost only, in order)."""
    made: list[_RecordingCanvas] = []

    def canvas(*args: Any, **kwargs: Any) -> _RecordingCanvas:
        made.append(_RecordingCanvas(*args, **kwargs))
        return made[-1]

    pdf_module.Canvas = canvas  # type: ignore[assignment,misc]
    try:
        render_pdf(doc)
    finally:
        pdf_module.Canvas = Canvas  # type: ignore[misc]
    return made[0].calls


def replay(calls: list[Call]) -> bytes:
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=A4, pageCompression=1, invariant=1)
    for name, args, kwargs in calls:
        getattr(c, name)(*args, **kwargs)
    c.save()
    return buffer.getvalue()


def empty_pdf() -> bytes:
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=A4, pageCompression=1, invariant=1)
    c.showPage()
    c.save()
    return buffer.getvalue()


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
        recorded = [drawing_calls(doc) for _, doc in docs]
        replay_s = timed(lambda: [replay(calls) for calls in recorded])
        empty_s = timed(lambda: [empty_pdf() for _ in docs])
        rate("render floor: the same drawing calls replayed (reportlab)", "PDFs", n, replay_s)
        rate("render floor: an empty one-page PDF (reportlab)", "PDFs", n, empty_s)
        same = sum(replay(calls) == pdf for calls, pdf in zip(recorded[:50], pdfs[:50], strict=True))
        print(f"  the replay makes the same bytes for {same} of {min(n, 50)} documents checked: the same PDF, so")
        print(f"  render_pdf against the replay floor: {replay_s.cpu / pdf_s.cpu:.0%} of its CPU is reportlab's own")

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
