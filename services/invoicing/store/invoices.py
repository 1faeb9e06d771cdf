"""Invoices (drafts and confirmed), their lines, and the number series."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.domain.billing import Line, Period, Totals, VatTotal
from services.invoicing.store.sql import in_ints
from services.invoicing.tables import invoice_lines, invoice_series, invoices
from shared.money import plain


@dataclass(frozen=True)
class StoredInvoice:
    id: int
    status: str
    document_type: str
    kind: str
    series: str
    number: int | None
    customer_number: str
    invoice_date: date
    due_date: date
    payment_terms_days: int
    reference: str | None
    reference_rf: str | None
    customer: dict[str, Any] | None
    totals: Totals
    vat_breakdown: tuple[VatTotal, ...]
    run_id: uuid.UUID | None
    original_invoice_id: int | None
    return_mode: str | None
    paid: Decimal
    credited: Decimal
    payment_status: str
    settled_on: date | None
    created_at: datetime
    created_by: str
    confirmed_at: datetime | None
    confirmed_by: str | None
    lines: tuple[Line, ...] = field(default=())


@dataclass(frozen=True)
class NewInvoice:
    status: str
    document_type: str
    kind: str
    series: str
    customer_number: str
    invoice_date: date
    due_date: date
    payment_terms_days: int
    totals: Totals
    vat_breakdown: tuple[VatTotal, ...]
    lines: tuple[Line, ...]
    created_by: str
    customer: dict[str, Any] | None = None
    number: int | None = None
    reference: str | None = None
    reference_rf: str | None = None
    run_id: uuid.UUID | None = None
    original_invoice_id: int | None = None
    return_mode: str | None = None
    confirmed_by: str | None = None


def stored(new: NewInvoice, invoice_id: int, now: datetime) -> StoredInvoice:
    """The row :meth:`InvoiceStore.add` wrote for ``new`` (no need to read it back)."""
    return StoredInvoice(
        id=invoice_id,
        status=new.status,
        document_type=new.document_type,
        kind=new.kind,
        series=new.series,
        number=new.number,
        customer_number=new.customer_number,
        invoice_date=new.invoice_date,
        due_date=new.due_date,
        payment_terms_days=new.payment_terms_days,
        reference=new.reference,
        reference_rf=new.reference_rf,
        customer=new.customer,
        totals=new.totals,
        vat_breakdown=new.vat_breakdown,
        run_id=new.run_id,
        original_invoice_id=new.original_invoice_id,
        return_mode=new.return_mode,
        paid=Decimal("0.00"),
        credited=Decimal("0.00"),
        payment_status="open",
        settled_on=None,
        created_at=now,
        created_by=new.created_by,
        confirmed_at=now if new.status == "confirmed" else None,
        confirmed_by=new.confirmed_by,
        lines=new.lines,
    )


def breakdown_json(rows: Sequence[VatTotal]) -> list[dict[str, str]]:
    return [{"rate": str(r.rate), "net": str(r.net), "vat": str(r.vat), "gross": str(r.gross)} for r in rows]


def breakdown_of(data: Sequence[dict[str, str]]) -> tuple[VatTotal, ...]:
    return tuple(VatTotal(Decimal(r["rate"]), Decimal(r["net"]), Decimal(r["vat"]), Decimal(r["gross"])) for r in data)


def line_row(invoice_id: int, corrective: bool, line: Line) -> dict[str, Any]:
    return {
        "invoice_id": invoice_id,
        "line_no": line.line_no,
        "corrective": corrective,
        "request_id": line.request_id,
        "request_line": line.request_line,
        "order_id": line.order_id,
        "product_code": line.product_code,
        "description": line.description,
        "quantity": line.quantity,
        "unit": line.unit,
        "unit_price": line.unit_price,
        "vat_rate": line.vat_rate,
        "net": line.net,
        "service_start": line.service_period.start if line.service_period else None,
        "service_end": line.service_period.end if line.service_period else None,
        "chargeable": line.chargeable,
        "reversal": line.reversal,
        "original_quantity": line.original_quantity,
    }


def _to_line(r: Any) -> Line:
    return Line(
        line_no=r.line_no,
        product_code=r.product_code,
        description=r.description,
        quantity=r.quantity,
        unit=r.unit,
        unit_price=r.unit_price,
        vat_rate=plain(r.vat_rate),
        net=r.net,
        request_id=r.request_id,
        request_line=r.request_line,
        order_id=r.order_id,
        service_period=Period(r.service_start, r.service_end) if r.service_start else None,
        chargeable=r.chargeable,
        reversal=r.reversal,
        original_quantity=r.original_quantity,
    )


def _to_invoice(r: Any, lines: Sequence[Line] = ()) -> StoredInvoice:
    return StoredInvoice(
        id=r.id,
        status=r.status,
        document_type=r.document_type,
        kind=r.kind,
        series=r.series,
        number=r.number,
        customer_number=r.customer_number,
        invoice_date=r.invoice_date,
        due_date=r.due_date,
        payment_terms_days=r.payment_terms_days,
        reference=r.reference,
        reference_rf=r.reference_rf,
        customer=r.customer,
        totals=Totals(r.net, r.vat, r.gross),
        vat_breakdown=breakdown_of(r.vat_breakdown),
        run_id=r.run_id,
        original_invoice_id=r.original_invoice_id,
        return_mode=r.return_mode,
        paid=r.paid,
        credited=r.credited,
        payment_status=r.payment_status,
        settled_on=r.settled_on,
        created_at=r.created_at,
        created_by=r.created_by,
        confirmed_at=r.confirmed_at,
        confirmed_by=r.confirmed_by,
        lines=tuple(lines),
    )


@dataclass(frozen=True)
class InvoiceFilter:
    status: str | None = None
    kind: str | None = None
    customer_number: str | None = None
    number: int | None = None
    run_id: uuid.UUID | None = None
    document_type: str | None = None
    payment_status: str | None = None


_INSERT_INVOICES = text(
    """
    INSERT INTO invoices (id, status, document_type, kind, series, number, customer_number, invoice_date, due_date,
                          payment_terms_days, reference, reference_rf, customer, net, vat, gross, vat_breakdown,
                          run_id, original_invoice_id, return_mode, created_by, confirmed_by, confirmed_at)
    OVERRIDING SYSTEM VALUE
    SELECT id, status, document_type, kind, series, number, customer_number, invoice_date, due_date, terms,
           reference, reference_rf, CAST(customer AS jsonb), net, vat, gross, CAST(breakdown AS jsonb), run_id,
           original, return_mode, created_by, confirmed_by, confirmed_at
    FROM unnest(CAST(:id AS bigint[]), CAST(:status AS text[]), CAST(:document_type AS text[]),
                CAST(:kind AS text[]), CAST(:series AS text[]), CAST(:number AS bigint[]),
                CAST(:customer_number AS text[]), CAST(:invoice_date AS date[]), CAST(:due_date AS date[]),
                CAST(:terms AS int[]), CAST(:reference AS text[]), CAST(:reference_rf AS text[]),
                CAST(:customer AS text[]), CAST(:net AS numeric[]), CAST(:vat AS numeric[]),
                CAST(:gross AS numeric[]), CAST(:breakdown AS text[]), CAST(:run_id AS uuid[]),
                CAST(:original AS bigint[]), CAST(:return_mode AS text[]), CAST(:created_by AS text[]),
                CAST(:confirmed_by AS text[]), CAST(:confirmed_at AS timestamptz[]))
         AS r(id, status, document_type, kind, series, number, customer_number, invoice_date, due_date, terms,
              reference, reference_rf, customer, net, vat, gross, breakdown, run_id, original, return_mode,
              created_by, confirmed_by, confirmed_at)
    """
)

_INSERT_LINES = text(
    """
    INSERT INTO invoice_lines (invoice_id, line_no, corrective, request_id, request_line, order_id, product_code,
                               description, quantity, unit, unit_price, vat_rate, net, service_start, service_end,
                               chargeable, reversal, original_quantity)
    SELECT * FROM unnest(CAST(:invoice_id AS bigint[]), CAST(:line_no AS int[]), CAST(:corrective AS boolean[]),
                         CAST(:request_id AS text[]), CAST(:request_line AS int[]), CAST(:order_id AS text[]),
                         CAST(:product_code AS text[]), CAST(:description AS text[]), CAST(:quantity AS numeric[]),
                         CAST(:unit AS text[]), CAST(:unit_price AS numeric[]), CAST(:vat_rate AS numeric[]),
                         CAST(:net AS numeric[]), CAST(:service_start AS date[]), CAST(:service_end AS date[]),
                         CAST(:chargeable AS boolean[]), CAST(:reversal AS boolean[]),
                         CAST(:original_quantity AS numeric[]))
    """
)


class InvoiceStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def allocate_numbers(self, series: str, count: int) -> int:
        """Reserve ``count`` consecutive counters of ``series``; returns the first.

        The series row stays locked until the transaction ends, so confirmations of one
        series are serialised and a rollback returns the numbers: no gap, no reuse."""
        await self.session.execute(
            insert(invoice_series).values(series=series, last_value=0).on_conflict_do_nothing(index_elements=["series"])
        )
        last = await self.session.scalar(
            update(invoice_series)
            .where(invoice_series.c.series == series)
            .values(last_value=invoice_series.c.last_value + count)
            .returning(invoice_series.c.last_value)
        )
        assert last is not None
        return int(last) - count + 1

    async def add(self, new: Sequence[NewInvoice]) -> list[int]:
        """Insert invoices and their lines; returns their ids in order.

        Two statements whatever the number of invoices: the ids are taken from the
        identity's sequence first, then every column goes as one array parameter
        (``unnest``), so the cost per invoice is the rows, not statements."""
        if not new:
            return []
        ids = [
            int(i)
            for i in await self.session.scalars(
                text("SELECT nextval(pg_get_serial_sequence('invoices', 'id')) FROM generate_series(1, :n)"),
                {"n": len(new)},
            )
        ]
        now = datetime.now(UTC)
        await self.insert(ids, new, [now if n.status == "confirmed" else None for n in new])
        return ids

    async def insert(
        self, ids: Sequence[int], new: Sequence[NewInvoice], confirmed_at: Sequence[datetime | None]
    ) -> None:
        """Insert invoices and their lines under the given ids (reconcile rebuilds issued
        invoices under the ids their documents carry)."""
        await self.session.execute(
            _INSERT_INVOICES,
            {
                "id": ids,
                "status": [n.status for n in new],
                "document_type": [n.document_type for n in new],
                "kind": [n.kind for n in new],
                "series": [n.series for n in new],
                "number": [n.number for n in new],
                "customer_number": [n.customer_number for n in new],
                "invoice_date": [n.invoice_date for n in new],
                "due_date": [n.due_date for n in new],
                "terms": [n.payment_terms_days for n in new],
                "reference": [n.reference for n in new],
                "reference_rf": [n.reference_rf for n in new],
                "customer": [json.dumps(n.customer) if n.customer is not None else None for n in new],
                "net": [n.totals.net for n in new],
                "vat": [n.totals.vat for n in new],
                "gross": [n.totals.gross for n in new],
                "breakdown": [json.dumps(breakdown_json(n.vat_breakdown)) for n in new],
                "run_id": [n.run_id for n in new],
                "original": [n.original_invoice_id for n in new],
                "return_mode": [n.return_mode for n in new],
                "created_by": [n.created_by for n in new],
                "confirmed_by": [n.confirmed_by for n in new],
                "confirmed_at": list(confirmed_at),
            },
        )
        await self.add_lines(
            [(i, n.original_invoice_id is not None, line) for i, n in zip(ids, new, strict=True) for line in n.lines]
        )

    async def add_lines(self, rows: Sequence[tuple[int, bool, Line]]) -> None:
        if not rows:
            return
        lines = [line for _, _, line in rows]
        await self.session.execute(
            _INSERT_LINES,
            {
                "invoice_id": [i for i, _, _ in rows],
                "line_no": [line.line_no for line in lines],
                "corrective": [c for _, c, _ in rows],
                "request_id": [line.request_id for line in lines],
                "request_line": [line.request_line for line in lines],
                "order_id": [line.order_id for line in lines],
                "product_code": [line.product_code for line in lines],
                "description": [line.description for line in lines],
                "quantity": [line.quantity for line in lines],
                "unit": [line.unit for line in lines],
                "unit_price": [line.unit_price for line in lines],
                "vat_rate": [line.vat_rate for line in lines],
                "net": [line.net for line in lines],
                "service_start": [line.service_period.start if line.service_period else None for line in lines],
                "service_end": [line.service_period.end if line.service_period else None for line in lines],
                "chargeable": [line.chargeable for line in lines],
                "reversal": [line.reversal for line in lines],
                "original_quantity": [line.original_quantity for line in lines],
            },
        )

    async def get(self, invoice_id: int, *, lock: bool = False, with_lines: bool = True) -> StoredInvoice | None:
        stmt = select(invoices).where(invoices.c.id == invoice_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self.session.execute(stmt)).first()
        if row is None:
            return None
        lines = await self.lines_of([invoice_id]) if with_lines else {}
        return _to_invoice(row, lines.get(invoice_id, []))

    async def get_many(self, ids: Sequence[int], *, lock: bool = False) -> list[StoredInvoice]:
        stmt = select(invoices).where(in_ints(invoices.c.id, ids)).order_by(invoices.c.id)
        if lock:
            stmt = stmt.with_for_update()
        rows = list(await self.session.execute(stmt))
        lines = await self.lines_of([r.id for r in rows])
        return [_to_invoice(r, lines.get(r.id, [])) for r in rows]

    async def by_number(self, number: int) -> StoredInvoice | None:
        invoice_id = await self.session.scalar(select(invoices.c.id).where(invoices.c.number == number))
        return await self.get(invoice_id) if invoice_id is not None else None

    async def by_reference(self, reference: str, *, lock: bool = True) -> StoredInvoice | None:
        stmt = select(invoices).where(invoices.c.reference == reference)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self.session.execute(stmt)).first()
        return _to_invoice(row) if row is not None else None

    async def lines_of(self, ids: Sequence[int]) -> dict[int, list[Line]]:
        if not ids:
            return {}
        rows = await self.session.execute(
            select(invoice_lines)
            .where(in_ints(invoice_lines.c.invoice_id, ids))
            .order_by(invoice_lines.c.invoice_id, invoice_lines.c.line_no)
        )
        out: dict[int, list[Line]] = {}
        for r in rows:
            out.setdefault(r.invoice_id, []).append(_to_line(r))
        return out

    async def search(self, f: InvoiceFilter, *, limit: int, offset: int) -> tuple[int, list[StoredInvoice]]:
        c = invoices.c
        conds = []
        if f.status:
            conds.append(c.status == f.status)
        if f.kind:
            conds.append(c.kind == f.kind)
        if f.customer_number:
            conds.append(c.customer_number == f.customer_number)
        if f.number is not None:
            conds.append(c.number == f.number)
        if f.run_id is not None:
            conds.append(c.run_id == f.run_id)
        if f.document_type:
            conds.append(c.document_type == f.document_type)
        if f.payment_status:
            conds.append(c.payment_status == f.payment_status)
        total = await self.session.scalar(select(func.count()).select_from(invoices).where(*conds))
        rows = await self.session.execute(select(invoices).where(*conds).order_by(c.id).limit(limit).offset(offset))
        return int(total or 0), [_to_invoice(r) for r in rows]

    async def replace_lines(
        self, invoice_id: int, lines: Sequence[Line], totals: Totals, rows: Sequence[VatTotal]
    ) -> None:
        """A draft's lines after an edit (same line numbers), and its new totals."""
        if lines:
            await self.session.execute(
                update(invoice_lines)
                .where(invoice_lines.c.invoice_id == invoice_id, invoice_lines.c.line_no == bindparam("no"))
                .values(quantity=bindparam("q"), net=bindparam("n"), chargeable=bindparam("c")),
                [{"no": line.line_no, "q": line.quantity, "n": line.net, "c": line.chargeable} for line in lines],
            )
        await self.session.execute(
            update(invoices)
            .where(invoices.c.id == invoice_id)
            .values(net=totals.net, vat=totals.vat, gross=totals.gross, vat_breakdown=breakdown_json(rows))
        )

    async def delete_line(self, invoice_id: int, line_no: int) -> bool:
        """Remove one line of a draft (a corrective draft's line needing no correction)."""
        result = await self.session.execute(
            delete(invoice_lines).where(invoice_lines.c.invoice_id == invoice_id, invoice_lines.c.line_no == line_no)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def delete(self, invoice_id: int) -> None:
        await self.session.execute(delete(invoices).where(invoices.c.id == invoice_id))

    async def drop_lines(self, invoice_id: int, line_nos: Sequence[int]) -> None:
        """Remove lines from a draft (their orders were cancelled); the other lines keep
        their numbers. The caller sets the new totals (:meth:`replace_lines`)."""
        await self.session.execute(
            delete(invoice_lines).where(
                invoice_lines.c.invoice_id == invoice_id, in_ints(invoice_lines.c.line_no, line_nos)
            )
        )

    async def confirm(self, invoice_id: int, values: dict[str, Any]) -> None:
        await self.session.execute(
            update(invoices)
            .where(invoices.c.id == invoice_id)
            .values(status="confirmed", confirmed_at=func.now(), **values)
        )

    async def confirm_numbered(
        self, ids: Sequence[int], numbers: Sequence[tuple[int, str, str]], actor: str, at: datetime
    ) -> None:
        """Confirm drafts with their (number, reference, RF reference): one statement
        (a billing run's last step, right after it took its block of numbers)."""
        await self.session.execute(
            _CONFIRM_MANY,
            {
                "ids": list(ids),
                "numbers": [n for n, _, _ in numbers],
                "refs": [r for _, r, _ in numbers],
                "rfs": [rf for _, _, rf in numbers],
                "actor": actor,
                "at": at,
            },
        )

    async def confirmed_corrections(self, original_id: int) -> list[list[Line]]:
        ids = list(
            await self.session.scalars(
                select(invoices.c.id).where(
                    invoices.c.original_invoice_id == original_id, invoices.c.status == "confirmed"
                )
            )
        )
        lines = await self.lines_of(ids)
        return [lines.get(i, []) for i in ids]

    async def open_corrective_draft(self, original_id: int) -> int | None:
        return await self.session.scalar(
            select(invoices.c.id).where(invoices.c.original_invoice_id == original_id, invoices.c.status == "draft")
        )

    async def set_balance(
        self, invoice_id: int, *, paid: Decimal, credited: Decimal, status: str, settled_on: date | None
    ) -> None:
        await self.session.execute(
            update(invoices)
            .where(invoices.c.id == invoice_id)
            .values(paid=paid, credited=credited, payment_status=status, settled_on=settled_on)
        )

    async def drafts(self, kind: str | None) -> list[int]:
        conds = [invoices.c.status == "draft"]
        if kind:
            conds.append(invoices.c.kind == kind)
        return list(await self.session.scalars(select(invoices.c.id).where(*conds).order_by(invoices.c.id)))

    async def run_rows(self, run_id: uuid.UUID) -> list[tuple[StoredInvoice, int]]:
        """A run's invoices (without lines) with their line counts, in creation order."""
        count = (
            select(func.count())
            .where(invoice_lines.c.invoice_id == invoices.c.id)
            .correlate(invoices)
            .scalar_subquery()
            .label("line_count")
        )
        rows = await self.session.execute(
            select(invoices, count).where(invoices.c.run_id == run_id).order_by(invoices.c.id)
        )
        return [(_to_invoice(r), int(r.line_count)) for r in rows]


_CONFIRM_MANY = text(
    """
    UPDATE invoices AS i
       SET status = 'confirmed', number = u.number, reference = u.reference, reference_rf = u.reference_rf,
           confirmed_by = :actor, confirmed_at = :at
      FROM unnest(CAST(:ids AS bigint[]), CAST(:numbers AS bigint[]), CAST(:refs AS text[]), CAST(:rfs AS text[]))
           AS u(id, number, reference, reference_rf)
     WHERE i.id = u.id
    """
)
