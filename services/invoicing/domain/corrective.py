"""Corrective invoices (seed 004, "Correct a confirmed invoice"): reverse a confirmed
invoice fully or partly, or bill more of it.

The draft (:func:`draft_lines`) "includes all the transactions from the original
invoice, and all the quantities on it are 0": every line of invoice *I* as it now
stands (its original quantity adjusted by earlier confirmed corrective invoices), at
quantity 0, with that quantity beside it as ``original_quantity``. The quantity on a
draft line is the **new** quantity, what *I* should bill for that line: 0 (the default)
reverses the line fully, less than the original reverses part of it, more than the
original bills the difference. A line that needs no correction is removed from the
draft: a line not given to :func:`correct` keeps its quantity.

The corrective invoice lists, for every corrected line, a reversal line with the
original quantity negated, followed by the line at the new quantity when that is above
zero. Its totals are therefore the difference between what *I* billed and what it
should have billed; VAT is computed per rate on the corrective invoice's own lines by
the same rule as any invoice. A negative total makes it a credit note; zero or more, a
corrective invoice the customer pays on its own reference.

What the clerk took off (original - new, where new is lower) goes back: as a new
*ready* billing request (billed again in a later run), or recorded as
*non-chargeable*, the clerk's choice. Nothing goes back for a line raised.

Worked examples: 8 hours at 50.00 billed, corrected to 6 -> reversal -8 x 50.00 =
-400.00, new line 6 x 50.00 = 300.00, total net -100.00, 2 hours return. Corrected to
10 -> reversal -400.00, new line 10 x 50.00 = 500.00, total net +100.00 billed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from services.invoicing.domain.billing import Line, Totals, VatTotal, line_net, vat_breakdown


class CorrectionRefused(ValueError):
    """The requested correction is not one this system makes (code + fi/en text)."""

    def __init__(self, code: str, message_fi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_fi = message_fi
        self.message_en = message_en


@dataclass(frozen=True)
class Returned:
    """Quantity taken off one original line, to bill again or to drop."""

    line: Line
    quantity: Decimal


@dataclass(frozen=True)
class Correction:
    lines: tuple[Line, ...]
    vat_breakdown: tuple[VatTotal, ...]
    totals: Totals
    returned: tuple[Returned, ...]


def current_lines(original: Sequence[Line], corrections: Sequence[Sequence[Line]]) -> list[Line]:
    """The original invoice's chargeable lines at their current quantities: each
    confirmed corrective invoice's lines (reversals and re-billed lines) are netted per
    original line (matched by request id and line, else by product, price and rate)."""

    def key(line: Line) -> tuple[object, ...]:
        if line.request_id is not None:
            return ("request", line.request_id, line.request_line)
        return ("product", line.product_code, line.unit_price, line.vat_rate, line.description)

    quantity: dict[tuple[object, ...], Decimal] = {}
    for line in original:
        if line.chargeable:
            quantity[key(line)] = quantity.get(key(line), Decimal(0)) + line.quantity
    for lines in corrections:
        for line in lines:
            if key(line) in quantity:
                quantity[key(line)] += line.quantity
    out = []
    for line in original:
        if not line.chargeable:
            continue
        q = quantity.pop(key(line), None)
        if q is None or q <= 0:
            continue
        out.append(replace(line, quantity=q, net=line_net(q, line.unit_price)))
    return [replace(line, line_no=i) for i, line in enumerate(out, start=1)]


def draft_lines(current: Sequence[Line]) -> list[Line]:
    """A new corrective draft's lines: every line of ``current`` (from
    :func:`current_lines`) at quantity 0, its quantity now kept as ``original_quantity``."""
    return [
        replace(line, quantity=Decimal(0), net=line_net(Decimal(0), line.unit_price), original_quantity=line.quantity)
        for line in current
    ]


def correct(current: Sequence[Line], new_quantities: Mapping[int, Decimal]) -> Correction:
    """The corrective invoice for ``current`` (from :func:`current_lines`) with the new
    quantity of each line (by ``line_no``; a line not given keeps its quantity: it was
    removed from the draft). Any new quantity of 0 or more is taken."""
    by_no = {line.line_no: line for line in current}
    unknown = sorted(set(new_quantities) - set(by_no))
    if unknown:
        raise CorrectionRefused(
            "unknown-line", f"Laskulla ei ole riviä {unknown[0]}.", f"The invoice has no line {unknown[0]}."
        )
    reversal: list[Line] = []
    rebilled: list[Line] = []
    returned: list[Returned] = []
    for line in current:
        new = new_quantities.get(line.line_no, line.quantity)
        if new < 0:
            raise CorrectionRefused(
                "quantity-out-of-range",
                f"Rivin {line.line_no} uuden määrän on oltava 0 tai enemmän.",
                f"The new quantity of line {line.line_no} must be 0 or more.",
            )
        if new == line.quantity:
            continue
        plain_line = replace(line, original_quantity=None)
        reversal.append(replace(plain_line, quantity=-line.quantity, net=-line.net, reversal=True))
        if new > 0:
            rebilled.append(replace(plain_line, quantity=new, net=line_net(new, line.unit_price), reversal=False))
        if new < line.quantity:
            returned.append(Returned(plain_line, line.quantity - new))
    if not reversal:
        raise CorrectionRefused(
            "nothing-to-correct",
            "Mikään määrä ei muuttunut: hyvityslaskua ei tehdä.",
            "No quantity changed: there is nothing to correct.",
        )
    lines = [replace(line, line_no=i) for i, line in enumerate(reversal + rebilled, start=1)]
    breakdown, totals = vat_breakdown(lines)
    return Correction(tuple(lines), breakdown, totals, tuple(returned))
