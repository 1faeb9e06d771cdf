"""Billing runs (seed steps 13-16): start one (preview, draft or confirm) over all
ready requests of a kind or a selection, follow it as a job, read its summary, and
download the summary as a PDF."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.invoicing.api.common import CONFLICT, KIND_PATTERN, refused, runtime, uow
from services.invoicing.api.invoices import InvoiceOut
from services.invoicing.domain.billing import Line, Period, Totals
from services.invoicing.domain.numbering import series_for
from services.invoicing.handlers.errors import Refused
from services.invoicing.handlers.numbering import RUN_CONFIRM, RUN_DRAFT, ensure_numbering
from services.invoicing.handlers.runs import RUN, RunParams
from services.invoicing.store.invoices import StoredInvoice, breakdown_of
from shared.api_models import IsoDate, StrictRequest
from shared.auth.http import Caller, require
from shared.events.invoicing import BillingRunFinished
from shared.http import AUTH_ERRORS, NOT_FOUND
from shared.jobs.api import JobOut, accepted
from shared.money import ZERO, plain

if TYPE_CHECKING:  # the PDF module (reportlab) is imported when a summary is rendered, not at start
    from services.invoicing.summary_pdf import SummaryRow

router = APIRouter(prefix="/billing-runs", tags=["billing runs"], responses=AUTH_ERRORS)
BILL = require("invoicing:bill")
READ = require("invoicing:read")

RequestIdItem = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
]
MAX_SELECTION = 100_000


class RunIn(StrictRequest):
    """Suorita laskutusajo: all ready requests of ``kind`` (up to ``up_to`` when given),
    or only the selected ``request_ids`` (at most 100,000)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["subscription", "notice"]
    mode: Literal["preview", "draft", "confirm"] = "confirm"
    request_ids: list[RequestIdItem] | None = Field(default=None, min_length=1, max_length=MAX_SELECTION)
    up_to: IsoDate | None = None


class RunOut(BaseModel):
    run_id: uuid.UUID
    job_url: str
    summary_pdf_url: str
    invoices_url: str
    kind: str
    mode: str
    up_to: date | None
    selected: int | None
    actor: str
    started_at: datetime
    finished_at: datetime | None
    summary: BillingRunFinished | None
    """Present once the run has finished."""


class RunList(BaseModel):
    total: int
    items: list[RunOut]


def _out(row: Any) -> RunOut:
    return RunOut(
        run_id=row.id,
        job_url=f"/jobs/{row.id}",
        summary_pdf_url=f"/billing-runs/{row.id}/summary.pdf",
        invoices_url=f"/billing-runs/{row.id}/invoices",
        kind=row.kind,
        mode=row.mode,
        up_to=row.up_to,
        selected=row.selected,
        actor=row.actor,
        started_at=row.started_at,
        finished_at=row.finished_at,
        summary=BillingRunFinished.model_validate(row.summary) if row.summary else None,
    )


def _not_found(run_id: uuid.UUID) -> HTTPException:
    return HTTPException(
        404,
        detail={
            "code": "run-not-found",
            "message_fi": f"Laskutusajoa {run_id} ei löydy (tai se ei ole vielä alkanut).",
            "message_en": f"Billing run {run_id} not found (or not started yet).",
        },
    )


RunId = Annotated[uuid.UUID, Path(description="The run's id (its job's id)")]


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut, responses=CONFLICT, dependencies=[BILL])
async def start(request: Request, body: RunIn, caller: Caller) -> Any:
    """Start a billing run as a job: 202 with the job (``Location``); its id is the
    run's. Follow ``/jobs/{id}`` for progress, then read ``/billing-runs/{id}``."""
    params = RunParams(
        body.kind, body.mode, body.up_to, list(dict.fromkeys(body.request_ids)) if body.request_ids else None
    )
    if body.mode != "preview":
        try:
            async with uow(request) as u:
                await ensure_numbering(u, RUN_CONFIRM if body.mode == "confirm" else RUN_DRAFT)
        except Refused as exc:
            raise refused(exc) from None
    job, _ = await runtime(request).jobs.start_job(RUN, params.as_params(), actor=caller.actor)
    return accepted(job)


@router.get("", response_model=RunList, dependencies=[READ])
async def list_runs(
    request: Request,
    kind: str | None = Query(None, pattern=KIND_PATTERN),
    limit: int = Query(20, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> Any:
    async with uow(request) as u:
        total, rows = await u.runs.page(kind=kind, limit=limit, offset=offset)
    return RunList(total=total, items=[_out(r) for r in rows])


@router.get("/{run_id}", response_model=RunOut, responses=NOT_FOUND, dependencies=[READ])
async def get_run(request: Request, run_id: RunId) -> Any:
    async with uow(request) as u:
        row = await u.runs.get(run_id)
    if row is None:
        raise _not_found(run_id)
    return _out(row)


async def _rows(request: Request, row: Any) -> list[SummaryRow]:
    from services.invoicing.summary_pdf import SummaryRow

    async with uow(request) as u:
        if row.mode == "preview":
            return [_preview_row(p) for p in await u.runs.previews(row.id)]
        return [
            SummaryRow(
                invoice_number=str(inv.number) if inv.number is not None else None,
                customer_number=inv.customer_number,
                customer_name=(inv.customer or {}).get("data", {}).get("name"),
                channel=(inv.customer or {}).get("data", {}).get("delivery_channel", "print"),
                invoice_date=inv.invoice_date,
                due_date=inv.due_date,
                lines=lines,
                net=inv.totals.net,
                vat=inv.totals.vat,
                gross=inv.totals.gross,
            )
            for inv, lines in await u.invoices.run_rows(row.id)
        ]


def _preview_row(p: dict[str, Any]) -> SummaryRow:
    from services.invoicing.summary_pdf import SummaryRow

    data = p["customer"]["data"]
    return SummaryRow(
        invoice_number=None,
        customer_number=p["customer_number"],
        customer_name=data.get("name"),
        channel=data.get("delivery_channel", "print"),
        invoice_date=date.fromisoformat(p["invoice_date"]),
        due_date=date.fromisoformat(p["due_date"]),
        lines=len(p["lines"]),
        net=Decimal(p["totals"]["net"]),
        vat=Decimal(p["totals"]["vat"]),
        gross=Decimal(p["totals"]["gross"]),
    )


@router.get(
    "/{run_id}/summary.pdf",
    responses={**NOT_FOUND, 200: {"content": {"application/pdf": {}}, "description": "The summary as PDF"}},
    response_class=Response,
    dependencies=[READ],
)
async def summary_pdf(
    request: Request, run_id: RunId, language: Literal["fi", "en"] = Query("fi", description="fi | en")
) -> Response:
    """The run's summary as a PDF a clerk prints (seed step 16), in Finnish or English."""
    from services.invoicing.summary_pdf import render_run_summary

    async with uow(request) as u:
        row = await u.runs.get(run_id)
    if row is None or row.summary is None:
        raise _not_found(run_id)
    pdf = render_run_summary(
        BillingRunFinished.model_validate(row.summary),
        await _rows(request, row),
        language=language,
        generated_at=datetime.now(UTC),
    )
    name = f"laskutusajo-{row.kind}-{row.started_at:%Y%m%d}-{str(run_id)[:8]}.pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


class PreviewPage(BaseModel):
    """A run's invoices, each in the shape of ``GET /invoices/{id}`` (a preview's with
    ``status`` ``preview`` and no id, number or references)."""

    total: int
    items: list[dict[str, Any]]


@router.get("/{run_id}/invoices", response_model=PreviewPage, responses=NOT_FOUND, dependencies=[READ])
async def run_invoices(
    request: Request,
    run_id: RunId,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Any:
    """What the run created (or, for a preview, would create), with every line."""
    async with uow(request) as u:
        row = await u.runs.get(run_id)
        if row is None:
            raise _not_found(run_id)
        if row.mode == "preview":
            total = await u.runs.preview_count(run_id)
            previews = await u.runs.previews(run_id, limit=limit, offset=offset)
            return PreviewPage(total=total, items=[_previewed(p, row) for p in previews])
        rows = await u.invoices.run_rows(run_id)
        page = [inv.id for inv, _ in rows[offset : offset + limit]]
        invoices = await u.invoices.get_many(page)
    return PreviewPage(total=len(rows), items=[InvoiceOut.of(inv).model_dump(mode="json") for inv in invoices])


_QUANTITY = Decimal("0.001")
_PRICE = Decimal("0.0001")


def _previewed(p: dict[str, Any], run: Any) -> dict[str, Any]:
    """A previewed invoice in the shape of an invoice (``InvoiceOut``), so one reader
    reads both: ``status`` ``preview``, no id, number or references yet."""
    lines = tuple(
        Line(
            line_no=x["line_no"],
            product_code=x["product_code"],
            description=x["description"],
            quantity=Decimal(x["quantity"]).quantize(_QUANTITY),  # as stored on an invoice line
            unit=x["unit"],
            unit_price=Decimal(x["unit_price"]).quantize(_PRICE),
            vat_rate=plain(Decimal(x["vat_rate"])),
            net=Decimal(x["net"]),
            request_id=x.get("request_id"),
            request_line=x.get("request_line"),
            order_id=x.get("order_id"),
            service_period=Period(
                date.fromisoformat(x["service_period"]["start"]), date.fromisoformat(x["service_period"]["end"])
            )
            if x.get("service_period")
            else None,
        )
        for x in p["lines"]
    )
    totals = p["totals"]
    inv = StoredInvoice(
        id=0,
        status="preview",
        document_type="invoice",
        kind=p["kind"],
        series=series_for(p["kind"]),
        number=None,
        customer_number=p["customer_number"],
        invoice_date=date.fromisoformat(p["invoice_date"]),
        due_date=date.fromisoformat(p["due_date"]),
        payment_terms_days=p["payment_terms_days"],
        reference=None,
        reference_rf=None,
        customer=p["customer"],
        totals=Totals(Decimal(totals["net"]), Decimal(totals["vat"]), Decimal(totals["gross"])),
        vat_breakdown=breakdown_of(p["vat_breakdown"]),
        run_id=run.id,
        original_invoice_id=None,
        return_mode=None,
        paid=ZERO,
        credited=ZERO,
        payment_status="open",
        settled_on=None,
        created_at=run.started_at,
        created_by=run.actor,
        confirmed_at=None,
        confirmed_by=None,
        lines=lines,
    )
    return {**InvoiceOut.of(inv).model_dump(mode="json"), "id": None}
