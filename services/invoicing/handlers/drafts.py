"""Draft (proforma) invoices (seed 004): edit a line's quantity or make it
non-chargeable, remove a corrective draft's line, delete the draft (its requests return
to ready), confirm singly or in bulk. Confirmation is one-way: afterwards every write answers 409.

Confirming a draft takes the customer's billing profile as it is then (it must be
valid), allocates the number and references, and publishes the invoice. A draft with
no chargeable line left is not issued: its requests become non-chargeable, the draft is
removed, and no number is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from services.invoicing.config import Settings
from services.invoicing.documents import document, seller
from services.invoicing.domain.billing import edit_line, vat_breakdown
from services.invoicing.handlers import corrections
from services.invoicing.handlers.errors import Conflict, Invalid, invoice_not_found, not_a_draft
from services.invoicing.handlers.issuing import emit, numbers, snapshot
from services.invoicing.store.invoices import StoredInvoice
from services.invoicing.uow import InvoicingUnitOfWork


async def _draft(uow: InvoicingUnitOfWork, invoice_id: int) -> StoredInvoice:
    invoice = await uow.invoices.get(invoice_id, lock=True)
    if invoice is None:
        raise invoice_not_found(invoice_id)
    if invoice.status != "draft":
        raise not_a_draft(invoice.number)
    return invoice


async def edit(
    uow: InvoicingUnitOfWork, invoice_id: int, line_no: int, *, quantity: Decimal | None, chargeable: bool | None
) -> StoredInvoice:
    async with uow:
        invoice = await _draft(uow, invoice_id)
        if invoice.original_invoice_id is not None:
            if chargeable is not None:
                raise Invalid(
                    "not-on-corrective",
                    "Hyvityslaskun rivillä asetetaan vain uusi määrä.",
                    "A corrective invoice's line takes a new quantity only.",
                )
            await corrections.set_quantity(uow, invoice, line_no, quantity)
        else:
            try:
                lines = edit_line(invoice.lines, line_no, quantity=quantity, chargeable=chargeable)
            except KeyError:
                raise Invalid(
                    "unknown-line", f"Laskulla ei ole riviä {line_no}.", f"The invoice has no line {line_no}."
                ) from None
            rows, totals = vat_breakdown(lines)
            await uow.invoices.replace_lines(invoice_id, lines, totals, rows)
        await uow.commit()
    async with uow:
        fresh = await uow.invoices.get(invoice_id)
    assert fresh is not None
    return fresh


async def remove_line(uow: InvoicingUnitOfWork, invoice_id: int, line_no: int) -> StoredInvoice:
    """Remove a line from a corrective draft (seed 004: a transaction that needs no
    correction). An invoice draft's line is made non-chargeable instead, or the draft
    deleted: its billing request must go somewhere."""
    async with uow:
        invoice = await _draft(uow, invoice_id)
        if invoice.original_invoice_id is None:
            raise Invalid(
                "line-removal-not-on-invoice",
                "Laskuluonnoksen riviä ei poisteta: merkitse se veloituksettomaksi tai poista koko luonnos.",
                "An invoice draft's line is not removed: make it non-chargeable or delete the whole draft.",
            )
        await corrections.remove_line(uow, invoice, line_no)
        await uow.commit()
    async with uow:
        fresh = await uow.invoices.get(invoice_id)
    assert fresh is not None
    return fresh


async def delete(uow: InvoicingUnitOfWork, invoice_id: int) -> int:
    """Delete a draft; returns how many requests went back to ready."""
    async with uow:
        await _draft(uow, invoice_id)
        released = await uow.requests.release(invoice_id)
        await uow.invoices.delete(invoice_id)
        await uow.commit()
    return released


@dataclass
class Confirmed:
    issued: list[StoredInvoice] = field(default_factory=list)
    non_chargeable: list[int] = field(default_factory=list)
    refused: dict[int, dict[str, str]] = field(default_factory=dict)


async def confirm(
    uow: InvoicingUnitOfWork, ids: Sequence[int], *, actor: str, settings: Settings, strict: bool
) -> Confirmed:
    """Confirm drafts in one transaction. ``strict`` (a single invoice): the first
    refusal raises; otherwise refusals are reported per invoice and the rest confirmed."""
    out = Confirmed()
    async with uow:
        drafts = await uow.invoices.get_many(sorted(set(ids)), lock=True)
        found = {d.id for d in drafts}
        for missing in sorted(set(ids) - found):
            if strict:
                raise invoice_not_found(missing)
            out.refused[missing] = invoice_not_found(missing).detail()
        profiles = await uow.profiles.get_many({d.customer_number for d in drafts})
        now = datetime.now(UTC)
        the_seller = seller(settings)
        ordinary: list[StoredInvoice] = []
        for d in drafts:
            try:
                if d.status != "draft":
                    raise not_a_draft(d.number)
                if d.original_invoice_id is not None:
                    out.issued.append(await corrections.confirm(uow, d, actor=actor, settings=settings, now=now))
                    continue
                profile = profiles.get(d.customer_number)
                if profile is None or not profile.valid:
                    raise Conflict(
                        "billing-data-invalid",
                        f"Asiakkaan {d.customer_number} laskutustiedoissa on virheitä: korjaa ne ensin.",
                        f"Customer {d.customer_number}'s billing data has errors: fix them first.",
                    )
            except Conflict as refusal:
                if strict:
                    raise
                out.refused[d.id] = refusal.detail()
                continue
            if not any(line.chargeable for line in d.lines):
                await uow.requests.set_status(await uow.requests.of_invoice(d.id), "non-chargeable")
                await uow.invoices.delete(d.id)
                out.non_chargeable.append(d.id)
                continue
            ordinary.append(d)
        by_series: dict[str, list[StoredInvoice]] = {}
        for d in ordinary:
            by_series.setdefault(d.series, []).append(d)
        for series, group in by_series.items():
            for d, n in zip(group, await numbers(uow, series, len(group)), strict=True):
                customer = snapshot(profiles[d.customer_number])
                await uow.invoices.confirm(
                    d.id,
                    {
                        "number": n.number,
                        "reference": n.reference,
                        "reference_rf": n.reference_rf,
                        "customer": customer,
                        "confirmed_by": actor,
                    },
                )
                request_ids = await uow.requests.of_invoice(d.id)
                chargeable = {line.request_id for line in d.lines if line.chargeable}
                await uow.requests.set_status([r for r in request_ids if r in chargeable], "invoiced")
                await uow.requests.set_status([r for r in request_ids if r not in chargeable], "non-chargeable")
                issued = await uow.invoices.get(d.id)
                assert issued is not None
                emit(uow, document(issued, the_seller, issued_at=now))
                out.issued.append(issued)
        await uow.commit()
    return out
