"""What every way of issuing an invoice shares: numbers, references, the customer's
snapshot, and the event in the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.invoicing.domain.numbering import invoice_number
from services.invoicing.handlers.numbering import ensure_numbering
from services.invoicing.store.profiles import Profile
from services.invoicing.uow import InvoicingUnitOfWork
from shared.events import topics
from shared.events.invoicing import CorrectiveInvoiceIssued, InvoiceDocument, InvoiceIssued
from shared.references import national_reference, rf_reference
from shared.tracing import TraceContext


@dataclass(frozen=True)
class Numbered:
    number: int
    reference: str
    reference_rf: str


async def numbers(uow: InvoicingUnitOfWork, series: str, count: int) -> list[Numbered]:
    """``count`` consecutive numbers of ``series`` (gap-free: see the store) and the
    national and RF references derived from each. Refused (409 ``numbering-behind-log``)
    while the series is behind the invoice log (a restored database)."""
    if count == 0:
        return []
    await ensure_numbering(uow)
    first = await uow.invoices.allocate_numbers(series, count)
    out = []
    for counter in range(first, first + count):
        number = invoice_number(series, counter)
        reference = national_reference(str(number))
        out.append(Numbered(number, reference, rf_reference(reference)))
    return out


def snapshot(profile: Profile) -> dict[str, Any]:
    """The customer block of a document: the billing profile as it is at issue."""
    return {
        "customer_number": profile.customer_number,
        "profile_version": profile.version,
        "consumer": profile.consumer,
        "data": profile.data,
    }


def emit(uow: InvoicingUnitOfWork, doc: InvoiceDocument, trace: TraceContext | None = None) -> None:
    """The issued event; it carries ``trace`` on (the oldest request's: see
    ``RequestStore.oldest_traces``), else the unit of work's, else a new trace."""
    event = InvoiceIssued(invoice=doc) if doc.document_type == "invoice" else CorrectiveInvoiceIssued(invoice=doc)
    uow.outbox.add(topics.INVOICES.name, event, key=doc.customer.customer_number, trace=trace)
