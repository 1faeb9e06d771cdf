"""The document as an A4 PDF: what a customer gets by e-mail and the print house prints.

Layout (mm from the sheet's top-left corner):

- 12–40: the seller (name, address, Y-tunnus and VAT number, contact) at the left;
  the title, page number and the document's fields (number, dates, terms, reference)
  at the right, from x = 110;
- 45–85, x = 20–105: the recipient's address, placed for the window of a standard
  C5 / E65 window envelope (window 20 mm from the left edge, 45 mm from the top when
  the sheet is folded in three: SFS 2487 / DIN 5008 form B);
- from 95: the lines (description, quantity, unit, unit price, VAT %, net), the VAT
  breakdown per rate and the totals; a reminder's invoice, fee, interest and total;
- last page, bottom 101.6 mm: the bank transfer form (:mod:`.payment_form`) when
  there is something to pay.

Long documents continue on further pages with a short header and the table's headings
repeated; the VAT breakdown and totals are printed once, on the last page, above the
form. Pages are planned first (so every page can say "Sivu 1 (3)") and drawn second.

reportlab's canvas is used directly (no flowables): a one-page invoice takes about
2 ms. Output is deterministic (``invariant``): the same document gives the same bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from services.dispatch.render import payment_form
from services.dispatch.render.glyphs import clip, fit_address, printable
from services.dispatch.render.sheet import Doc, Row, Sheet, Table, TableKind, build_sheet
from services.dispatch.render.texts import T

# Compressed page streams stay binary: ASCII85 on top of zlib makes every PDF 16 %
# larger and costs 4 % of the time (measured), for 7-bit channels nobody uses.
rl_config.useA85 = 0

FONT = "Helvetica"
BOLD = "Helvetica-Bold"
PAGE_H = 297.0
LEFT = 20.0
RIGHT = 195.0
FIELDS_X = 110.0
FIELD_VALUE_X = 150.0
ADDRESS_TOP = 45.0
ADDRESS_W = 80.0
SELLER_W = 85.0
CELL_W = 26.0
"""The widest a number cell may print."""
UNIT_W = 13.0
"""The unit is free text (up to 16 characters): clipped to its column."""
ADDRESS_LINES = 7
FIRST_BODY_TOP = 95.0
NEXT_BODY_TOP = 32.0
BODY_BOTTOM = 280.0
FORM_GAP = 5.0
LINE = 4.3
NOTE_LINE = 3.4
TEXT_SIZE = 8.5
HEAD_H = 6.0
CLOSING_GAP = 4.0

# Column geometry per table: (x in mm, alignment), alignment "l" (text starts at x) or
# "r" (text ends at x). The first column of the lines table wraps at DESCRIPTION_W.
COLUMNS: dict[TableKind, tuple[tuple[float, str], ...]] = {
    "lines": ((LEFT, "l"), (122.0, "r"), (124.0, "l"), (152.0, "r"), (168.0, "r"), (RIGHT, "r")),
    "vat": ((124.0, "r"), (150.0, "r"), (172.0, "r"), (RIGHT, "r")),
    "reminder": ((LEFT, "l"), (52.0, "l"), (84.0, "l"), (152.0, "r"), (RIGHT, "r")),
}
DESCRIPTION_W = 92.0
VAT_TABLE_LEFT = 110.0
SUMMARY_LEFT = {"lines": VAT_TABLE_LEFT, "vat": VAT_TABLE_LEFT, "reminder": 84.0}
"""The totals' left edge: under the VAT breakdown on an invoice; wider on a reminder,
whose interest periods need the room."""
DETAIL_VALUE_X = 172.0


def _y(from_top_mm: float) -> float:
    return (PAGE_H - from_top_mm) * mm


def _text(c: Canvas, x_mm: float, top_mm: float, text: str, align: str = "l") -> None:
    if align == "r":
        c.drawRightString(x_mm * mm, _y(top_mm), printable(text))
    else:
        c.drawString(x_mm * mm, _y(top_mm), printable(text))


def _wrap(text: str, width_mm: float, size: float = TEXT_SIZE, font: str = FONT) -> list[str]:
    text = printable(text)
    if stringWidth(text, font, size) <= width_mm * mm:
        return [text]
    return simpleSplit(text, font, size, width_mm * mm) or [text]


# -- planning -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Page:
    rows: list[int] = field(default_factory=list)
    closing_at: float | None = None
    """Where the closing block (VAT breakdown, totals, notes) starts, on the last page."""


def _row_height(kind: TableKind, row: Row) -> float:
    lines = len(_wrap(row.cells[0], DESCRIPTION_W)) if kind == "lines" else 1
    return lines * LINE + (NOTE_LINE if row.note else 0.0) + 0.8


def _table_height(table: Table) -> float:
    return HEAD_H + sum(_row_height(table.kind, r) for r in table.rows)


def _closing_height(sheet: Sheet) -> float:
    height = 0.0
    if sheet.vat is not None:
        height += _table_height(sheet.vat) + CLOSING_GAP
    for amount in sheet.summary:
        height += NOTE_LINE if amount.detail else (LINE + 2.5 if amount.strong else LINE)
    for note in sheet.notes:
        height += 2.0 + LINE * len(_wrap(note, RIGHT - LEFT))
    return height


def _intro_lines(sheet: Sheet) -> list[str]:
    return _wrap(sheet.intro, RIGHT - LEFT, 9.5) if sheet.intro else []


def _first_table_top(sheet: Sheet) -> float:
    intro = _intro_lines(sheet)
    return FIRST_BODY_TOP + (len(intro) * 4.6 + 4.0 if intro else 0.0)


def _plan(sheet: Sheet) -> list[_Page]:
    pages = [_Page()]
    top = _first_table_top(sheet) + HEAD_H
    for i, row in enumerate(sheet.table.rows):
        height = _row_height(sheet.table.kind, row)
        if top + height > BODY_BOTTOM and pages[-1].rows:
            pages.append(_Page())
            top = NEXT_BODY_TOP + HEAD_H
        pages[-1].rows.append(i)
        top += height
    limit = payment_form.TOP - FORM_GAP if sheet.payment else BODY_BOTTOM
    if top + CLOSING_GAP + _closing_height(sheet) > limit:
        pages.append(_Page())
        top = NEXT_BODY_TOP
    pages[-1].closing_at = top + CLOSING_GAP
    return pages


# -- drawing --------------------------------------------------------------------------------


def _page_label(sheet: Sheet, number: int, count: int) -> str:
    return f"{T[sheet.lang]['page']} {number} ({count})"


def _first_header(c: Canvas, sheet: Sheet, count: int) -> None:
    c.setFont(BOLD, 11)
    c.drawString(LEFT * mm, _y(16), clip(sheet.seller[0], SELLER_W, BOLD, 11))
    c.setFont(FONT, 8)
    top = 20.5
    contact = [line for line in (sheet.seller_phone, sheet.seller_email) if line]
    for line in (*sheet.seller[1:], *sheet.seller_ids, *contact):
        c.drawString(LEFT * mm, _y(top), clip(line, SELLER_W, FONT, 8))
        top += 3.6

    c.setFont(BOLD, 14)
    _text(c, FIELDS_X, 17, sheet.title)
    c.setFont(FONT, 8)
    _text(c, RIGHT, 16, _page_label(sheet, 1, count), "r")
    top = 24.0
    for f in sheet.fields:
        c.setFont(FONT, 8)
        c.drawString(FIELDS_X * mm, _y(top), clip(f.label, FIELD_VALUE_X - FIELDS_X - 1, FONT, 8))
        font = BOLD if f.label in _EMPHASISED[sheet.lang] else FONT
        c.setFont(font, 9)
        c.drawString(FIELD_VALUE_X * mm, _y(top), clip(f.value, RIGHT - FIELD_VALUE_X, font, 9))
        top += 4.4

    c.setFont(FONT, 10)
    top = ADDRESS_TOP + 8.0
    for line in fit_address(sheet.recipient, sheet.recipient_tail, ADDRESS_LINES, ADDRESS_W, font=FONT, size=10):
        c.drawString((LEFT + 4) * mm, _y(top), line)
        top += 4.6


_EMPHASISED = {lang: {t["invoice_number"], t["due_date"], t["new_due_date"], t["reference"]} for lang, t in T.items()}


def _next_header(c: Canvas, sheet: Sheet, number: int, count: int) -> None:
    c.setFont(BOLD, 9)
    c.drawString(LEFT * mm, _y(16), clip(sheet.seller[0], SELLER_W, BOLD, 9))
    _text(c, FIELDS_X, 16, f"{sheet.title} {sheet.number}")
    c.setFont(FONT, 8)
    _text(c, RIGHT, 16, _page_label(sheet, number, count), "r")
    c.setLineWidth(0.4)
    c.line(LEFT * mm, _y(19), RIGHT * mm, _y(19))


def _table_head(c: Canvas, table: Table, top: float, left: float = LEFT) -> float:
    c.setFont(BOLD, 8)
    for (x, align), heading in zip(COLUMNS[table.kind], table.headings, strict=True):
        _text(c, x, top + 3.5, heading, align)
    c.setLineWidth(0.5)
    c.line(left * mm, _y(top + 5), RIGHT * mm, _y(top + 5))
    return top + HEAD_H


def _row(c: Canvas, kind: TableKind, row: Row, top: float) -> float:
    c.setFont(FONT, TEXT_SIZE)
    columns = COLUMNS[kind]
    first = _wrap(row.cells[0], DESCRIPTION_W) if kind == "lines" else [printable(row.cells[0])]
    line_top = top + 3.6
    for i, text in enumerate(first):
        c.drawString(columns[0][0] * mm, _y(line_top + i * LINE), text)
    for i, ((x, align), text) in enumerate(zip(columns[1:], row.cells[1:], strict=True), start=1):
        width = UNIT_W if (kind, i) == ("lines", 2) else CELL_W
        _text(c, x, line_top, clip(text, width, FONT, TEXT_SIZE), align)
    height = len(first) * LINE
    if row.note:
        c.setFont(FONT, 7)
        c.setFillGray(0.35)
        _text(c, columns[0][0], line_top + height - 0.8, row.note)
        c.setFillGray(0)
        height += NOTE_LINE
    return top + height + 0.8


def _closing(c: Canvas, sheet: Sheet, top: float) -> None:
    left = SUMMARY_LEFT[sheet.table.kind]
    if sheet.vat is not None:
        top = _table_head(c, sheet.vat, top, VAT_TABLE_LEFT)
        for row in sheet.vat.rows:
            top = _row(c, "vat", row, top)
        top += CLOSING_GAP
    for amount in sheet.summary:
        if amount.detail:
            c.setFont(FONT, 7)
            c.setFillGray(0.35)
            _text(c, left + 3, top + 2.8, amount.label)
            _text(c, DETAIL_VALUE_X, top + 2.8, amount.value, "r")
            c.setFillGray(0)
            top += NOTE_LINE
            continue
        if amount.strong:
            c.setLineWidth(0.8)
            c.line(left * mm, _y(top + 0.8), RIGHT * mm, _y(top + 0.8))
            c.setFont(BOLD, 10.5)
            _text(c, left, top + 5.3, amount.label)
            _text(c, RIGHT, top + 5.3, amount.value, "r")
            top += LINE + 2.5
            continue
        c.setFont(FONT, 9)
        _text(c, left, top + 3.6, amount.label)
        _text(c, RIGHT, top + 3.6, amount.value, "r")
        top += LINE
    c.setFont(FONT, TEXT_SIZE)
    for note in sheet.notes:
        top += 2.0
        for line in _wrap(note, RIGHT - LEFT):
            c.drawString(LEFT * mm, _y(top + 3.6), line)
            top += LINE


def _intro(c: Canvas, sheet: Sheet) -> None:
    c.setFont(FONT, 9.5)
    top = FIRST_BODY_TOP + 3.6
    for line in _intro_lines(sheet):
        c.drawString(LEFT * mm, _y(top), line)
        top += 4.6


def render_sheet(sheet: Sheet) -> bytes:
    pages = _plan(sheet)
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=A4, pageCompression=1, invariant=1)
    c.setTitle(printable(f"{sheet.name} {sheet.number}"))
    c.setAuthor(printable(sheet.seller[0]))
    c.setSubject(printable(sheet.name))
    c.setCreator("billing dispatch")
    count = len(pages)
    for number, page in enumerate(pages, start=1):
        if number == 1:
            _first_header(c, sheet, count)
            _intro(c, sheet)
            top = _first_table_top(sheet)
        else:
            _next_header(c, sheet, number, count)
            top = NEXT_BODY_TOP
        if page.rows:
            top = _table_head(c, sheet.table, top)
            for i in page.rows:
                top = _row(c, sheet.table.kind, sheet.table.rows[i], top)
        if page.closing_at is not None:
            _closing(c, sheet, page.closing_at)
            if sheet.payment is not None:
                payment_form.draw(c, sheet.payment)
        else:
            c.setFont(FONT, 8)
            _text(c, RIGHT, BODY_BOTTOM + 6, T[sheet.lang]["continued"], "r")
        c.showPage()
    c.save()
    return buffer.getvalue()


def render_pdf(doc: Doc) -> bytes:
    """The invoice, credit note or payment reminder as an A4 PDF in the customer's language."""
    return render_sheet(build_sheet(doc))
