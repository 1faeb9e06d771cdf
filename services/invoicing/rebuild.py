"""Rebuilding one issued invoice or one recorded payment from its event on
``invoicing.invoices.v1``, and moving the number series past the log: the steps of
``billing invoicing reconcile`` (:mod:`services.invoicing.reconcile`), each in the
caller's transaction. Nothing here publishes: the log has every event already."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.domain.billing import Line, Period, Totals, VatTotal
from services.invoicing.domain.numbering import highest_numbers, series_of
from services.invoicing.domain.payments import Balance
from services.invoicing.store.invoices import InvoiceStore, NewInvoice
from services.invoicing.store.numbering import advance, counters, record_log
from services.invoicing.store.requests import RequestStore
from services.invoicing.tables import billing_requests, invoice_lines, invoices, payments
from shared.events.invoicing import InvoiceDocument, PaymentRecorded, PaymentReversed

ACTOR = "reconcile"
"""``created_by`` / ``confirmed_by`` of a rebuilt invoice (who issued it is not on the log)."""


@dataclass
class Report:
    """What a reconcile did: counts and numbers, no personal data."""

    records: int = 0
    issued_on_log: int = 0
    present: int = 0
    rebuilt: int = 0
    drafts_confirmed: int = 0
    stale_drafts_removed: int = 0
    requests_invoiced: int = 0
    payments_on_log: int = 0
    payments_rebuilt: int = 0
    reversals_rebuilt: int = 0
    balances_refreshed: int = 0
    outbox_removed: int = 0
    rebuilt_numbers: list[int] = field(default_factory=list)
    series: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    """series -> (counter before, highest counter on the log, counter after)."""
    conflicts: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        moved = any(before != after for before, _, after in self.series.values())
        counts = (
            self.rebuilt,
            self.drafts_confirmed,
            self.payments_rebuilt,
            self.reversals_rebuilt,
            self.balances_refreshed,
            self.outbox_removed,
        )
        return any(counts) or moved

    def lines(self) -> list[str]:
        out = [
            f"read {self.records} record(s): {self.issued_on_log} issued invoice(s), "
            f"{self.payments_on_log} recorded payment(s)",
            f"invoices: {self.present} already present, {self.rebuilt} rebuilt "
            f"({self.drafts_confirmed} of them replacing the draft confirmed after the backup); "
            f"{self.stale_drafts_removed} stale draft(s) removed; {self.requests_invoiced} request(s) marked invoiced",
            f"payments: {self.payments_rebuilt} rebuilt, {self.reversals_rebuilt} reversal(s) rebuilt;"
            f" balances refreshed on {self.balances_refreshed} invoice(s)",
            f"outbox: {self.outbox_removed} row(s) already on the log removed",
        ]
        for series, numbers in sorted(highest_numbers(self.rebuilt_numbers).items()):
            lowest = min(n for n in self.rebuilt_numbers if series_of(n)[0] == series)
            out.append(f"rebuilt numbers {series}: {lowest}..{numbers}")
        for series, (before, log, after) in sorted(self.series.items()):
            out.append(f"series {series}: counter {before} -> {after} (highest on the log {log})")
        out.extend(f"CONFLICT: {c}" for c in self.conflicts)
        out.append("nothing to do: the database already had everything on the log" if not self.changed else "done")
        return out


def document_lines(doc: InvoiceDocument, original: Sequence[Line]) -> tuple[Line, ...]:
    corrective = doc.document_type != "invoice"
    place: dict[str, int] = {}
    out = []
    for dl in doc.lines:
        request_line: int | None = None
        if dl.request_id is not None:
            if corrective:
                request_line = next(
                    (
                        o.request_line
                        for o in original
                        if (o.request_id, o.product_code, o.unit_price, o.vat_rate, o.description)
                        == (dl.request_id, dl.product_code, dl.unit_price, dl.vat_rate, dl.description)
                    ),
                    None,
                )
            else:
                request_line = place.get(dl.request_id, 0)
                place[dl.request_id] = request_line + 1
        out.append(
            Line(
                line_no=dl.line_no,
                product_code=dl.product_code,
                description=dl.description,
                quantity=dl.quantity,
                unit=dl.unit,
                unit_price=dl.unit_price,
                vat_rate=dl.vat_rate,
                net=dl.net,
                request_id=dl.request_id,
                request_line=request_line,
                order_id=dl.order_id,
                service_period=Period(dl.service_period.start, dl.service_period.end) if dl.service_period else None,
                chargeable=True,
                reversal=corrective and dl.quantity < 0,
            )
        )
    return tuple(out)


def _invoice(doc: InvoiceDocument, lines: tuple[Line, ...]) -> NewInvoice:
    return NewInvoice(
        status="confirmed",
        document_type=doc.document_type,
        kind=doc.kind,
        series=doc.series,
        customer_number=doc.customer.customer_number,
        invoice_date=doc.invoice_date,
        due_date=doc.due_date,
        payment_terms_days=doc.payment_terms_days,
        totals=Totals(doc.totals.net, doc.totals.vat, doc.totals.gross),
        vat_breakdown=tuple(VatTotal(r.rate, r.net, r.vat, r.gross) for r in doc.vat_breakdown),
        lines=lines,
        created_by=ACTOR,
        customer=doc.customer.model_dump(mode="json"),
        number=int(doc.invoice_number),
        reference=doc.reference,
        reference_rf=doc.reference_rf,
        run_id=uuid.UUID(doc.run_id) if doc.run_id else None,
        original_invoice_id=int(doc.original_invoice_id) if doc.original_invoice_id else None,
        confirmed_by=ACTOR,
    )


async def _release_drafts(s: AsyncSession, doc_id: int, request_ids: Sequence[str], report: Report) -> None:
    """Remove other drafts holding requests the log says ``doc_id`` invoiced."""
    if not request_ids:
        return
    stale = list(
        await s.scalars(
            select(invoices.c.id)
            .distinct()
            .join(invoice_lines, invoice_lines.c.invoice_id == invoices.c.id)
            .where(
                invoices.c.status == "draft",
                invoices.c.id != doc_id,
                invoice_lines.c.request_id.in_(request_ids),
                invoice_lines.c.corrective.is_(False),
            )
        )
    )
    for draft_id in stale:
        await s.execute(
            update(billing_requests)
            .where(billing_requests.c.invoice_id == draft_id)
            .values(status="open", invoice_id=None, changed_at=func.now())
        )
        await InvoiceStore(s).delete(draft_id)
        report.stale_drafts_removed += 1


async def rebuild_invoice(s: AsyncSession, doc: InvoiceDocument, issued_at: datetime, report: Report) -> int | None:
    """One issued document: present, rebuilt, or a conflict. Returns the id of an
    original whose balance a rebuilt credit note changes."""
    store, requests = InvoiceStore(s), RequestStore(s)
    doc_id, number = int(doc.invoice_id), int(doc.invoice_number)
    owner = await s.scalar(select(invoices.c.id).where(invoices.c.series == doc.series, invoices.c.number == number))
    if owner == doc_id:
        report.present += 1
        return None
    if owner is not None:
        report.conflicts.append(f"number {number} is invoice id {owner} in the database, id {doc_id} on the log")
        return None
    row = (await s.execute(select(invoices.c.status, invoices.c.number).where(invoices.c.id == doc_id))).first()
    if row is not None and row.status != "draft":
        report.conflicts.append(f"invoice id {doc_id} has number {row.number} in the database, {number} on the log")
        return None
    original_id = int(doc.original_invoice_id) if doc.original_invoice_id else None
    original = (await store.lines_of([original_id])).get(original_id, []) if original_id else []
    lines = document_lines(doc, original)
    on_doc = sorted({line.request_id for line in lines if line.request_id}) if doc.document_type == "invoice" else []
    if row is not None:  # the draft confirmed after the backup: its requests off the document are non-chargeable
        await s.execute(
            update(billing_requests)
            .where(billing_requests.c.invoice_id == doc_id, billing_requests.c.request_id.not_in(on_doc))
            .values(status="non-chargeable", changed_at=func.now())
        )
        await store.delete(doc_id)
        report.drafts_confirmed += 1
    await _release_drafts(s, doc_id, on_doc, report)
    await store.insert([doc_id], [_invoice(doc, lines)], [issued_at])
    known = list(
        await s.scalars(select(billing_requests.c.request_id).where(billing_requests.c.request_id.in_(on_doc)))
    )
    await requests.set_status(known, "invoiced", dict.fromkeys(known, doc_id))
    report.requests_invoiced += len(known)
    report.rebuilt += 1
    report.rebuilt_numbers.append(number)
    return original_id if doc.document_type == "credit-note" else None


async def rebuild_payment(s: AsyncSession, p: PaymentRecorded, event_id: str, report: Report) -> int | None:
    """One recorded payment; returns the invoice id whose balance it changes."""
    invoice_id = int(p.invoice_id)
    reference = await s.scalar(select(invoices.c.reference).where(invoices.c.id == invoice_id))
    if reference is None:
        report.conflicts.append(f"payment on invoice id {invoice_id}: no such issued invoice in the database")
        return None
    current = (
        await s.execute(select(payments.c.status, payments.c.invoice_id).where(payments.c.payment_id == p.payment_id))
    ).first()
    if current is not None and current.status != "unmatched":
        return None
    if current is None:
        await s.execute(
            payments.insert().values(
                payment_id=p.payment_id,
                reference=reference,
                amount=p.amount,
                payment_date=p.payment_date,
                invoice_id=invoice_id,
                status="matched",
                event_id=event_id,
            )
        )
    else:  # unmatched in the backup, allocated by a clerk after it
        await s.execute(
            update(payments)
            .where(payments.c.payment_id == p.payment_id)
            .values(status="allocated", invoice_id=invoice_id, allocated_by=ACTOR)
        )
    report.payments_rebuilt += 1
    return invoice_id


async def rebuild_reversal(s: AsyncSession, r: PaymentReversed, event_id: str, report: Report) -> int | None:
    """One reversal on the log the database lacks (taken after the backup): recorded, its
    payment marked reversed; returns the invoice id whose balance it changes. Run after
    the payments are rebuilt (the payment it takes back may be one of them)."""
    invoice_id = int(r.invoice_id)
    reference = await s.scalar(select(invoices.c.reference).where(invoices.c.id == invoice_id))
    if reference is None:
        report.conflicts.append(f"reversal on invoice id {invoice_id}: no such issued invoice in the database")
        return None
    added = await s.execute(
        insert(payments)
        .values(
            payment_id=r.payment_id,
            kind="reversal",
            reverses_payment_id=r.reverses_payment_id,
            reference=reference,
            amount=r.amount,
            payment_date=r.payment_date,
            invoice_id=invoice_id,
            status="reversal",
            event_id=event_id,
        )
        .on_conflict_do_nothing(index_elements=["payment_id"])
        .returning(payments.c.payment_id)
    )
    if added.first() is None:
        return None
    await s.execute(
        update(payments)
        .where(payments.c.payment_id == r.reverses_payment_id, payments.c.kind == "payment")
        .values(status="reversed")
    )
    report.reversals_rebuilt += 1
    return invoice_id


async def refresh_balance(s: AsyncSession, invoice_id: int) -> None:
    """Paid, credited and status from the payments and the credit notes the database now has."""
    inv = (await s.execute(select(invoices.c.gross, invoices.c.settled_on).where(invoices.c.id == invoice_id))).first()
    if inv is None:
        return
    paid_row = (
        await s.execute(
            select(func.coalesce(func.sum(payments.c.amount), 0), func.max(payments.c.payment_date)).where(
                payments.c.invoice_id == invoice_id,
                payments.c.kind == "payment",
                payments.c.status.in_(("matched", "allocated")),
            )
        )
    ).one()
    credit_row = (
        await s.execute(
            select(func.coalesce(func.sum(invoices.c.gross), 0), func.max(invoices.c.invoice_date)).where(
                invoices.c.original_invoice_id == invoice_id,
                invoices.c.status == "confirmed",
                invoices.c.document_type == "credit-note",
            )
        )
    ).one()
    balance = Balance(inv.gross, Decimal(credit_row[0]), Decimal(paid_row[0]))
    dates: list[date] = [d for d in (paid_row[1], credit_row[1]) if d is not None]
    settled_on = (inv.settled_on or max(dates, default=None)) if balance.settled else None
    await InvoiceStore(s).set_balance(
        invoice_id, paid=balance.paid, credited=balance.credited, status=balance.status, settled_on=settled_on
    )


async def drop_published_outbox_rows(s: AsyncSession, topic: str, on_log: set[str]) -> int:
    """Delete the outbox rows for ``topic`` whose event id is on the log already."""
    if not on_log:
        return 0
    result = await s.execute(
        text(
            "DELETE FROM outbox AS o WHERE o.topic = :topic AND EXISTS ("
            " SELECT 1 FROM jsonb_array_elements(o.headers) AS h"
            " WHERE h->>0 = 'ce_id' AND h->>1 = ANY(CAST(:ids AS text[])))"
        ),
        {"topic": topic, "ids": sorted(on_log)},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def advance_series(s: AsyncSession, highest: Mapping[str, int], max_id: int, report: Report) -> None:
    before = await counters(s)
    for series, number in highest.items():
        _, counter = series_of(number)
        await advance(s, series, counter)
    await record_log(s, highest)
    after = await counters(s)
    for series, number in highest.items():
        report.series[series] = (before.get(series, 0), series_of(number)[1], after.get(series, 0))
    if max_id:
        await s.execute(
            text(
                "SELECT setval(q.s, GREATEST(:n, COALESCE(pg_sequence_last_value(q.s), 1))) "
                "FROM (SELECT CAST(pg_get_serial_sequence('invoices', 'id') AS regclass) AS s) AS q"
            ),
            {"n": max_id},
        )
