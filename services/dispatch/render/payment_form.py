"""The Finnish bank transfer form (*tilisiirtolomake*, *girering*) at the foot of the
last page, after Finance Finland's standard form ("Tilisiirto-opas"):

- the bottom 101.6 mm of the A4 sheet, cut off along a dashed line;
- left half (0–111.4 mm): the payee's account (IBAN and BIC), the payee, the payer's
  name and address, signature and "from account" rows, each with its bilingual label
  in a 20 mm column at the left edge;
- right half: the biller's free area (invoice and customer number), then the reference
  number (*viitenumero*), the due date and the amount in euros;
- under the fields: the 54-digit virtual bar code (*virtuaaliviivakoodi*) as digits and
  as Code 128 (set C) bars 13 mm high, with 20 mm of white to its left; one module is
  0.254 mm (1/100 inch: whole dots on 300 and 600 dpi printers), so the 332 modules
  take 84.3 mm; and the standard's payment terms sentence in both languages.

The labels are the standard form's own Finnish and Swedish words whatever the
customer's language: banks and payers expect the form as it is.
"""

from __future__ import annotations

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from services.dispatch.render.glyphs import clip, fit_address, printable
from services.dispatch.render.sheet import Payment
from services.dispatch.render.texts import FORM, fmt_form_date
from shared.money import format_fi

HEIGHT = 101.6
"""Form height in mm, from the bottom edge of the sheet."""
TOP = 297 - HEIGHT
"""Form top in mm from the top of the sheet: page content must end above it."""

_LABEL_X = 3.5
_FIELD_X = 20.0
_MID_X = 111.4
_RIGHT_LABEL_W = 19.0
_BIC_X = 85.0
_EURO_X = 163.0
_EURO_VALUE_X = 174.0
_RIGHT_X = 206.0
# Row boundaries, mm from the form's top.
_R_ACCOUNT = 16.9
_R_PAYEE = _R_ACCOUNT + 12.7
_R_PAYER = _R_PAYEE + 25.4
_R_SIGNATURE = _R_PAYER + 8.5
_R_FROM = _R_SIGNATURE + 8.5
_BAR_MODULE = 0.254
_BAR_HEIGHT = 13.0
_BAR_X = 20.0
_BAR_TOP = _R_FROM + 9.0

_THIN = 0.5
_THICK = 1.2


def _y(from_form_top_mm: float) -> float:
    """PDF y (points from the sheet's bottom) of a distance from the form's top."""
    return (HEIGHT - from_form_top_mm) * mm


def _labels(c: Canvas, x_mm: float, top_mm: float, lines: tuple[str, ...], size: float = 6.0) -> None:
    c.setFont("Helvetica", size)
    y = top_mm + 2.6
    for line in lines:
        c.drawString(x_mm * mm, _y(y), line)
        y += size * 0.42


def _hline(c: Canvas, x0: float, x1: float, at: float) -> None:
    c.line(x0 * mm, _y(at), x1 * mm, _y(at))


def _vline(c: Canvas, x: float, top: float, bottom: float) -> None:
    c.line(x * mm, _y(top), x * mm, _y(bottom))


def _grid(c: Canvas) -> None:
    c.setLineWidth(0.4)
    c.setDash(3, 2)
    _hline(c, 0, 210, 0)  # cut line
    c.setDash()
    c.setLineWidth(_THIN)
    for at in (_R_ACCOUNT, _R_PAYEE, _R_SIGNATURE):
        _hline(c, 0, _MID_X, at)
    c.setLineWidth(_THICK)
    _hline(c, 0, 210, _R_PAYER)
    _hline(c, 0, 210, _R_FROM)
    _vline(c, _MID_X, 0, _R_FROM)
    _vline(c, _FIELD_X, 0, _R_FROM)
    c.setLineWidth(_THIN)
    _hline(c, _MID_X, 210, _R_SIGNATURE)
    _vline(c, _MID_X + _RIGHT_LABEL_W, _R_PAYER, _R_FROM)
    _vline(c, _EURO_X, _R_SIGNATURE, _R_FROM)
    _vline(c, _EURO_X + 10, _R_SIGNATURE, _R_FROM)
    _vline(c, _BIC_X, 0, _R_ACCOUNT)


def _all_labels(c: Canvas) -> None:
    _labels(c, _LABEL_X, 0, FORM["payee_account"])
    _labels(c, _LABEL_X, _R_ACCOUNT, FORM["payee"])
    _labels(c, _LABEL_X, _R_PAYEE, FORM["payer"])
    _labels(c, _LABEL_X, _R_PAYER, FORM["signature"])
    _labels(c, _LABEL_X, _R_SIGNATURE, FORM["from_account"])
    _labels(c, _MID_X + 1.5, _R_PAYER, FORM["reference"])
    _labels(c, _MID_X + 1.5, _R_SIGNATURE, FORM["due"])
    _labels(c, _EURO_X + 1.5, _R_SIGNATURE + 1.6, FORM["euro"])
    _labels(c, _FIELD_X + 1.5, 0, ("IBAN",))
    _labels(c, _BIC_X + 1.5, 0, ("BIC",))
    c.setFont("Helvetica-Bold", 7.5)
    fi, sv = FORM["title"]
    c.drawString((_MID_X + 3) * mm, _y(5.5), fi)
    c.drawString((_MID_X + 3) * mm + c.stringWidth(fi + "  ", "Helvetica-Bold", 7.5), _y(5.5), sv)
    c.setFont("Helvetica", 6)
    y = _R_FROM + 3.5
    for line in FORM["terms"]:
        c.drawString((_MID_X + 3) * mm, _y(y), line)
        y += 2.7


def _values(c: Canvas, payment: Payment) -> None:
    c.setFont("Helvetica", 10)
    c.drawString((_FIELD_X + 2) * mm, _y(10.5), payment.iban)
    c.drawString((_BIC_X + 3.5) * mm, _y(10.5), payment.bic)
    c.drawString((_FIELD_X + 2) * mm, _y(_R_ACCOUNT + 7.5), clip(payment.payee, _MID_X - _FIELD_X - 4, "Helvetica", 10))
    c.setFont("Helvetica", 9.5)
    y = _R_PAYEE + 5.5
    for line in fit_address(payment.payer, payment.payer_tail, 5, _MID_X - _FIELD_X - 4, font="Helvetica", size=9.5):
        c.drawString((_FIELD_X + 2) * mm, _y(y), line)
        y += 4.1
    c.setFont("Helvetica", 10)
    value_x = (_MID_X + _RIGHT_LABEL_W + 2) * mm
    c.drawString(value_x, _y(_R_PAYER + 6), payment.reference)
    c.drawString(value_x, _y(_R_SIGNATURE + 6), fmt_form_date(payment.due))
    c.setFont("Helvetica-Bold", 11)
    c.drawRightString((_RIGHT_X - 1) * mm, _y(_R_SIGNATURE + 6), format_fi(payment.amount))
    # The biller's free area: which invoice and customer the payment is for.
    y = 12.0
    for label, value in (
        (FORM["invoice_number"][0], payment.invoice_number),
        (FORM["customer_number"][0], payment.customer_number),
    ):
        c.setFont("Helvetica", 6.5)
        c.drawString((_MID_X + 3) * mm, _y(y), label)
        c.setFont("Helvetica", 9)
        c.drawString((_MID_X + 3) * mm, _y(y + 4), printable(value))
        y += 10


def _barcode(c: Canvas, code: str) -> None:
    c.setFont("Helvetica", 6)
    c.drawString(_BAR_X * mm, _y(_R_FROM + 3.5), FORM["barcode"][0])
    c.setFont("Helvetica", 8)
    c.drawString(_BAR_X * mm, _y(_R_FROM + 7.0), code)
    bars = Code128(code, barWidth=_BAR_MODULE * mm, barHeight=_BAR_HEIGHT * mm, quiet=0)
    bars.drawOn(c, _BAR_X * mm, _y(_BAR_TOP + _BAR_HEIGHT))


def draw(c: Canvas, payment: Payment) -> None:
    """Draw the form on the current page (its lower 101.6 mm must be free)."""
    c.saveState()
    _grid(c)
    _all_labels(c)
    _values(c, payment)
    if payment.barcode:
        _barcode(c, payment.barcode)
    c.restoreState()
