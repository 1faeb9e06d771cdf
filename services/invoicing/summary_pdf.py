"""The billing run summary as a PDF a clerk prints (seed 000 step 16, *laskutusajon kooste*).

One document per run and language: the mode first and unmissable (a preview carries an
ESIKATSELU / PREVIEW banner and a watermark on every page, so nobody files it as real
invoices), the run's facts, totals per VAT rate and per delivery channel, what was left
out and why, then the list of invoices with its header row repeated on every page and a
total line that must agree with the totals above. Every page says "Sivu 3/12" /
"Page 3 of 12" and carries the run id, so loose printed sheets can be put back together.

Scale: a confirmed run can hold 50,000 invoices. A platypus ``Table`` of 50,000 rows is
split page by page by copying every remaining row (quadratic), so the list is an
:class:`_InvoiceList` flowable that cuts exactly one page's rows per split into a small
``Table`` with its own header row: linear, and every row has one fixed height (long names
are shortened with "…" to their column), which is what makes the cut exact.

Fonts are the PDF standard Helvetica family (nothing to embed or install, small files);
text outside their Windows-1252 repertoire is folded to its base letters (``Ł`` stays
readable as ``L``) rather than printed as empty boxes.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal
from xml.sax.saxutils import escape

from reportlab.lib import colors  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.enums import TA_LEFT  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.units import mm  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped, unused-ignore]
from reportlab.platypus import (  # type: ignore[import-untyped, unused-ignore]
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from services.invoicing import summary_text as txt
from shared.events.invoicing import BillingRunFinished

PAGE = landscape(A4)
MARGIN_X = 15 * mm
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 15 * mm
WIDTH = PAGE[0] - 2 * MARGIN_X

FONT = "Helvetica"
BOLD = "Helvetica-Bold"
ROW_FONT_SIZE = 8.0
ROW_HEIGHT = 11.5
HEADER_HEIGHT = 15.0

INK = colors.HexColor("#1F2933")
MUTED = colors.HexColor("#52606D")
RULE = colors.HexColor("#9AA5B1")
HEAD_BG = colors.HexColor("#E4E7EB")
ZEBRA = colors.HexColor("#F5F7FA")

BANNER_COLOURS: dict[str, tuple[colors.Color, colors.Color]] = {
    # (background, border/text): amber for preview, blue for draft, green for confirmed
    "preview": (colors.HexColor("#FFF1D6"), colors.HexColor("#B44D12")),
    "draft": (colors.HexColor("#E3F0FF"), colors.HexColor("#1D4E89")),
    "confirm": (colors.HexColor("#E3F5E8"), colors.HexColor("#1E6B3A")),
}

Language = Literal["fi", "en"]


@dataclass(frozen=True)
class SummaryRow:
    """One invoice of the run, as listed in the summary."""

    invoice_number: str | None
    """None in preview and draft runs (numbers are allocated at confirmation)."""
    customer_number: str
    customer_name: str | None
    channel: str
    invoice_date: date
    due_date: date
    lines: int
    net: Decimal
    vat: Decimal
    gross: Decimal


def render_run_summary(
    run: BillingRunFinished,
    rows: Sequence[SummaryRow],
    *,
    language: Literal["fi", "en"],
    generated_at: datetime,
) -> bytes:
    """The summary of ``run`` with its invoice ``rows``, as PDF bytes."""
    words = txt.WORDS[language]
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=f"{words.title} {run.run_id}",
        author="Billing back-office",
        subject=f"{words.kinds.get(run.kind, run.kind)} \u2013 {words.mode_names[run.mode]}",
        creator="services.invoicing.summary_pdf",
        invariant=1,
    )
    frame = Frame(MARGIN_X, MARGIN_BOTTOM, WIDTH, PAGE[1] - MARGIN_TOP - MARGIN_BOTTOM, 0, 0, 0, 0, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    page_text = _PageText(words, run, language, generated_at)
    doc.build(_story(run, rows, language, words), canvasmaker=_numbered_canvas(page_text.draw))
    return buffer.getvalue()


# --- the story ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=11.5, textColor=INK, alignment=TA_LEFT)
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=17, leading=21),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=11, leading=14, textColor=MUTED),
        "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=11, leading=14, spaceBefore=4, spaceAfter=3),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.5),
        "banner_title": ParagraphStyle("banner_title", parent=base, fontName=BOLD, fontSize=14, leading=17),
        "banner_text": ParagraphStyle("banner_text", parent=base, fontSize=9.5, leading=12),
        "figure": ParagraphStyle("figure", parent=base, fontName=BOLD, fontSize=15, leading=18),
        "figure_label": ParagraphStyle("figure_label", parent=base, fontSize=8.5, leading=10, textColor=MUTED),
    }


def _p(text: str, style: str) -> Paragraph:
    return Paragraph(escape(_printable(text)), _styles()[style])


def _story(run: BillingRunFinished, rows: Sequence[SummaryRow], language: Language, words: txt.Words) -> list[Any]:
    story: list[Any] = [
        _p(words.title, "title"),
        _p(f"{words.kinds.get(run.kind, run.kind)} \u00b7 {words.run_id} {run.run_id}", "subtitle"),
        Spacer(0, 4 * mm),
        _banner(run.mode, words),
        Spacer(0, 4 * mm),
        _facts(run, language, words),
        Spacer(0, 4 * mm),
        _figures(run, language, words),
        Spacer(0, 5 * mm),
        _rates_and_channels(run, language, words),
        Spacer(0, 5 * mm),
        _left_out(run, language, words),
        Spacer(0, 5 * mm),
    ]
    heading = _p(f"{words.invoice_list} ({txt.count(len(rows), language)})", "h2")
    if not rows:
        story += [heading, _p(words.no_invoices, "base")]
        return story
    # the heading, its note and the first rows of the list go on one page
    story += [CondPageBreak(HEADER_HEIGHT + 8 * ROW_HEIGHT + 30), heading]
    if run.mode != "confirm" or any(r.invoice_number is None for r in rows):
        story.append(_p(words.numbers_later, "small"))
        story.append(Spacer(0, 1.5 * mm))
    story.append(_InvoiceList(_list_cells(rows, language), _list_total(rows, language, words), words))
    return story


def _banner(mode: str, words: txt.Words) -> Table:
    background, ink = BANNER_COLOURS[mode]
    title = ParagraphStyle("bt", parent=_styles()["banner_title"], textColor=ink)
    body = ParagraphStyle("bx", parent=_styles()["banner_text"], textColor=INK)
    table = Table(
        [[Paragraph(escape(words.banner_titles[mode]), title)], [Paragraph(escape(words.banner_texts[mode]), body)]],
        colWidths=[WIDTH],
    )
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), background),
                ("BOX", (0, 0), (-1, -1), 1.5, ink),
                ("LEFTPADDING", (0, 0), (-1, -1), 10),
                ("TOPPADDING", (0, 0), (-1, 0), 7),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 8),
            ]
        )
    )
    return table


def _facts(run: BillingRunFinished, language: Language, words: txt.Words) -> Table:
    if run.invoice_date is not None:
        invoice_date = txt.day(run.invoice_date, language)
    else:  # several dates; with no invoice, none
        invoice_date = words.invoice_date_none if run.invoices else "\u2013"
    pairs = [
        (words.run_id, run.run_id),
        (words.kind, words.kinds.get(run.kind, run.kind)),
        (words.mode, words.mode_names[run.mode]),
        (words.invoice_date, invoice_date),
        (words.finished, txt.moment(run.finished_at, language)),
        (words.actor, run.actor),
    ]
    data = [
        [_p(pairs[i][0], "small"), _p(pairs[i][1], "cell"), _p(pairs[i + 3][0], "small"), _p(pairs[i + 3][1], "cell")]
        for i in range(3)
    ]
    table = Table(data, colWidths=[32 * mm, WIDTH / 2 - 32 * mm, 32 * mm, WIDTH / 2 - 32 * mm])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -2), 0.3, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _figures(run: BillingRunFinished, language: Language, words: txt.Words) -> Table:
    left_out = sum(item.count for item in run.left_out)
    cells = [
        (words.invoices, txt.count(run.invoices, language)),
        (words.requests, txt.count(run.requests, language)),
        (words.left_out_count, txt.count(left_out, language)),
        (words.gross_total, txt.euros(run.totals.gross, language)),
    ]
    table = Table(
        [[_p(label, "figure_label") for label, _ in cells], [_p(value, "figure") for _, value in cells]],
        colWidths=[WIDTH * 0.2, WIDTH * 0.2, WIDTH * 0.2, WIDTH * 0.4],
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.5, RULE),
                ("LINEBEFORE", (1, 0), (-1, -1), 0.5, RULE),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, 0), 5),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 6),
            ]
        )
    )
    return table


def _grid_style(numeric_from: int, total_row: bool) -> TableStyle:
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), FONT, 9),
        ("FONT", (0, 0), (-1, 0), BOLD, 8.5),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if total_row:
        commands += [("FONT", (0, -1), (-1, -1), BOLD, 9), ("LINEABOVE", (0, -1), (-1, -1), 0.8, INK)]
    return TableStyle(commands)


def _rates_and_channels(run: BillingRunFinished, language: Language, words: txt.Words) -> Table:
    rate_rows: list[list[Any]] = [
        [words.rate, f"{words.net} (\u20ac)", f"{words.vat} (\u20ac)", f"{words.gross} (\u20ac)"]
    ]
    for item in sorted(run.by_vat_rate, key=lambda r: r.rate, reverse=True):
        rate_rows.append(
            [
                txt.percent(item.rate, language),
                txt.money(item.net, language),
                txt.money(item.vat, language),
                txt.money(item.gross, language),
            ]
        )
    rate_rows.append(
        [
            words.total,
            txt.money(run.totals.net, language),
            txt.money(run.totals.vat, language),
            txt.money(run.totals.gross, language),
        ]
    )
    rates = Table(rate_rows, colWidths=[28 * mm, 38 * mm, 34 * mm, 38 * mm], repeatRows=1)
    rates.setStyle(_grid_style(1, total_row=True))

    order = {"email": 0, "einvoice": 1, "print": 2}
    channel_rows: list[list[Any]] = [[words.channel, words.invoices]]
    for code, n in sorted(run.by_channel.items(), key=lambda kv: (order.get(kv[0], 9), kv[0])):
        channel_rows.append([_printable(words.channels.get(code, code)), txt.count(n, language)])
    channel_rows.append([words.total, txt.count(sum(run.by_channel.values()), language)])
    channels = Table(channel_rows, colWidths=[52 * mm, 24 * mm], repeatRows=1)
    channels.setStyle(_grid_style(1, total_row=True))

    outer = Table(
        [[[_p(words.by_rate, "h2"), rates], [_p(words.by_channel, "h2"), channels]]],
        colWidths=[150 * mm, WIDTH - 150 * mm],
    )
    outer.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return outer


def _left_out(run: BillingRunFinished, language: Language, words: txt.Words) -> KeepTogether:
    heading = _p(words.left_out, "h2")
    if not run.left_out:
        done = words.no_invoices if run.invoices == 0 else words.nothing_left_out[run.mode]
        return KeepTogether([heading, _p(done, "base")])
    rows: list[list[Any]] = [[words.reason, words.code, words.count]]
    for item in run.left_out:
        message = item.message_fi if language == "fi" else item.message_en
        if item.customers:
            message += " (" + ", ".join(item.customers) + ")"
        rows.append([_p(message, "cell"), _printable(item.code), txt.count(item.count, language)])
    rows.append([words.total, "", txt.count(sum(i.count for i in run.left_out), language)])
    table = Table(rows, colWidths=[WIDTH - 80 * mm, 55 * mm, 25 * mm], repeatRows=1)
    table.setStyle(_grid_style(2, total_row=True))
    return KeepTogether([heading, table])


# --- the invoice list --------------------------------------------------------------------

# (header attribute of Words, width in points, right-aligned)
_COLUMNS: tuple[tuple[str, float, bool], ...] = (
    ("row_no", 34, True),
    ("invoice_number", 62, False),
    ("customer_number", 68, False),
    ("customer", 190, False),
    ("channel", 82, False),
    ("invoice_date", 58, False),
    ("due_date", 58, False),
    ("lines", 34, True),
    ("net", 58, True),
    ("vat", 52, True),
    ("gross", 60, True),
)
_PAD = 3.0
_LIST_WIDTH = sum(w for _, w, _ in _COLUMNS)
_COLUMN_X: tuple[tuple[float, float, bool], ...] = tuple(
    (sum(w for _, w, _ in _COLUMNS[:i]), width, right) for i, (_, width, right) in enumerate(_COLUMNS)
)
TOTAL_HEIGHT = ROW_HEIGHT + 3
assert _LIST_WIDTH <= WIDTH, "the invoice list is wider than the page body"


def _list_cells(rows: Sequence[SummaryRow], language: Language) -> list[list[str]]:
    """Every cell as final text, once (the pages only slice this list)."""
    words = txt.WORDS[language]
    room = [width - 2 * _PAD for _, width, _ in _COLUMNS]
    return [
        [
            txt.count(n, language),
            _fit(row.invoice_number or "\u2013", room[1]),
            _fit(_printable(row.customer_number), room[2]),
            _fit(_printable(row.customer_name or "\u2013"), room[3]),
            _fit(_printable(words.channels_short.get(row.channel, row.channel)), room[4]),
            txt.day(row.invoice_date, language),
            txt.day(row.due_date, language),
            txt.count(row.lines, language),
            txt.money(row.net, language),
            txt.money(row.vat, language),
            txt.money(row.gross, language),
        ]
        for n, row in enumerate(rows, start=1)
    ]


def _list_total(rows: Sequence[SummaryRow], language: Language, words: txt.Words) -> list[str]:
    """The list's own sums (they must agree with the totals per VAT rate above)."""
    net = sum((r.net for r in rows), Decimal(0))
    vat = sum((r.vat for r in rows), Decimal(0))
    gross = sum((r.gross for r in rows), Decimal(0))
    lines = sum(r.lines for r in rows)
    label = f"{words.total} ({txt.count(len(rows), language)})"
    return [
        label,
        "",
        "",
        "",
        "",
        "",
        "",
        txt.count(lines, language),
        *(txt.money(x, language) for x in (net, vat, gross)),
    ]


_CHAR_WIDTHS: dict[str, float] = {}


def _width(text: str) -> float:
    """Width of ``text`` in the list font, from a per-character table (the standard fonts
    have no kerning, so the sum is exact): measuring each of a big run's ~400,000 fitted
    and right-aligned cells with ``stringWidth`` was a visible share of the time."""
    total = 0.0
    for ch in text:
        w = _CHAR_WIDTHS.get(ch)
        if w is None:
            w = _CHAR_WIDTHS[ch] = stringWidth(ch, FONT, ROW_FONT_SIZE)
        total += w
    return total


class _InvoiceList(Flowable):  # type: ignore[misc, unused-ignore]
    """The invoice rows as one flowable that splits into one-page tables.

    ``split`` takes exactly as many rows as fit under a repeated header row and returns a
    :class:`_ListPage` of them plus an ``_InvoiceList`` of the rest, so each row is
    formatted once and sliced once (a single big ``Table`` re-copies all remaining rows
    on every page)."""

    def __init__(self, cells: list[list[str]], total: list[str], words: txt.Words, start: int = 0) -> None:
        super().__init__()
        self._cells = cells
        self._total = total
        self._words = words
        self._start = start

    def _remaining(self) -> int:
        return len(self._cells) - self._start

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = _LIST_WIDTH
        self.height = HEADER_HEIGHT + self._remaining() * ROW_HEIGHT + TOTAL_HEIGHT
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        fit = int((availHeight - HEADER_HEIGHT - 0.01) // ROW_HEIGHT)
        if fit < 2:  # not even a header and two rows: start on the next page
            return []
        if HEADER_HEIGHT + self._remaining() * ROW_HEIGHT + TOTAL_HEIGHT <= availHeight:
            return [self._page(self._remaining(), with_total=True)]
        if fit >= self._remaining():  # the rows fit but not the total line: carry one row over with it
            fit = self._remaining() - 1
        rest = _InvoiceList(self._cells, self._total, self._words, self._start + fit)
        return [self._page(fit, with_total=False), rest]

    def draw(self) -> None:
        page = self._page(self._remaining(), with_total=True)
        page.wrapOn(self.canv, self.width, self.height)
        page.drawOn(self.canv, 0, 0)

    def _page(self, n: int, *, with_total: bool) -> _ListPage:
        rows = self._cells[self._start : self._start + n]
        return _ListPage(_header(self._words), rows, self._total if with_total else None)


def _header(words: txt.Words) -> list[str]:
    names = [getattr(words, key) for key, _, _ in _COLUMNS]
    names[8:11] = [f"{words.net} (\u20ac)", f"{words.vat} (\u20ac)", f"{words.gross} (\u20ac)"]
    return names


class _ListPage(Flowable):  # type: ignore[misc, unused-ignore]
    """One page of the invoice list: header row, shaded alternate rows, optional total
    line. Drawn straight onto the canvas in one text object: a platypus ``Table`` would
    lay out and draw each of the ~450 cells of a page one by one, which made a 50,000-row
    run take twice as long for the same look."""

    def __init__(self, header: list[str], rows: list[list[str]], total: list[str] | None) -> None:
        super().__init__()
        self._header_cells = header
        self._rows = rows
        self._total = total

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = _LIST_WIDTH
        self.height = HEADER_HEIGHT + len(self._rows) * ROW_HEIGHT + (TOTAL_HEIGHT if self._total else 0)
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        top = self.height
        body_top = top - HEADER_HEIGHT
        bottom = body_top - len(self._rows) * ROW_HEIGHT
        c.saveState()
        c.setFillColor(HEAD_BG)
        c.rect(0, body_top, self.width, HEADER_HEIGHT, stroke=0, fill=1)
        if len(self._rows) > 1:
            shade = c.beginPath()
            for i in range(1, len(self._rows), 2):
                shade.rect(0, body_top - (i + 1) * ROW_HEIGHT, self.width, ROW_HEIGHT)
            c.setFillColor(ZEBRA)
            c.drawPath(shade, stroke=0, fill=1)
        c.setStrokeColor(INK)
        c.setLineWidth(0.6)
        c.line(0, body_top, self.width, body_top)
        c.line(0, bottom, self.width, bottom)
        text = c.beginText()
        text.setFillColor(INK)
        text.setFont(BOLD, ROW_FONT_SIZE)
        _cells_out(text, self._header_cells, body_top + 4.5, bold=True)
        text.setFont(FONT, ROW_FONT_SIZE)
        y = body_top - ROW_HEIGHT + 3.2
        for row in self._rows:
            _cells_out(text, row, y, bold=False)
            y -= ROW_HEIGHT
        if self._total is not None:
            text.setFont(BOLD, ROW_FONT_SIZE)
            _cells_out(text, self._total, bottom - TOTAL_HEIGHT + 4.2, bold=True, label=True)
        c.drawText(text)
        if self._total is not None:
            c.line(0, 0, self.width, 0)
        c.restoreState()


def _cells_out(text: Any, cells: list[str], y: float, *, bold: bool, label: bool = False) -> None:
    """One row's cells at baseline ``y``; ``label``: the first cell is a left-aligned
    label running over the empty cells after it (the total line)."""
    for i, ((x, width, right), cell) in enumerate(zip(_COLUMN_X, cells, strict=True)):
        if not cell:
            continue
        if right and not (label and i == 0):
            w = stringWidth(cell, BOLD, ROW_FONT_SIZE) if bold else _width(cell)
            text.setTextOrigin(x + width - _PAD - w, y)
        else:
            text.setTextOrigin(x + _PAD, y)
        text.textOut(cell)


# --- page furniture ----------------------------------------------------------------------


class _PageText:
    """Running header and footer, drawn once the page count is known."""

    def __init__(self, words: txt.Words, run: BillingRunFinished, language: Language, generated_at: datetime) -> None:
        self._left_head = _printable(f"{words.title} \u00b7 {words.kinds.get(run.kind, run.kind)}")
        self._right_head = _printable(f"{words.run_id} {run.run_id} \u00b7 {words.mode_names[run.mode].upper()}")
        self._left_foot = f"{words.generated} {txt.moment(generated_at, language)}"
        self._page = words.page
        self._mode_ink = BANNER_COLOURS[run.mode][1]
        self._watermark = words.watermark[run.mode]

    def draw(self, canvas: Canvas, page: int, pages: int) -> None:
        top = PAGE[1] - 11 * mm
        right = PAGE[0] - MARGIN_X
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN_X, top, self._left_head)
        canvas.setFont(BOLD, 8)
        canvas.setFillColor(self._mode_ink)
        canvas.drawRightString(right, top, self._right_head)
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN_X, top - 3, right, top - 3)
        canvas.line(MARGIN_X, 11 * mm, right, 11 * mm)
        canvas.setFont(FONT, 8)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN_X, 7.5 * mm, self._left_foot)
        canvas.setFont(BOLD, 8)
        canvas.setFillColor(INK)
        canvas.drawRightString(right, 7.5 * mm, self._page.format(page=page, pages=pages))
        canvas.restoreState()
        _draw_watermark(canvas, self._watermark)


def _draw_watermark(canvas: Canvas, text: str) -> None:
    """A large diagonal word over the page, translucent so the figures under it stay
    readable (drawn last: a background mark would vanish under the list's shaded rows)."""
    if not text:
        return
    canvas.saveState()
    canvas.setFillColor(colors.HexColor("#D9822B"))
    canvas.setFillAlpha(0.16)
    canvas.translate(PAGE[0] / 2, PAGE[1] / 2)
    canvas.rotate(28)
    size = 110.0
    while stringWidth(text, BOLD, size) > PAGE[0] * 0.85:
        size -= 5
    canvas.setFont(BOLD, size)
    canvas.drawCentredString(0, -size / 3, text)
    canvas.restoreState()


def _numbered_canvas(decorate: Callable[[Canvas, int, int], None]) -> type[Canvas]:
    """A canvas that holds the pages back until the end, so each can say "3 of 12"."""

    class NumberedCanvas(Canvas):  # type: ignore[misc, unused-ignore]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # reportlab internals, not in the stubs

        def save(self) -> None:
            pages = len(self._held)
            for state in self._held:
                self.__dict__.update(state)
                decorate(self, self._pageNumber, pages)  # type: ignore[attr-defined]
                super().showPage()
            super().save()

    return NumberedCanvas


# --- text helpers ------------------------------------------------------------------------


def _printable(text: str) -> str:
    """Text the standard fonts can show: Windows-1252 characters as they are, others
    folded to their base letters (``Ł`` -> ``L``, ``ő`` -> ``o``), the rest as ``?``."""
    try:
        text.encode("cp1252")
        return text
    except UnicodeEncodeError:
        pass
    out: list[str] = []
    for ch in text:
        try:
            ch.encode("cp1252")
            out.append(ch)
            continue
        except UnicodeEncodeError:
            pass
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        try:
            base.encode("cp1252")
            out.append(base or "?")
        except UnicodeEncodeError:
            out.append(_FOLD.get(ch, "?"))
    return "".join(out)


_FOLD = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "ß": "ss"}


def _fit(text: str, width: float) -> str:
    """``text`` shortened with "…" to fit ``width`` points in the list's font."""
    if _width(text) <= width:
        return text
    room = width - _width("\u2026")
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits
        mid = (lo + hi + 1) // 2
        if _width(text[:mid]) <= room:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "\u2026"
