"""Corrective invoices (seed 004): reverse a confirmed invoice fully or partly.

A corrective invoice of invoice *I* lists, for every line of *I* as it now stands
(its original quantity adjusted by earlier confirmed corrective invoices), a reversal
line with the quantity negated, followed by the line at the clerk's new quantity when
that is above zero. Its totals are therefore the difference between what *I* billed
and what it should have billed; VAT is computed per rate on the corrective invoice's
own lines by the same rule as any invoice. With new quantities only at or below the
current ones, the total is zero or negative: a negative one is a credit note.

What the clerk took off (current - new) goes back: as a new *ready* billing request
(billed again in a later run), or recorded as *non-chargeable*, the clerk's choice.

Worked example (the issue's): 8 hours at 50.00 billed, corrected to 6 -> reversal
-8 x 50.00 = -400.00, new line 6 x 50.00 = 300.00, total net -100.00, 2 hours return.
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


def correct(current: Sequence[Line], new_quantities: Mapping[int, Decimal]) -> Correction:
    """The corrective invoice for ``current`` (from :func:`current_lines`) with the new
    quantity of each line (by ``line_no``; a line not given keeps its quantity)."""
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
        if new < 0 or new > line.quantity:
            raise CorrectionRefused(
                "quantity-out-of-range",
                f"Rivin {line.line_no} uusi määrä on oltava 0–{line.quantity}.",
                f"The new quantity of line {line.line_no} must be 0 to {line.quantity}.",
            )
        if new == line.quantity:
            continue
        reversal.append(replace(line, quantity=-line.quantity, net=-line.net, reversal=True))
        if new > 0:
            rebilled.append(replace(line, quantity=new, net=line_net(new, line.unit_price), reversal=False))
        returned.append(Returned(line, line.quantity - new))
    if not reversal:
        raise CorrectionRefused(
            "nothing-to-correct",
            "Mikään määrä ei muuttunut: hyvityslaskua ei tehdä.",
            "No quantity changed: there is nothing to correct.",
        )
    lines = [replace(line, line_no=i) for i, line in enumerate(reversal + rebilled, start=1)]
    breakdown, totals = vat_breakdown(lines)
    return Correction(tuple(lines), breakdown, totals, tuple(returned))
