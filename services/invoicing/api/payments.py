"""Payments: the unmatched ones for a clerk to allocate, and the allocation."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services.invoicing.api.common import CONFLICT, refused, uow
from services.invoicing.handlers import payments
from services.invoicing.handlers.errors import Refused
from services.invoicing.store.payments import StoredPayment
from shared.api_models import StrictRequest
from shared.auth.http import Caller, require
from shared.http import AUTH_ERRORS, NOT_FOUND

router = APIRouter(prefix="/payments", tags=["payments"], responses=AUTH_ERRORS)
BILL = require("invoicing:bill")
READ = require("invoicing:read")


class PaymentOut(BaseModel):
    payment_id: str
    reference: str
    amount: Decimal
    payment_date: date
    payer_name: str | None
    invoice_id: int | None
    status: str
    reason: str | None
    reason_fi: str | None
    reason_en: str | None
    received_at: datetime
    allocated_by: str | None
    kind: Literal["payment", "reversal"] = "payment"
    """A payment, or the bank's reversal of one (status ``reversal`` once applied)."""
    reverses_payment_id: str | None = None

    @classmethod
    def of(cls, p: StoredPayment) -> PaymentOut:
        fi, en = payments.UNMATCHED_REASONS.get(p.reason or "", (None, None))
        return cls(
            payment_id=p.payment_id,
            reference=p.reference,
            amount=p.amount,
            payment_date=p.payment_date,
            payer_name=p.payer_name,
            invoice_id=p.invoice_id,
            status=p.status,
            reason=p.reason,
            reason_fi=fi,
            reason_en=en,
            received_at=p.received_at,
            allocated_by=p.allocated_by,
            kind="reversal" if p.kind == "reversal" else "payment",
            reverses_payment_id=p.reverses_payment_id,
        )


class PaymentList(BaseModel):
    total: int
    items: list[PaymentOut]


@router.get("", response_model=PaymentList, dependencies=[READ])
async def list_payments(
    request: Request,
    status: Literal["matched", "unmatched", "allocated", "reversed", "reversal"] | None = Query(None),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Any:
    """Payments; ``status=unmatched`` lists those waiting for a clerk."""
    async with uow(request) as u:
        total, items = await u.payments.page(status=status, invoice_id=None, limit=limit, offset=offset)
    return PaymentList(total=total, items=[PaymentOut.of(p) for p in items])


class AllocateIn(StrictRequest):
    model_config = ConfigDict(extra="forbid")

    invoice_number: int = Field(ge=1, le=9_999_999_999)


PaymentId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")]


@router.post(
    "/{payment_id:path}/allocate", response_model=PaymentOut, responses={**NOT_FOUND, **CONFLICT}, dependencies=[BILL]
)
async def allocate(request: Request, payment_id: PaymentId, body: AllocateIn, caller: Caller) -> Any:
    """Allocate an unmatched payment to an invoice by hand."""
    try:
        stored = await payments.allocate(uow(request), payment_id, body.invoice_number, actor=caller.actor)
    except Refused as exc:
        raise refused(exc) from None
    return PaymentOut.of(stored)


class ApplyIn(StrictRequest):
    model_config = ConfigDict(extra="forbid")

    payment_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")


@router.post(
    "/{reversal_id:path}/apply", response_model=PaymentOut, responses={**NOT_FOUND, **CONFLICT}, dependencies=[BILL]
)
async def apply(request: Request, reversal_id: PaymentId, body: ApplyIn) -> Any:
    """Apply a bank reversal kept as ``reversal-unknown`` (its payment was not known when
    it came) to the payment it took back: the payment is marked ``reversed`` and, if it
    was on an invoice, the invoice's paid amount is lowered (the invoice may be open
    again). 409 when it is not a waiting reversal, the payment is reversed already or
    the amounts differ."""
    try:
        stored = await payments.apply_reversal(uow(request), reversal_id, body.payment_id)
    except Refused as exc:
        raise refused(exc) from None
    return PaymentOut.of(stored)
