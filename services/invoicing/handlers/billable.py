"""Which invoices a billing run can make: one customer's data never fails a run.

A proposed invoice over a limit of ``shared.limits`` (the domain rule,
:func:`services.invoicing.domain.billing.invoice_breach`), or one the issued document's
contract refuses for any other reason (tried with a stand-in number, so a customer left
out takes no number), is left out with its reason; the run's cursor counts the requests
and names the customers (:func:`leave_out`), and the summary reports them.
"""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from services.invoicing.documents import document
from services.invoicing.domain import texts
from services.invoicing.domain.billing import Invoice, invoice_breach
from services.invoicing.domain.numbering import invoice_number, series_for
from services.invoicing.handlers.issuing import Numbered
from services.invoicing.store.invoices import NewInvoice, stored
from shared.events.invoicing import MAX_LEFT_OUT_CUSTOMERS, InvoiceDocument, Seller
from shared.references import national_reference, rf_reference


def billable(
    kind: str, built: list[Invoice], snapshots: list[dict[str, Any]], the_seller: Seller
) -> tuple[list[Invoice], list[dict[str, Any]], list[tuple[Invoice, texts.Text]]]:
    """The invoices the run can make, with their snapshots, and those it cannot (with
    why): one customer's data never fails the run. Over a limit of ``shared.limits``
    (the domain rule), or anything else the issued document's contract refuses (tried
    with a stand-in number, so a left-out invoice takes no number)."""
    ok, kept, left, _ = billable_documents(kind, built, snapshots, the_seller)
    return ok, kept, left


def billable_documents(
    kind: str, built: list[Invoice], snapshots: list[dict[str, Any]], the_seller: Seller
) -> tuple[list[Invoice], list[dict[str, Any]], list[tuple[Invoice, texts.Text]], list[InvoiceDocument]]:
    """:func:`billable`, and the trial document of each invoice it can make: the issued
    document but for its number, references, id, run and time (:func:`numbered_document`
    puts them in, without validating the rest again)."""
    ok: list[Invoice] = []
    kept: list[dict[str, Any]] = []
    left: list[tuple[Invoice, texts.Text]] = []
    docs: list[InvoiceDocument] = []
    for inv, snap in zip(built, snapshots, strict=True):
        breach = invoice_breach(inv)
        if breach is not None:
            left.append((inv, texts.BREACHES[breach]))
            continue
        doc = _trial_document(kind, inv, snap, the_seller)
        if doc is None:
            left.append((inv, texts.INVOICE_INVALID))
            continue
        ok.append(inv)
        kept.append(snap)
        docs.append(doc)
    return ok, kept, left, docs


@functools.cache
def _stand_in(series: str) -> Numbered:
    number = invoice_number(series, 1)
    reference = national_reference(str(number))
    return Numbered(number, reference, rf_reference(reference))


def _trial_document(kind: str, inv: Invoice, snap: dict[str, Any], the_seller: Seller) -> InvoiceDocument | None:
    series = series_for(kind)
    trial = new_invoice(inv, snap, series, actor="trial", n=_stand_in(series), run_id=None)
    try:
        return document(stored(trial, 1, datetime.now(UTC)), the_seller)
    except ValidationError:
        return None


def numbered_document(
    trial: InvoiceDocument, invoice_id: int, n: Numbered, run_id: uuid.UUID, issued_at: datetime
) -> InvoiceDocument:
    """The issued document from its trial: the fields that differ are the ones the stand-in
    had (same formats: the same functions make them), so the trial's validation holds."""
    return trial.model_copy(
        update={
            "invoice_id": str(invoice_id),
            "invoice_number": str(n.number),
            "reference": n.reference,
            "reference_rf": n.reference_rf,
            "run_id": str(run_id),
            "issued_at": issued_at,
        }
    )


def leave_out(cursor: dict[str, Any], left: list[tuple[Invoice, texts.Text]]) -> None:
    """Count the customers a chunk left out, by why, in the run's cursor."""
    skipped: dict[str, Any] = cursor.setdefault("skipped", {})
    for inv, reason in left:
        entry = skipped.setdefault(reason.code, {"requests": 0, "customers": []})
        entry["requests"] += len(inv.request_ids)
        if len(entry["customers"]) < MAX_LEFT_OUT_CUSTOMERS and inv.customer_number not in entry["customers"]:
            entry["customers"].append(inv.customer_number)


def new_invoice(
    inv: Invoice,
    snap: dict[str, Any],
    series: str,
    *,
    actor: str,
    n: Numbered | None,
    run_id: uuid.UUID | None,
) -> NewInvoice:
    """The invoice row of ``inv``: confirmed when it has its number, else a draft."""
    return NewInvoice(
        status="confirmed" if n is not None else "draft",
        document_type="invoice",
        kind=inv.kind,
        series=series,
        customer_number=inv.customer_number,
        invoice_date=inv.invoice_date,
        due_date=inv.due_date,
        payment_terms_days=inv.payment_terms_days,
        totals=inv.totals,
        vat_breakdown=inv.vat_breakdown,
        lines=inv.lines,
        created_by=actor,
        customer=snap,
        number=n.number if n else None,
        reference=n.reference if n else None,
        reference_rf=n.reference_rf if n else None,
        run_id=run_id,
        confirmed_by=actor if n is not None else None,
    )
