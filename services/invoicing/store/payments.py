"""Reference payments from the bank: matched, unmatched (for the clerk), allocated,
reversed; and the bank's reversals of them (``kind = 'reversal'``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.tables import payments


@dataclass(frozen=True)
class StoredPayment:
    payment_id: str
    reference: str
    amount: Decimal
    payment_date: date
    payer_name: str | None
    invoice_id: int | None
    status: str
    reason: str | None
    received_at: datetime
    allocated_by: str | None
    kind: str = "payment"
    reverses_payment_id: str | None = None


CANDIDATES = 200
"""At most this many equal-amount candidates are compared for one reversal."""

REVERSIBLE = ("matched", "allocated", "unmatched")
"""The statuses of a payment a reversal can take back (not one reversed already)."""


def _to_payment(r: Any) -> StoredPayment:
    return StoredPayment(
        payment_id=r.payment_id,
        reference=r.reference,
        amount=r.amount,
        payment_date=r.payment_date,
        payer_name=r.payer_name,
        invoice_id=r.invoice_id,
        status=r.status,
        reason=r.reason,
        received_at=r.received_at,
        allocated_by=r.allocated_by,
        kind=r.kind,
        reverses_payment_id=r.reverses_payment_id,
    )


class PaymentStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: dict[str, Any]) -> bool:
        """Record a payment; False when the bank's payment id is already recorded."""
        result = await self.session.execute(
            insert(payments)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["payment_id"])
            .returning(payments.c.payment_id)
        )
        return result.first() is not None

    async def get(self, payment_id: str, *, lock: bool = False) -> StoredPayment | None:
        stmt = select(payments).where(payments.c.payment_id == payment_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self.session.execute(stmt)).first()
        return _to_payment(row) if row is not None else None

    async def page(
        self, *, status: str | None, invoice_id: int | None, limit: int, offset: int
    ) -> tuple[int, list[StoredPayment]]:
        conds = []
        if status:
            conds.append(payments.c.status == status)
        if invoice_id is not None:
            conds.append(payments.c.invoice_id == invoice_id)
        total = await self.session.scalar(select(func.count()).select_from(payments).where(*conds))
        rows = await self.session.execute(
            select(payments)
            .where(*conds)
            .order_by(payments.c.received_at, payments.c.payment_id)
            .limit(limit)
            .offset(offset)
        )
        return int(total or 0), [_to_payment(r) for r in rows]

    async def allocate(self, payment_id: str, invoice_id: int, actor: str) -> None:
        await self.session.execute(
            update(payments)
            .where(payments.c.payment_id == payment_id)
            .values(invoice_id=invoice_id, status="allocated", allocated_by=actor, reason=None)
        )

    async def reversible(self, *, invoice_id: int | None, amount: Decimal) -> list[StoredPayment]:
        """The payments of ``amount`` a reversal that does not name its payment may take
        back: on the invoice its reference points to, or not on an invoice by the matcher
        (unmatched, allocated by hand; the caller compares their normalised references).
        Not locked: the caller locks the one it takes."""
        loose = payments.c.status.in_(("unmatched", "allocated"))
        where = or_(loose, payments.c.invoice_id == invoice_id) if invoice_id is not None else loose
        rows = await self.session.execute(
            select(payments)
            .where(payments.c.kind == "payment", payments.c.status.in_(REVERSIBLE), payments.c.amount == amount, where)
            .order_by(payments.c.received_at.desc(), payments.c.payment_id.desc())
            .limit(CANDIDATES)
        )
        return [_to_payment(r) for r in rows]

    async def waiting_reversals(self, amount: Decimal) -> list[StoredPayment]:
        """Reversals of ``amount`` kept for the clerk because their payment was not known
        (``reversal-unknown``), oldest first."""
        rows = await self.session.execute(
            select(payments)
            .where(
                payments.c.kind == "reversal",
                payments.c.status == "unmatched",
                payments.c.reason == "reversal-unknown",
                payments.c.amount == amount,
            )
            .order_by(payments.c.received_at, payments.c.payment_id)
            .limit(CANDIDATES)
            .with_for_update()
        )
        return [_to_payment(r) for r in rows]

    async def link_reversal(self, reversal_id: str, *, original_id: str, invoice_id: int | None) -> None:
        """A waiting reversal applied to its payment (automatically or by the clerk)."""
        await self.session.execute(
            update(payments)
            .where(payments.c.payment_id == reversal_id)
            .values(status="reversal", reason=None, reverses_payment_id=original_id, invoice_id=invoice_id)
        )

    async def mark_reversed(self, payment_id: str) -> None:
        await self.session.execute(
            update(payments).where(payments.c.payment_id == payment_id).values(status="reversed")
        )
