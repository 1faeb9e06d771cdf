"""Billing rules: from ready billing requests to invoices (pure, no I/O).

Grouping (seed 004): one invoice per customer, kind and invoice date; one invoice line
per request line, in request order (the order the requests arrived) then line order.

Money (ARCHITECTURE §4, ``shared.money``):
- a line's net is ``quantity * unit_price`` rounded to the cent, half away from zero;
- VAT is computed once per invoice per rate, on the sum of that rate's line nets, and
  rounded the same way (so the VAT of an invoice never depends on how it was split
  into lines, and equals what the customer can recompute from the breakdown);
- gross = net + VAT per rate; the totals are the sums of the breakdown.

Payment terms: the requests of one invoice may carry different terms; the invoice takes
the longest, so no customer is asked to pay earlier than any of its orders promised.
Due date = invoice date + terms (calendar days; a due date on a weekend or holiday is
kept as it is: Finnish practice lets the payer pay on the next banking day).

Limits (``shared.limits``): an invoice whose line nets, VAT rows or totals pass
``MAX_INVOICE_AMOUNT``, or with more than ``MAX_DOCUMENT_LINES`` lines, cannot be issued
(:func:`limit_breach`): intake refuses a request that would make one on its own, and a
run leaves out a customer whose requests together would.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from shared.limits import MAX_DOCUMENT_LINES, MAX_INVOICE_AMOUNT
from shared.money import ZERO, cents, plain


@dataclass(frozen=True)
class Period:
    start: date
    end: date


@dataclass(frozen=True)
class RequestLine:
    product_code: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    vat_rate: Decimal
    service_period: Period | None = None


@dataclass(frozen=True)
class Request:
    """An open billing request, as the billing run sees it."""

    request_id: str
    kind: str
    customer_number: str
    order_id: str
    invoice_date: date
    payment_terms_days: int
    lines: tuple[RequestLine, ...]


@dataclass(frozen=True)
class Line:
    """A line of an invoice (draft or issued)."""

    line_no: int
    product_code: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    vat_rate: Decimal
    net: Decimal
    request_id: str | None = None
    request_line: int | None = None
    order_id: str | None = None
    service_period: Period | None = None
    chargeable: bool = True
    reversal: bool = False
    """A corrective invoice's negated copy of an original line."""
    original_quantity: Decimal | None = None
    """On a corrective draft's line: the quantity the corrected invoice bills now (seed
    004: "you can see the original invoice quantity"); ``quantity`` is the new one."""


@dataclass(frozen=True)
class VatTotal:
    rate: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal


@dataclass(frozen=True)
class Totals:
    net: Decimal
    vat: Decimal
    gross: Decimal


ZERO_TOTALS = Totals(ZERO, ZERO, ZERO)


@dataclass(frozen=True)
class Invoice:
    """What a run creates for one customer, kind and invoice date (no number yet)."""

    customer_number: str
    kind: str
    invoice_date: date
    payment_terms_days: int
    due_date: date
    lines: tuple[Line, ...]
    vat_breakdown: tuple[VatTotal, ...]
    totals: Totals
    request_ids: tuple[str, ...] = field(default=())


def line_net(quantity: Decimal, unit_price: Decimal) -> Decimal:
    return cents(quantity * unit_price)


def vat_breakdown(lines: Iterable[Line]) -> tuple[tuple[VatTotal, ...], Totals]:
    """VAT per rate over the chargeable lines (rates in ascending order) and the totals."""
    per_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        if line.chargeable:
            per_rate[plain(line.vat_rate)] += line.net
    rows = []
    for rate in sorted(per_rate):
        net = cents(per_rate[rate])
        vat = cents(net * rate / 100)
        rows.append(VatTotal(rate=rate, net=net, vat=vat, gross=net + vat))
    totals = Totals(
        net=sum((r.net for r in rows), ZERO),
        vat=sum((r.vat for r in rows), ZERO),
        gross=sum((r.gross for r in rows), ZERO),
    )
    return tuple(rows), totals


def due_date(invoice_date: date, terms_days: int) -> date:
    return invoice_date + timedelta(days=terms_days)


GroupKey = tuple[str, str, date]


def group(requests: Iterable[Request]) -> dict[GroupKey, list[Request]]:
    """Requests by (customer, kind, invoice date), each group in the given order."""
    groups: dict[GroupKey, list[Request]] = {}
    for request in requests:
        groups.setdefault((request.customer_number, request.kind, request.invoice_date), []).append(request)
    return groups


def build_invoice(requests: Sequence[Request]) -> Invoice:
    """The invoice of one group (all requests share customer, kind and invoice date)."""
    if not requests:
        raise ValueError("an invoice needs at least one request")
    first = requests[0]
    key = (first.customer_number, first.kind, first.invoice_date)
    lines: list[Line] = []
    for request in requests:
        if (request.customer_number, request.kind, request.invoice_date) != key:
            raise ValueError("requests of one invoice share customer, kind and invoice date")
        for index, rl in enumerate(request.lines):
            lines.append(
                Line(
                    line_no=len(lines) + 1,
                    product_code=rl.product_code,
                    description=rl.description,
                    quantity=rl.quantity,
                    unit=rl.unit,
                    unit_price=rl.unit_price,
                    vat_rate=rl.vat_rate,
                    net=line_net(rl.quantity, rl.unit_price),
                    request_id=request.request_id,
                    request_line=index,
                    order_id=request.order_id,
                    service_period=rl.service_period,
                )
            )
    terms = max(r.payment_terms_days for r in requests)
    breakdown, totals = vat_breakdown(lines)
    return Invoice(
        customer_number=first.customer_number,
        kind=first.kind,
        invoice_date=first.invoice_date,
        payment_terms_days=terms,
        due_date=due_date(first.invoice_date, terms),
        lines=tuple(lines),
        vat_breakdown=breakdown,
        totals=totals,
        request_ids=tuple(r.request_id for r in requests),
    )


def build_invoices(requests: Iterable[Request]) -> list[Invoice]:
    return [build_invoice(g) for g in group(requests).values()]


def edit_line(lines: Sequence[Line], line_no: int, *, quantity: Decimal | None, chargeable: bool | None) -> list[Line]:
    """A draft's lines after the clerk changed one line's quantity or chargeability."""
    out = []
    found = False
    for line in lines:
        if line.line_no != line_no:
            out.append(line)
            continue
        found = True
        new_quantity = line.quantity if quantity is None else quantity
        out.append(
            replace(
                line,
                quantity=new_quantity,
                net=line_net(new_quantity, line.unit_price),
                chargeable=line.chargeable if chargeable is None else chargeable,
            )
        )
    if not found:
        raise KeyError(line_no)
    return out


def limit_breach(lines: Sequence[Line], breakdown: Sequence[VatTotal], totals: Totals) -> str | None:
    """Why an invoice with these lines cannot be issued (``"amount"``: an amount over
    ``MAX_INVOICE_AMOUNT``; ``"lines"``: more than ``MAX_DOCUMENT_LINES`` lines), or None."""
    if len(lines) > MAX_DOCUMENT_LINES:
        return "lines"
    amounts = [line.net for line in lines]
    amounts += [x for row in breakdown for x in (row.net, row.vat, row.gross)]
    amounts += [totals.net, totals.vat, totals.gross]
    if any(abs(a) > MAX_INVOICE_AMOUNT for a in amounts):
        return "amount"
    return None


def invoice_breach(invoice: Invoice) -> str | None:
    """:func:`limit_breach` of a proposed invoice."""
    return limit_breach(invoice.lines, invoice.vat_breakdown, invoice.totals)
