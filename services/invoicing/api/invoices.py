"""Invoices: search and open one; drafts (edit a line, delete, confirm singly or in
bulk); corrective invoices. A confirmed invoice answers 409 to every write."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from services.invoicing.api.common import CONFLICT, KIND_PATTERN, refused, settings, uow
from services.invoicing.domain.billing import Line
from services.invoicing.handlers import corrections, drafts
from services.invoicing.handlers.errors import Refused, invoice_not_found
from services.invoicing.store.invoices import InvoiceFilter, StoredInvoice
from shared.api_models import DecimalText, StrictRequest
from shared.auth.http import Caller, require
from shared.http import AUTH_ERRORS, NOT_FOUND
from shared.references import format_national, format_rf

router = APIRouter(prefix="/invoices", tags=["invoices"], responses=AUTH_ERRORS)
BILL = require("invoicing:bill")
READ = require("invoicing:read")

InvoiceId = Annotated[int, Path(ge=1, le=2**62, description="The invoice's id")]


class LineOut(BaseModel):
    line_no: int
    product_code: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    vat_rate: Decimal
    net: Decimal
    request_id: str | None
    order_id: str | None
    service_start: date | None
    service_end: date | None
    chargeable: bool
    reversal: bool
    original_quantity: Decimal | None = None
    """On a corrective draft: the quantity the corrected invoice bills now (its
    "original invoice quantity", seed 004); ``quantity`` is the new one."""

    @classmethod
    def of(cls, line: Line) -> LineOut:
        return cls(
            line_no=line.line_no,
            product_code=line.product_code,
            description=line.description,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            vat_rate=line.vat_rate,
            net=line.net,
            request_id=line.request_id,
            order_id=line.order_id,
            service_start=line.service_period.start if line.service_period else None,
            service_end=line.service_period.end if line.service_period else None,
            chargeable=line.chargeable,
            reversal=line.reversal,
            original_quantity=line.original_quantity,
        )


class VatOut(BaseModel):
    rate: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal


class InvoiceOut(BaseModel):
    id: int
    status: str
    document_type: str
    kind: str
    series: str
    number: int | None
    customer_number: str
    customer_name: str | None
    channel: str | None
    invoice_date: date
    due_date: date
    payment_terms_days: int
    reference: str | None
    reference_printed: str | None
    """In groups of five, as printed on the invoice."""
    reference_rf: str | None
    reference_rf_printed: str | None
    net: Decimal
    vat: Decimal
    gross: Decimal
    vat_breakdown: list[VatOut]
    paid: Decimal
    credited: Decimal
    open_amount: Decimal
    payment_status: str
    settled_on: date | None
    original_invoice_id: int | None
    return_mode: str | None
    run_id: str | None
    created_at: datetime
    created_by: str
    confirmed_at: datetime | None
    confirmed_by: str | None
    lines: list[LineOut]

    @classmethod
    def of(cls, inv: StoredInvoice) -> InvoiceOut:
        data = (inv.customer or {}).get("data", {})
        return cls(
            id=inv.id,
            status=inv.status,
            document_type=inv.document_type,
            kind=inv.kind,
            series=inv.series,
            number=inv.number,
            customer_number=inv.customer_number,
            customer_name=data.get("name"),
            channel=data.get("delivery_channel"),
            invoice_date=inv.invoice_date,
            due_date=inv.due_date,
            payment_terms_days=inv.payment_terms_days,
            reference=inv.reference,
            reference_printed=format_national(inv.reference) if inv.reference else None,
            reference_rf=inv.reference_rf,
            reference_rf_printed=format_rf(inv.reference_rf) if inv.reference_rf else None,
            net=inv.totals.net,
            vat=inv.totals.vat,
            gross=inv.totals.gross,
            vat_breakdown=[VatOut(rate=r.rate, net=r.net, vat=r.vat, gross=r.gross) for r in inv.vat_breakdown],
            paid=inv.paid,
            credited=inv.credited,
            open_amount=inv.totals.gross + inv.credited - inv.paid if inv.status == "confirmed" else inv.totals.gross,
            payment_status=inv.payment_status,
            settled_on=inv.settled_on,
            original_invoice_id=inv.original_invoice_id,
            return_mode=inv.return_mode,
            run_id=str(inv.run_id) if inv.run_id else None,
            created_at=inv.created_at,
            created_by=inv.created_by,
            confirmed_at=inv.confirmed_at,
            confirmed_by=inv.confirmed_by,
            lines=[LineOut.of(line) for line in inv.lines],
        )


class InvoiceList(BaseModel):
    total: int
    items: list[InvoiceOut]


@router.get("", response_model=InvoiceList, dependencies=[READ])
async def search(  # noqa: PLR0917 (query parameters)
    request: Request,
    status_: Literal["draft", "confirmed"] | None = Query(None, alias="status"),
    kind: str | None = Query(None, pattern=KIND_PATTERN),
    customer_number: str | None = Query(None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$"),
    number: int | None = Query(None, ge=1, le=9_999_999_999),
    document_type: Literal["invoice", "corrective", "credit-note"] | None = Query(None),
    payment_status: Literal["open", "partially-paid", "paid", "overpaid", "credited"] | None = Query(None),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Any:
    """Search invoices (without lines; open one for its lines)."""
    f = InvoiceFilter(
        status=status_,
        kind=kind,
        customer_number=customer_number,
        number=number,
        document_type=document_type,
        payment_status=payment_status,
    )
    async with uow(request) as u:
        total, items = await u.invoices.search(f, limit=limit, offset=offset)
    return InvoiceList(total=total, items=[InvoiceOut.of(i) for i in items])


class InvoiceDetail(InvoiceOut):
    payments: list[dict[str, Any]]
    corrective_invoices: list[int]


@router.get("/{invoice_id}", response_model=InvoiceDetail, responses=NOT_FOUND, dependencies=[READ])
async def get_invoice(request: Request, invoice_id: InvoiceId) -> Any:
    """One invoice: lines, VAT, references, payments, corrective invoices."""
    from services.invoicing.tables import invoices as t

    async with uow(request) as u:
        inv = await u.invoices.get(invoice_id)
        if inv is None:
            raise refused(invoice_not_found(invoice_id))
        _, pays = await u.payments.page(status=None, invoice_id=invoice_id, limit=500, offset=0)
        from sqlalchemy import select

        correctives = list(await u.session.scalars(select(t.c.id).where(t.c.original_invoice_id == invoice_id)))
    out = InvoiceOut.of(inv).model_dump()
    return InvoiceDetail(
        **out,
        payments=[
            {
                "payment_id": p.payment_id,
                "amount": str(p.amount),
                "payment_date": p.payment_date.isoformat(),
                "status": p.status,
            }
            for p in pays
        ],
        corrective_invoices=correctives,
    )


class LineEdit(StrictRequest):
    """A draft line's new quantity and/or chargeability (for a corrective draft: the
    new quantity, less or more than its ``original_quantity``; 0 = reverse the line)."""

    model_config = ConfigDict(extra="forbid")

    quantity: DecimalText | None = Field(default=None, ge=0, le=100_000, max_digits=12, decimal_places=3)
    chargeable: bool | None = None


def _refused(exc: Refused) -> Any:
    return refused(exc)


@router.patch(
    "/{invoice_id}/lines/{line_no}",
    response_model=InvoiceOut,
    responses={**NOT_FOUND, **CONFLICT},
    dependencies=[BILL],
)
async def edit_line(
    request: Request,
    invoice_id: InvoiceId,
    body: LineEdit,
    line_no: int = Path(ge=1, le=100_000),
) -> Any:
    if body.quantity is None and body.chargeable is None:
        from shared.http import unprocessable

        raise unprocessable(["body"], "Nothing to change (ei muutettavaa).", "empty_patch")
    try:
        inv = await drafts.edit(uow(request), invoice_id, line_no, quantity=body.quantity, chargeable=body.chargeable)
    except Refused as exc:
        raise refused(exc) from None
    return InvoiceOut.of(inv)


@router.delete(
    "/{invoice_id}/lines/{line_no}",
    response_model=InvoiceOut,
    responses={**NOT_FOUND, **CONFLICT},
    dependencies=[BILL],
)
async def remove_line(request: Request, invoice_id: InvoiceId, line_no: int = Path(ge=1, le=100_000)) -> Any:
    """Remove a line that needs no correction from a corrective draft (seed 004); the
    invoice keeps that line as billed. An invoice draft's line answers 422."""
    try:
        inv = await drafts.remove_line(uow(request), invoice_id, line_no)
    except Refused as exc:
        raise refused(exc) from None
    return InvoiceOut.of(inv)


class Deleted(BaseModel):
    deleted: int
    requests_released: int


@router.delete("/{invoice_id}", response_model=Deleted, responses={**NOT_FOUND, **CONFLICT}, dependencies=[BILL])
async def delete_draft(request: Request, invoice_id: InvoiceId) -> Any:
    """Delete a draft; its requests return to ready."""
    try:
        released = await drafts.delete(uow(request), invoice_id)
    except Refused as exc:
        raise refused(exc) from None
    return Deleted(deleted=invoice_id, requests_released=released)


class DroppedOut(BaseModel):
    """Lines confirmation took off a draft because their orders were cancelled
    (``whole_draft``: none was left, the draft was removed, no invoice issued)."""

    invoice_id: int
    line_nos: list[int]
    request_ids: list[str]
    order_ids: list[str]
    whole_draft: bool
    code: str
    message_fi: str
    message_en: str

    @classmethod
    def of(cls, d: drafts.Dropped) -> DroppedOut:
        return cls(
            invoice_id=d.invoice_id,
            line_nos=list(d.line_nos),
            request_ids=list(d.request_ids),
            order_ids=list(d.order_ids),
            whole_draft=d.whole_draft,
            **d.detail(),
        )


class ConfirmOut(BaseModel):
    confirmed: int
    non_chargeable: int
    refused: dict[str, dict[str, str]]
    invoices: list[InvoiceOut]
    dropped: list[DroppedOut] = []
    """Drafts from which lines of cancelled orders were dropped (or removed whole)."""


class ConfirmedOut(InvoiceOut):
    """The issued invoice, and what confirmation dropped from the draft (orders
    cancelled while it was a draft), if anything."""

    dropped: DroppedOut | None = None


@router.post(
    "/{invoice_id}/confirm", response_model=ConfirmedOut, responses={**NOT_FOUND, **CONFLICT}, dependencies=[BILL]
)
async def confirm_one(request: Request, invoice_id: InvoiceId, caller: Caller) -> Any:
    """Confirm a draft (one-way): number, references, the invoice issued."""
    try:
        out = await drafts.confirm(
            uow(request), [invoice_id], actor=caller.actor, settings=settings(request), strict=True
        )
    except Refused as exc:
        raise refused(exc) from None
    if out.dropped and out.dropped[0].whole_draft:
        detail = out.dropped[0].detail()
        raise refused(Refused(detail["code"], detail["message_fi"], detail["message_en"]))
    if not out.issued:
        raise refused(
            Refused(
                "no-chargeable-lines",
                "Luonnoksella ei ollut veloitettavia rivejä: laskua ei tehty, pyynnöt merkittiin veloituksettomiksi.",
                "The draft had no chargeable lines: no invoice was issued, its requests are non-chargeable.",
            )
        )
    dropped = DroppedOut.of(out.dropped[0]) if out.dropped else None
    return ConfirmedOut(**InvoiceOut.of(out.issued[0]).model_dump(), dropped=dropped)


class BulkConfirm(StrictRequest):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(default=None, min_length=1, max_length=10_000)
    all_of_kind: Literal["subscription", "notice"] | None = None
    """Every draft of this kind (instead of ``ids``)."""


@router.post("/confirm", response_model=ConfirmOut, responses=CONFLICT, dependencies=[BILL])
async def confirm_many(request: Request, body: BulkConfirm, caller: Caller) -> Any:
    """Confirm drafts in bulk: the selected ids, or every draft of a kind. Refusals are
    reported per invoice; the rest are confirmed."""
    if (body.ids is None) == (body.all_of_kind is None):
        from shared.http import unprocessable

        raise unprocessable(["body"], "Give ids or all_of_kind (anna joko ids tai all_of_kind).", "selection")
    ids = body.ids
    if ids is None:
        async with uow(request) as u:
            ids = await u.invoices.drafts(body.all_of_kind)
    try:
        out = await drafts.confirm(uow(request), ids, actor=caller.actor, settings=settings(request), strict=False)
    except Refused as exc:  # the whole confirmation refused (numbering-behind-log)
        raise refused(exc) from None
    return ConfirmOut(
        confirmed=len(out.issued),
        non_chargeable=len(out.non_chargeable),
        refused={str(k): v for k, v in out.refused.items()},
        invoices=[InvoiceOut.of(i) for i in out.issued[:100]],
        dropped=[DroppedOut.of(d) for d in out.dropped[:1000]],
    )


class CorrectiveIn(StrictRequest):
    model_config = ConfigDict(extra="forbid")

    return_mode: Literal["ready", "non-chargeable"] = "ready"
    """What happens to the quantity taken off: billed again later, or dropped."""


@router.post(
    "/{invoice_id}/corrective",
    status_code=status.HTTP_201_CREATED,
    response_model=InvoiceOut,
    responses={**NOT_FOUND, **CONFLICT},
    dependencies=[BILL],
)
async def corrective(request: Request, invoice_id: InvoiceId, body: CorrectiveIn, caller: Caller) -> Any:
    """A corrective draft of a confirmed invoice (seed 004): every line of the invoice as
    it stands at quantity 0, with its ``original_quantity``, so the draft reverses the
    whole invoice. Set the new quantities (PATCH a line: less or more than the original;
    more bills the difference), remove the lines needing no correction (DELETE a line),
    then confirm it."""
    try:
        draft = await corrections.create(uow(request), invoice_id, return_mode=body.return_mode, actor=caller.actor)
    except Refused as exc:
        raise refused(exc) from None
    return InvoiceOut.of(draft)
