"""``billing invoicing reconcile``: rebuild from ``invoicing.invoices.v1`` what a restored
invoicing database lacks, then move the number series past the log.

Every issued document on the log carries the invoice whole (ARCHITECTURE §7): id,
number, series, type, dates, terms, references, the customer's snapshot, the chargeable
lines, the VAT breakdown and totals, the run and the original of a corrective one. From
them reconcile rebuilds, under the document's own invoice id (dispatch and reminders
know invoices by it):

- each issued invoice the database lacks, with its lines (a line's place within its
  request, ``request_line``, is the order of the request's lines on the document; the
  reversal lines of a corrective invoice take the one of the original line they undo);
- a draft the database still has that was confirmed after the backup (same id): it is
  replaced by the issued invoice; its requests not on the document become
  non-chargeable, as confirmation makes them;
- another draft holding a request the log says was invoiced: removed (drafts are no
  vouchers), its other requests open again;
- the requests the database has for the rebuilt invoices: invoiced, linked to them;
- the payments recorded on the log (``payment-recorded``) the database lacks, or still
  has as unmatched (allocated after the backup), the bank's reversals of them
  (``payment-reversed``) it lacks, and the balances (paid, credited, status) of the
  invoices they or a rebuilt credit note touch;
- the outbox rows of the backup whose events are on the log already (published after
  the backup was taken): removed, so the relay does not publish them a second time;
- the number series: each counter moved past the highest number on the log, the
  invoices' id sequence past the highest id, ``numbering_log`` brought up to date.
  This is what lifts the refusal of :mod:`services.invoicing.numbering_check`.

It publishes nothing (the log has every event already) and is idempotent: a second run
finds everything present and changes nothing. Not on the log, so not rebuilt: billing
requests and cancellations consumed after the backup, unmatched payments received after
it, the quantities a corrective invoice returned as new requests, billing runs and their
summaries, jobs (see README "Backup and restore" for what to do about them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.invoicing.domain.numbering import series_of
from services.invoicing.invoice_log import invoices_topic, read_all
from services.invoicing.rebuild import (
    Report,
    advance_series,
    drop_published_outbox_rows,
    rebuild_invoice,
    rebuild_payment,
    rebuild_reversal,
    refresh_balance,
)
from services.invoicing.tables import invoices, payments
from shared.events.invoicing import (
    CorrectiveInvoiceIssued,
    InvoiceDocument,
    InvoiceIssued,
    PaymentRecorded,
    PaymentReversed,
)
from shared.settings import ServiceSettings

__all__ = ["Report", "reconcile"]

BATCH = 500


async def _sift_issued(
    sessions: async_sessionmaker[AsyncSession], batch: list[tuple[InvoiceDocument, datetime]], report: Report
) -> list[tuple[InvoiceDocument, datetime]]:
    """The documents of ``batch`` the database lacks (the rest counted present), so that
    only what is missing is held in memory, however long the log."""
    async with sessions() as s:
        keys = [(d.series, int(d.invoice_number)) for d, _ in batch]  # uq_invoices_number's index
        rows = await s.execute(
            select(invoices.c.number, invoices.c.id).where(tuple_(invoices.c.series, invoices.c.number).in_(keys))
        )
        present = {(int(r.number), int(r.id)) for r in rows}
    out = []
    for doc, at in batch:
        if (int(doc.invoice_number), int(doc.invoice_id)) in present:
            report.present += 1
        else:
            out.append((doc, at))
    return out


async def _sift_paid(
    sessions: async_sessionmaker[AsyncSession], batch: list[tuple[PaymentRecorded, str]]
) -> list[tuple[PaymentRecorded, str]]:
    """The recorded payments of ``batch`` the database lacks or has as unmatched."""
    async with sessions() as s:
        ids = [p.payment_id for p, _ in batch]
        done = set(
            await s.scalars(
                select(payments.c.payment_id).where(payments.c.payment_id.in_(ids), payments.c.status != "unmatched")
            )
        )
    return [(p, e) for p, e in batch if p.payment_id not in done]


async def _rebuild_payments(
    s: AsyncSession,
    unpaid: list[tuple[PaymentRecorded, str]],
    taken_back: list[tuple[PaymentReversed, str]],
    report: Report,
) -> set[int]:
    """The payments, then the reversals (after the payments they take back); the
    invoices whose balances they change."""
    touched: set[int] = set()
    for p, event_id in unpaid:
        if (invoice_id := await rebuild_payment(s, p, event_id, report)) is not None:
            touched.add(invoice_id)
    for r, event_id in taken_back:
        if (invoice_id := await rebuild_reversal(s, r, event_id, report)) is not None:
            touched.add(invoice_id)
    return touched


async def _outbox_event_ids(sessions: async_sessionmaker[AsyncSession], topic: str) -> set[str]:
    async with sessions() as s:
        rows = await s.execute(
            text(
                "SELECT h->>1 FROM outbox AS o, jsonb_array_elements(o.headers) AS h "
                "WHERE o.topic = :topic AND h->>0 = 'ce_id'"
            ),
            {"topic": topic},
        )
        return {str(r[0]) for r in rows}


async def reconcile(
    settings: ServiceSettings, sessions: async_sessionmaker[AsyncSession], *, timeout_s: float
) -> Report:
    """Read the whole topic, rebuild what the database lacks, advance the series.

    Memory holds what is missing, the invoice ids and payment ids seen (to count each
    once), the highest number per series, and the ids of the backup's outbox rows."""
    report = Report()
    topic = invoices_topic(settings)
    seen_invoices: set[int] = set()
    seen_payments: set[str] = set()
    highest: dict[str, int] = {}
    missing: list[tuple[InvoiceDocument, datetime]] = []
    unpaid: list[tuple[PaymentRecorded, str]] = []
    docs: list[tuple[InvoiceDocument, datetime]] = []
    paid: list[tuple[PaymentRecorded, str]] = []
    taken_back: dict[str, tuple[PaymentReversed, str]] = {}  # by the reversal's id: the first on the log
    in_outbox = await _outbox_event_ids(sessions, topic)
    published: set[str] = set()

    def on_event_id(event_id: str) -> None:
        if event_id in in_outbox:
            published.add(event_id)

    async for env in read_all(settings, timeout_s=timeout_s, on_event_id=on_event_id):
        report.records += 1
        data: Any = env.data
        if isinstance(data, InvoiceIssued | CorrectiveInvoiceIssued):
            doc = data.invoice
            if int(doc.invoice_id) not in seen_invoices:
                seen_invoices.add(int(doc.invoice_id))
                series, _ = series_of(int(doc.invoice_number))
                highest[series] = max(highest.get(series, 0), int(doc.invoice_number))
                docs.append((doc, doc.issued_at))
        elif isinstance(data, PaymentRecorded) and data.payment_id not in seen_payments:
            seen_payments.add(data.payment_id)
            paid.append((data, env.meta.id))
        elif isinstance(data, PaymentReversed):
            taken_back.setdefault(data.payment_id, (data, env.meta.id))
        if len(docs) >= BATCH:
            missing += await _sift_issued(sessions, docs, report)
            docs = []
        if len(paid) >= BATCH:
            unpaid += await _sift_paid(sessions, paid)
            paid = []
    missing += await _sift_issued(sessions, docs, report) if docs else []
    unpaid += await _sift_paid(sessions, paid) if paid else []
    report.issued_on_log, report.payments_on_log = len(seen_invoices), len(seen_payments)
    # originals before the corrective invoices that refer to them, each in issue order
    ordered = sorted(missing, key=lambda d: (d[0].document_type != "invoice", d[1], int(d[0].invoice_id)))
    touched: set[int] = set()
    for start in range(0, len(ordered), 200):
        async with sessions() as s, s.begin():
            for doc, issued_at in ordered[start : start + 200]:
                if (original := await rebuild_invoice(s, doc, issued_at, report)) is not None:
                    touched.add(original)
    async with sessions() as s, s.begin():
        touched |= await _rebuild_payments(s, unpaid, list(taken_back.values()), report)
        for invoice_id in sorted(touched):
            await refresh_balance(s, invoice_id)
        report.balances_refreshed = len(touched)
        report.outbox_removed = await drop_published_outbox_rows(s, topic, published)
        await advance_series(s, highest, max(seen_invoices, default=0), report)
    return report
