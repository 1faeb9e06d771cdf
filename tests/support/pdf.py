"""Reading rendered PDFs back in tests: text per page (pypdf) and the Code 128 bar code
decoded from the rectangles the page draws.

The decoder is independent of the renderer: it reads the bars' widths off the page's
content stream, turns them into module counts and looks the six-element patterns up in
the Code 128 table (ISO/IEC 15417; the table is reportlab's, spot-checked against the
standard in the tests), then checks the start code and the mod-103 check symbol itself.
"""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

MODULE_PT = 0.72
"""0.254 mm in points: the module width the bank transfer form uses."""
START_C = 105
STOP = 106
_RECT = re.compile(rb"([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+) re")


def reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def page_texts(pdf: bytes) -> list[str]:
    """Each page's extracted text, no-break spaces as plain spaces, lines stripped."""
    pages = [(page.extract_text() or "").replace("\u00a0", " ") for page in reader(pdf).pages]
    return ["\n".join(line.strip() for line in page.splitlines()) for page in pages]


def text(pdf: bytes) -> str:
    return "\n".join(page_texts(pdf))


def _widths(pattern: str) -> str:
    """reportlab's pattern letters (``BaBbBb``: bar/space, a=1 ... d=4) as digits (``212222``)."""
    return "".join(str(ord(ch.lower()) - ord("a") + 1) for ch in pattern)


def code128_table() -> dict[str, int]:
    from reportlab.graphics.barcode.code128 import _patterns

    return {_widths(p): value for value, p in _patterns.items()}


def bars(pdf: bytes, page: int = -1) -> list[tuple[float, float]]:
    """(x, width) of every filled rectangle on the page, left to right."""
    data = reader(pdf).pages[page].get_contents()
    raw = data.get_data() if data is not None else b""
    return sorted((float(x), float(w)) for x, _, w, _ in _RECT.findall(raw))


def decode_code128_c(pdf: bytes, page: int = -1) -> str:
    """The digits a Code 128 set C bar code on the page encodes (asserting start C, a
    correct check symbol and the stop pattern)."""
    rects = bars(pdf, page)
    assert rects, "no bar code on the page"
    elements: list[int] = []
    for i, (x, w) in enumerate(rects):
        elements.append(round(w / MODULE_PT))
        if i + 1 < len(rects):
            elements.append(round((rects[i + 1][0] - x - w) / MODULE_PT))
    table = code128_table()
    symbols = ["".join(map(str, elements[i : i + 6])) for i in range(0, len(elements) - 7, 6)]
    assert "".join(map(str, elements[-7:])) == "2331112", "no stop pattern"
    values = [table[s] for s in symbols]
    assert values[0] == START_C, "not started in code set C"
    *data, check = values[1:]
    assert check == (START_C + sum(v * i for i, v in enumerate(data, start=1))) % 103, "wrong check symbol"
    return "".join(f"{v:02d}" for v in data)
