"""Corrective invoices (seed 004), the use cases around
:mod:`services.invoicing.domain.corrective`.

1. ``create``: from a confirmed invoice, a corrective draft listing every line of the
   invoice as it stands, at quantity 0 with its original quantity beside it (seed 004);
   its totals are the full credit (one open corrective draft per invoice at a time).
2. The clerk sets the new quantities on the draft (``drafts.edit``: less or more than
   the original, 0 = reverse the line), removes the lines that need no correction
   (``remove_line``), and has chosen what happens to what was taken off: ``ready``
   (billed again in a later run, as a new billing request) or ``non-chargeable``.
3. ``confirm``: the reversal and re-billed lines replace the draft's, the number comes
   from the corrective series, the document is published with the original's number
   and date. A negative total is a ``credit-note``: the original's open amount drops by
   it. Zero or more is a ``corrective`` invoice of its own: the customer pays the
   difference on its reference by the original's payment terms; the original's open
   amount is unchanged. The quantities taken off become requests.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, insert

from services.invoicing.config import Settings
from services.invoicing.documents import document, seller
from services.invoicing.domain.billing import Line, Totals, VatTotal, line_net, vat_breakdown
from services.invoicing.domain.corrective import Correction, CorrectionRefused, correct, current_lines, draft_lines
from services.invoicing.domain.numbering import series_for
from services.invoicing.handlers import balances
from services.invoicing.handlers.errors import Conflict, Invalid, NotFound, invoice_not_found
from services.invoicing.handlers.issuing import emit, numbers
from services.invoicing.handlers.numbering import CORRECTIVE, ensure_numbering
from services.invoicing.store.invoices import NewInvoice, StoredInvoice, line_row
from services.invoicing.store.request_intake import NewRequest
from services.invoicing.tables import invoice_lines
from services.invoicing.uow import InvoicingUnitOfWork
from shared.money import ZERO, Money

RETURN_MODES = ("ready", "non-chargeable")
_MONEY: TypeAdapter[Decimal] = TypeAdapter(Money)


def _within_limits(correction: Correction) -> None:
    """Every amount of the corrective invoice fits the issued document's contract
    (``shared.money.Money``), so a quantity raised too far is refused at the edit, not
    by the event at confirmation."""
    amounts = [line.net for line in correction.lines]
    amounts += [x for row in correction.vat_breakdown for x in (row.net, row.vat, row.gross)]
    amounts += [correction.totals.net, correction.totals.vat, correction.totals.gross]
    try:
        for amount in amounts:
            _MONEY.validate_python(amount)
    except ValidationError:
        raise Invalid(
            "amount-out-of-range",
            "Korjauksen summa on liian suuri laskulle: pienennä määrää.",
            "The correction's amount is too large for an invoice: lower the quantity.",
        ) from None


def _difference(current: list[Line], draft_lines_now: list[Line]) -> tuple[tuple[VatTotal, ...], Totals]:
    """The draft's VAT rows and totals: the correction its lines make (zero while none
    differs from the original)."""
    try:
        correction = correct(current, {line.line_no: line.quantity for line in draft_lines_now})
    except CorrectionRefused as refused:
        if refused.code != "nothing-to-correct":
            raise Invalid(refused.code, refused.message_fi, refused.message_en) from None
        return (), Totals(ZERO, ZERO, ZERO)
    _within_limits(correction)
    return correction.vat_breakdown, correction.totals


async def _current(uow: InvoicingUnitOfWork, original: StoredInvoice) -> list[Line]:
    return current_lines(original.lines, await uow.invoices.confirmed_corrections(original.id))


async def create(uow: InvoicingUnitOfWork, original_id: int, *, return_mode: str, actor: str) -> StoredInvoice:
    async with uow:
        await ensure_numbering(uow, CORRECTIVE)  # its id could be one the log already holds
        original = await uow.invoices.get(original_id, lock=True)
        if original is None:
            raise invoice_not_found(original_id)
        if original.status != "confirmed" or original.document_type != "invoice":
            raise Conflict(
                "not-correctable",
                "Hyvityslaskun voi tehdä vain vahvistetusta laskusta.",
                "Only a confirmed invoice can be corrected.",
            )
        if await uow.invoices.open_corrective_draft(original_id) is not None:
            raise Conflict(
                "corrective-draft-exists",
                "Laskulla on jo keskeneräinen hyvityslasku: vahvista tai poista se ensin.",
                "The invoice already has a corrective draft: confirm or delete it first.",
            )
        current = await _current(uow, original)
        if not current:
            raise Conflict(
                "fully-credited",
                "Lasku on jo kokonaan hyvitetty.",
                "The invoice has already been fully credited.",
            )
        lines = draft_lines(current)
        rows, totals = _difference(current, lines)
        [draft_id] = await uow.invoices.add(
            [
                NewInvoice(
                    status="draft",
                    document_type="corrective",
                    kind=original.kind,
                    series=series_for(original.kind, corrective=True),
                    customer_number=original.customer_number,
                    invoice_date=datetime.now().date(),
                    due_date=datetime.now().date(),
                    payment_terms_days=0,
                    totals=totals,
                    vat_breakdown=tuple(rows),
                    lines=tuple(lines),
                    created_by=actor,
                    customer=original.customer,
                    original_invoice_id=original.id,
                    return_mode=return_mode,
                )
            ]
        )
        await uow.commit()
    async with uow:
        draft = await uow.invoices.get(draft_id)
    assert draft is not None
    return draft


async def set_quantity(uow: InvoicingUnitOfWork, draft: StoredInvoice, line_no: int, quantity: Decimal | None) -> None:
    """The clerk's new quantity for one line of a corrective draft (within the session
    of ``drafts.edit``); the draft's totals become the correction's difference."""
    if quantity is None:
        return
    if not any(line.line_no == line_no for line in draft.lines):
        raise Invalid("unknown-line", f"Luonnoksella ei ole riviä {line_no}.", f"The draft has no line {line_no}.")
    original = await uow.invoices.get(draft.original_invoice_id or 0)
    assert original is not None
    lines = [
        replace(line, quantity=quantity, net=line_net(quantity, line.unit_price)) if line.line_no == line_no else line
        for line in draft.lines
    ]
    rows, totals = _difference(await _current(uow, original), lines)
    await uow.invoices.replace_lines(draft.id, lines, totals, rows)


async def remove_line(uow: InvoicingUnitOfWork, draft: StoredInvoice, line_no: int) -> None:
    """Seed 004: "If any transactions don't require correction, you can remove them from
    the draft corrective invoice": that line of the original stays as billed."""
    if not any(line.line_no == line_no for line in draft.lines):
        raise NotFound("line-not-found", f"Luonnoksella ei ole riviä {line_no}.", f"The draft has no line {line_no}.")
    if len(draft.lines) == 1:
        raise Conflict(
            "last-line",
            "Viimeistä riviä ei voi poistaa: jos mitään ei korjata, poista koko luonnos.",
            "The last line cannot be removed: if nothing is to be corrected, delete the draft.",
        )
    original = await uow.invoices.get(draft.original_invoice_id or 0)
    assert original is not None
    await uow.invoices.delete_line(draft.id, line_no)
    rows, totals = _difference(await _current(uow, original), [x for x in draft.lines if x.line_no != line_no])
    await uow.invoices.replace_lines(draft.id, [], totals, rows)


async def confirm(
    uow: InvoicingUnitOfWork, draft: StoredInvoice, *, actor: str, settings: Settings, now: datetime
) -> StoredInvoice:
    """Issue a corrective draft (in the caller's transaction; the draft is locked)."""
    original = await uow.invoices.get(draft.original_invoice_id or 0, lock=True)
    assert original is not None and original.number is not None
    current = await _current(uow, original)
    try:
        correction = correct(current, {line.line_no: line.quantity for line in draft.lines})
        _within_limits(correction)
    except CorrectionRefused as refused:
        raise Conflict(refused.code, refused.message_fi, refused.message_en) from None
    except Invalid as refused:
        raise Conflict(refused.code, refused.message_fi, refused.message_en) from None
    [n] = await numbers(uow, draft.series, 1)
    credit_note = correction.totals.gross < 0
    # a credit note is settled against the original; a corrective invoice of zero or
    # more is paid on its own reference, by the original's payment terms
    terms = 0 if credit_note else original.payment_terms_days
    await uow.session.execute(delete(invoice_lines).where(invoice_lines.c.invoice_id == draft.id))
    await uow.session.execute(insert(invoice_lines), [line_row(draft.id, True, line) for line in correction.lines])
    rows, totals = vat_breakdown(correction.lines)
    await uow.invoices.replace_lines(draft.id, [], totals, rows)
    await uow.invoices.confirm(
        draft.id,
        {
            "number": n.number,
            "reference": n.reference,
            "reference_rf": n.reference_rf,
            "document_type": "credit-note" if credit_note else "corrective",
            "confirmed_by": actor,
            "invoice_date": now.date(),
            "payment_terms_days": terms,
            "due_date": now.date() + timedelta(days=terms),
        },
    )
    issued = await uow.invoices.get(draft.id)
    assert issued is not None
    emit(
        uow,
        document(
            issued,
            seller(settings),
            original_number=original.number,
            original_date=original.invoice_date,
            issued_at=now,
        ),
    )
    if credit_note:
        await balances.credit(uow, original, totals.gross, on=now.date())
    elif totals.gross == ZERO:  # nothing to pay on it: settled as it is issued
        await uow.invoices.set_balance(issued.id, paid=ZERO, credited=ZERO, status="paid", settled_on=now.date())
    await _return(uow, original, issued, [(r.line, r.quantity) for r in correction.returned], draft.return_mode)
    return issued


async def _return(
    uow: InvoicingUnitOfWork,
    original: StoredInvoice,
    corrective: StoredInvoice,
    returned: list[tuple[Line, Decimal]],
    mode: str | None,
) -> None:
    """What the correction took off, as new requests: ready, or non-chargeable."""
    by_request: dict[str, list[tuple[Line, Decimal]]] = defaultdict(list)
    for line, quantity in returned:
        if line.request_id is not None:
            by_request[line.request_id].append((line, quantity))
    rows = []
    for request_id, items in by_request.items():
        lines: list[dict[str, Any]] = [
            {
                "product_code": line.product_code,
                "description": line.description,
                "quantity": str(quantity),
                "unit": line.unit,
                "unit_price": str(line.unit_price),
                "vat_rate": str(line.vat_rate),
                "vat_category": None,
                "service_period": {
                    "start": line.service_period.start.isoformat(),
                    "end": line.service_period.end.isoformat(),
                }
                if line.service_period
                else None,
            }
            for line, quantity in items
        ]
        first = items[0][0]
        rows.append(
            NewRequest(
                request_id=f"{request_id}.c{corrective.number}",
                kind=original.kind,
                customer_number=original.customer_number,
                order_id=first.order_id or request_id,
                invoice_date=corrective.invoice_date,
                payment_terms_days=original.payment_terms_days,
                lines=lines,
                net=sum((Decimal(x["quantity"]) * Decimal(x["unit_price"]) for x in lines), ZERO).quantize(
                    Decimal("0.01")
                ),
                content_hash=f"corrective:{corrective.id}",
                source="invoicing/corrective",
                status="open" if mode != "non-chargeable" else "non-chargeable",
                origin="corrective",
            )
        )
    await uow.requests.insert(rows)
