"""Draft (proforma) invoices (seed 004): edit a line's quantity or make it
non-chargeable, remove a corrective draft's line, delete the draft (its requests return
to ready), confirm singly or in bulk. Confirmation is one-way: afterwards every write answers 409.

Confirming a draft takes the customer's billing profile as it is then (it must be
valid), allocates the number and references, and publishes the invoice. A draft with
no chargeable line left is not issued: its requests become non-chargeable, the draft is
removed, and no number is used.

An order cancelled while its requests sit on a draft is not billed: confirmation drops
the lines of every cancelled order (their requests become cancelled, on no invoice)
and says so per draft (:class:`Dropped`); a draft left with no line is removed, takes
no number, and is reported the same way. A deleted draft's requests of cancelled
orders become cancelled, not ready.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from services.invoicing.config import Settings
from services.invoicing.documents import document, seller
from services.invoicing.domain import texts
from services.invoicing.domain.billing import edit_line, limit_breach, vat_breakdown
from services.invoicing.handlers import corrections
from services.invoicing.handlers.errors import Conflict, Invalid, invoice_not_found, not_a_draft
from services.invoicing.handlers.issuing import emit, numbers, snapshot
from services.invoicing.handlers.numbering import CONFIRM, ensure_numbering
from services.invoicing.store.invoices import StoredInvoice
from services.invoicing.store.profiles import Profile
from services.invoicing.uow import InvoicingUnitOfWork
from shared.events.invoicing import Seller


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
            if limit_breach(lines, rows, totals) is not None:
                t = texts.DRAFT_OVER_LIMIT
                raise Invalid(t.code, t.fi, t.en)
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


@dataclass(frozen=True)
class Dropped:
    """Lines a confirmation took off a draft because their orders were cancelled."""

    invoice_id: int
    line_nos: tuple[int, ...]
    request_ids: tuple[str, ...]
    order_ids: tuple[str, ...]
    whole_draft: bool
    """No line was left: the draft was removed and no invoice issued."""

    def detail(self) -> dict[str, str]:
        orders = ", ".join(self.order_ids)
        if self.whole_draft:
            return {
                "code": "orders-cancelled",
                "message_fi": f"Luonnoksen {self.invoice_id} kaikki tilaukset ({orders}) on peruttu: laskua ei tehty, "
                "luonnos poistettiin.",
                "message_en": f"Every order on draft {self.invoice_id} ({orders}) has been cancelled: no invoice was "
                "issued, the draft was removed.",
            }
        return {
            "code": "cancelled-lines-dropped",
            "message_fi": f"Luonnokselta {self.invoice_id} poistettiin peruttujen tilausten ({orders}) "
            f"{len(self.line_nos)} riviä ennen vahvistusta.",
            "message_en": f"{len(self.line_nos)} lines of cancelled orders ({orders}) were removed from draft "
            f"{self.invoice_id} before confirmation.",
        }


@dataclass
class Confirmed:
    issued: list[StoredInvoice] = field(default_factory=list)
    non_chargeable: list[int] = field(default_factory=list)
    refused: dict[int, dict[str, str]] = field(default_factory=dict)
    dropped: list[Dropped] = field(default_factory=list)
    """Drafts that had lines of cancelled orders (whole drafts included)."""


async def _drop_cancelled(uow: InvoicingUnitOfWork, draft: StoredInvoice, cancelled: set[str]) -> Dropped | None:
    """Take the lines of cancelled orders off ``draft``; None if it has none."""
    gone = [line for line in draft.lines if line.order_id in cancelled]
    if not gone:
        return None
    kept = [line for line in draft.lines if line.order_id not in cancelled]
    request_ids = sorted({line.request_id for line in gone if line.request_id})
    await uow.requests.cancel_drafted(request_ids)
    if kept:
        await uow.invoices.drop_lines(draft.id, [line.line_no for line in gone])
        rows, totals = vat_breakdown(kept)
        await uow.invoices.replace_lines(draft.id, [], totals, rows)
    else:
        await uow.invoices.delete(draft.id)
    return Dropped(
        invoice_id=draft.id,
        line_nos=tuple(line.line_no for line in gone),
        request_ids=tuple(request_ids),
        order_ids=tuple(sorted({line.order_id for line in gone if line.order_id})),
        whole_draft=not kept,
    )


async def confirm(
    uow: InvoicingUnitOfWork, ids: Sequence[int], *, actor: str, settings: Settings, strict: bool
) -> Confirmed:
    """Confirm drafts in one transaction. ``strict`` (a single invoice): the first
    refusal raises; otherwise refusals are reported per invoice and the rest confirmed."""
    out = Confirmed()
    async with uow:
        await ensure_numbering(uow, CONFIRM)  # all refused, whatever the mode
        drafts = await uow.invoices.get_many(sorted(set(ids)), lock=True)
        found = {d.id for d in drafts}
        for missing in sorted(set(ids) - found):
            if strict:
                raise invoice_not_found(missing)
            out.refused[missing] = invoice_not_found(missing).detail()
        profiles = await uow.profiles.get_many({d.customer_number for d in drafts})
        orders = {line.order_id for d in drafts if d.original_invoice_id is None for line in d.lines if line.order_id}
        cancelled = await uow.requests.cancelled_among(sorted(orders))
        now = datetime.now(UTC)
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
            kept = await _to_issue(uow, d, cancelled, out)
            if kept is not None:
                ordinary.append(kept)
        await _issue(uow, ordinary, profiles, actor=actor, the_seller=seller(settings), now=now, out=out)
        await uow.commit()
    return out


async def _to_issue(
    uow: InvoicingUnitOfWork, draft: StoredInvoice, cancelled: set[str], out: Confirmed
) -> StoredInvoice | None:
    """The draft as it will be issued (lines of cancelled orders dropped), or None when
    nothing is left to issue (every order cancelled, or no chargeable line)."""
    dropped = await _drop_cancelled(uow, draft, cancelled)
    if dropped is not None:
        out.dropped.append(dropped)
        if dropped.whole_draft:
            return None
        draft = replace(draft, lines=tuple(line for line in draft.lines if line.line_no not in dropped.line_nos))
    if not any(line.chargeable for line in draft.lines):
        await uow.requests.set_status(await uow.requests.of_invoice(draft.id), "non-chargeable")
        await uow.invoices.delete(draft.id)
        out.non_chargeable.append(draft.id)
        return None
    return draft


async def _issue(
    uow: InvoicingUnitOfWork,
    ordinary: list[StoredInvoice],
    profiles: Mapping[str, Profile],
    *,
    actor: str,
    the_seller: Seller,
    now: datetime,
    out: Confirmed,
) -> None:
    """Number, snapshot and publish the drafts, series by series (gap-free)."""
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
            (trace,) = await uow.requests.oldest_traces([request_ids])
            emit(uow, document(issued, the_seller, issued_at=now), trace)
            out.issued.append(issued)
