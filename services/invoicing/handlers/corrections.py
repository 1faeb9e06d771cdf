"""Corrective invoices (seed 004), the use cases around
:mod:`services.invoicing.domain.corrective`.

1. ``create``: from a confirmed invoice, a corrective draft listing the invoice's lines
   at their current quantities (one open corrective draft per invoice at a time).
2. The clerk sets new quantities on the draft (``drafts.edit``; 0 = full credit) and
   chooses what happens to what was taken off: ``ready`` (billed again in a later run,
   as a new billing request) or ``non-chargeable``.
3. ``confirm``: the reversal and re-billed lines replace the draft's, the number comes
   from the corrective series, the document (``corrective`` or ``credit-note`` when
   negative) is published with the original's number, the original's open amount drops
   by the credit, and the returned quantities become requests.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert

from services.invoicing.config import Settings
from services.invoicing.documents import document, seller
from services.invoicing.domain.billing import Line, Totals, line_net, vat_breakdown
from services.invoicing.domain.corrective import CorrectionRefused, correct, current_lines
from services.invoicing.domain.numbering import series_for
from services.invoicing.handlers import balances
from services.invoicing.handlers.errors import Conflict, Invalid, invoice_not_found
from services.invoicing.handlers.issuing import emit, numbers
from services.invoicing.store.invoices import NewInvoice, StoredInvoice, line_row
from services.invoicing.store.requests import NewRequest
from services.invoicing.tables import invoice_lines
from services.invoicing.uow import InvoicingUnitOfWork
from shared.money import ZERO

RETURN_MODES = ("ready", "non-chargeable")


async def _current(uow: InvoicingUnitOfWork, original: StoredInvoice) -> list[Line]:
    return current_lines(original.lines, await uow.invoices.confirmed_corrections(original.id))


async def create(uow: InvoicingUnitOfWork, original_id: int, *, return_mode: str, actor: str) -> StoredInvoice:
    async with uow:
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
        lines = await _current(uow, original)
        if not lines:
            raise Conflict(
                "fully-credited",
                "Lasku on jo kokonaan hyvitetty.",
                "The invoice has already been fully credited.",
            )
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
                    totals=Totals(ZERO, ZERO, ZERO),
                    vat_breakdown=(),
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
    original = await uow.invoices.get(draft.original_invoice_id or 0)
    assert original is not None
    current = await _current(uow, original)
    wanted = {line.line_no: line.quantity for line in draft.lines}
    wanted[line_no] = quantity
    try:
        correction = correct(current, wanted)
        rows, totals = correction.vat_breakdown, correction.totals
    except CorrectionRefused as refused:
        if refused.code != "nothing-to-correct":
            raise Invalid(refused.code, refused.message_fi, refused.message_en) from None
        rows, totals = (), Totals(ZERO, ZERO, ZERO)
    lines = [
        replace(line, quantity=wanted[line.line_no], net=line_net(wanted[line.line_no], line.unit_price))
        for line in draft.lines
    ]
    await uow.invoices.replace_lines(draft.id, lines, totals, rows)


async def confirm(
    uow: InvoicingUnitOfWork, draft: StoredInvoice, *, actor: str, settings: Settings, now: datetime
) -> StoredInvoice:
    """Issue a corrective draft (in the caller's transaction; the draft is locked)."""
    original = await uow.invoices.get(draft.original_invoice_id or 0, lock=True)
    assert original is not None and original.number is not None
    current = await _current(uow, original)
    try:
        correction = correct(current, {line.line_no: line.quantity for line in draft.lines})
    except CorrectionRefused as refused:
        raise Conflict(refused.code, refused.message_fi, refused.message_en) from None
    [n] = await numbers(uow, draft.series, 1)
    document_type = "credit-note" if correction.totals.gross < 0 else "corrective"
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
            "document_type": document_type,
            "confirmed_by": actor,
            "invoice_date": now.date(),
            "due_date": now.date(),
        },
    )
    issued = await uow.invoices.get(draft.id)
    assert issued is not None
    emit(uow, document(issued, seller(settings), original_number=original.number, issued_at=now))
    await balances.credit(uow, original, totals.gross, on=now.date())
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
