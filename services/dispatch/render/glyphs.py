"""Text the PDF's built-in fonts can show.

The documents use the PDF standard fonts (Helvetica): nothing is embedded, so a page
renders about twice as fast and weighs a twentieth of one with an embedded TrueType
subset (measured on a 60-line page: 440 vs 150 pages/s, 2.6 vs 46 KB). Their encoding (WinAnsi, i.e.
cp1252) holds every letter of Finnish, Swedish, English and the Western European
languages, the euro sign and the no-break space. A name with a letter outside it
(``Łukasz``, ``Đorđe``) would print a black box; it is printed without its accent
instead (``Lukasz``, ``Dorde``), and a character with no Latin form becomes ``?``.
The e-mail body keeps the original text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

_NO_DECOMPOSITION = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "ı": "i",
        "Ŧ": "T",
        "ŧ": "t",
        "Ŋ": "N",
        "ŋ": "n",
        "ĸ": "k",
        "Ŀ": "L",
        "ŀ": "l",
        "\u2010": "-",
        "\u2011": "-",
        "\u2212": "-",
        "\u202f": "\u00a0",
        "\u2009": " ",
    }
)


def _encodable(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


@lru_cache(maxsize=4096)
def _fold(text: str) -> str:
    out: list[str] = []
    for char in text.translate(_NO_DECOMPOSITION):
        if _encodable(char):
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(base if base and _encodable(base) else "?")
    return "".join(out)


def printable(text: str) -> str:
    """``text`` as the standard fonts can print it (unchanged in the common case)."""
    if text.isascii() or _encodable(text):
        return text
    return _fold(text)


_WIDEST_GLYPH = 1.02
"""The widest advance of a Helvetica glyph (W, M, @ in bold) in ems: a text shorter
than its length times this fits without measuring it."""


def clip(text: str, width_mm: float, font: str, size: float) -> str:
    """``text`` cut with an ellipsis to fit ``width_mm``."""
    text = printable(text)
    limit = width_mm * mm
    if len(text) * size * _WIDEST_GLYPH <= limit or stringWidth(text, font, size) <= limit:
        return text
    while text and stringWidth(text + "…", font, size) > limit:
        text = text[:-1]
    return text.rstrip() + "…"


def fit_address(
    lines: Sequence[str], keep_last: int, max_lines: int, width_mm: float, *, font: str, size: float
) -> list[str]:
    """An address block that fits ``max_lines`` lines of ``width_mm``: every line clipped,
    and when there are too many, the street lines between the name and the last
    ``keep_last`` lines (postal code and city, country) joined on one line, so the
    lines the post sorts on are never lost."""
    out = list(lines)
    if len(out) > max_lines and len(out) > keep_last + 1:
        middle = out[1 : len(out) - keep_last]
        out = [out[0], ", ".join(middle), *out[len(out) - keep_last :]]
    return [clip(line, width_mm, font, size) for line in out[:max_lines]]
