"""HTTP API of the reminders service (token required): the Invoices tab of the seed
(steps 1-6), the dispute flag, and the collection hand-over.

- ``GET  /reminders/candidates?level=1`` - fetch the candidates (*Hae maksumuistutettavat #1*)
- ``POST /reminders/create`` - create reminders for all candidates or a selection (a job: 202)
- ``GET  /reminders/jobs/{id}/summary`` - how many were created and skipped, and why (fi/en)
- ``GET  /invoices/{id}``, ``PUT /invoices/{id}/dispute`` - an open item, its reminders, the dispute flag
- ``GET  /collection/candidates``, ``POST /collection/handover`` - after the last reminder
- ``GET  /reminders/reference-rates`` - half-years without a reference rate (``rates_api``)
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.reminders import handlers
from services.reminders.documents import current_customer
from services.reminders.domain.collection import Claim
from services.reminders.domain.eligibility import Candidate, Exclusion
from services.reminders.domain.policy import PolicyMissing
from services.reminders.rates_api import MissingRateOut, missing_rates
from services.reminders.repositories import RemindersUnitOfWork
from services.reminders.runtime import RemindersRuntime
from services.reminders.tables import StoredItem
from shared.api_models import IsoDate, StrictRequest
from shared.auth.http import Caller, require
from shared.events.customers import Code
from shared.http import AUTH_ERRORS, NOT_FOUND, unprocessable
from shared.jobs.api import JobOut, accepted
from shared.money import format_fi

router = APIRouter(tags=["reminders"], responses=AUTH_ERRORS)
READ = require("reminders:read")
REMIND = require("reminders:remind")

_PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]+$"
_ID = r"^[!-~]{1,40}$"
Day = Annotated[IsoDate, Field(ge=date(2000, 1, 1), le=date(2099, 12, 31))]
InvoiceId = Annotated[str, Field(min_length=1, max_length=40, pattern=_ID)]
UNPROCESSABLE_DATE = "No reminder policy is valid on this date (Päivämäärälle ei ole voimassa olevaa käytäntöä)."


class PeriodOut(BaseModel):
    start: date
    end: date
    days: int
    rate: Decimal
    principal: Decimal
    amount: Decimal


class RowOut(BaseModel):
    """One invoice in a list: a candidate (with what it would be charged) or excluded (why)."""

    invoice_id: str
    invoice_number: str
    customer_number: str
    customer_name: str | None
    consumer: bool
    invoice_date: date
    due_date: date
    days_overdue: int
    open_amount: Decimal
    candidate: bool
    fee: Decimal | None = None
    compensation: Decimal | None = None
    interest: Decimal | None = None
    interest_periods: list[PeriodOut] = Field(default_factory=list)
    interest_not_charged: list[tuple[date, date]] = Field(default_factory=list)
    """Days without interest: their half-year's reference rate is not in the table yet."""
    total_due: Decimal | None = None
    new_due_date: date | None = None
    reminders_made: int = 0
    reason: str | None = None
    earliest: date | None = None
    message_fi: str | None = None
    message_en: str | None = None


class ReasonCount(BaseModel):
    reason: str
    count: int


class TotalsOut(BaseModel):
    candidates: int
    excluded: int
    excluded_by_reason: list[ReasonCount]
    open_amount: Decimal
    fees: Decimal
    compensation: Decimal
    interest: Decimal
    total_due: Decimal


class ListOut(BaseModel):
    level: int
    date: date
    totals: TotalsOut
    items: list[RowOut]
    next_after: str | None = Field(description="Pass as `after` for the next page; null on the last page")
    message_fi: str
    message_en: str
    reference_rates_missing: list[MissingRateOut] = Field(
        default_factory=list,
        description="Half-years up to `date` without a reference rate: no interest is charged for their days",
    )


class CreateIn(StrictRequest):
    """Create reminder #``level`` for every candidate (``all``) or the selected invoices."""

    model_config = ConfigDict(extra="forbid")

    level: int = Field(ge=1, le=9)
    date: Day | None = Field(default=None, description="Default: today")
    all: bool = False
    invoice_ids: list[InvoiceId] | None = Field(default=None, min_length=1, max_length=10_000)

    @model_validator(mode="after")
    def _one_way(self) -> CreateIn:
        if self.all == (self.invoice_ids is not None):
            raise ValueError("give either all=true or invoice_ids (valitse kaikki tai laskut)")
        return self


class DisputeIn(StrictRequest):
    model_config = ConfigDict(extra="forbid")

    disputed: bool
    reason: str | None = Field(default=None, max_length=500, pattern=_PRINTABLE)


class HandoverIn(StrictRequest):
    model_config = ConfigDict(extra="forbid")

    date: Day | None = Field(default=None, description="Default: today")
    all: bool = False
    invoice_ids: list[InvoiceId] | None = Field(default=None, min_length=1, max_length=10_000)
    agency: Code | None = Field(default=None, min_length=1, description="Default: the service's setting")

    @model_validator(mode="after")
    def _one_way(self) -> HandoverIn:
        if self.all == (self.invoice_ids is not None):
            raise ValueError("give either all=true or invoice_ids (valitse kaikki tai laskut)")
        return self


class HandoverOut(BaseModel):
    date: date
    handed_over: int
    invoice_ids: list[str]
    skipped: list[ReasonCount]
    more: bool = Field(description="More candidates than one call hands over: call again")
    message_fi: str
    message_en: str


class ReminderOut(BaseModel):
    reminder_id: str
    level: int
    reminder_date: date
    due_date: date
    open_amount: Decimal
    fee: Decimal
    compensation: Decimal
    interest: Decimal
    total_due: Decimal
    actor: str


class ItemOut(BaseModel):
    invoice_id: str
    invoice_number: str
    customer_number: str
    consumer: bool
    invoice_date: date
    due_date: date
    gross: Decimal
    credited: Decimal
    paid_total: Decimal
    open_amount: Decimal
    status: str
    settled_on: date | None
    disputed: bool
    dispute_reason: str | None
    no_reminders: bool
    handed_over: bool
    reminders: list[ReminderOut]


class LevelSummary(BaseModel):
    level: int
    created: int
    skipped: list[dict[str, Any]]
    message_fi: str
    message_en: str


class SummaryOut(BaseModel):
    job: JobOut
    levels: list[LevelSummary]
    message_fi: str
    message_en: str


# --- helpers ---------------------------------------------------------------------------


def _runtime(request: Request) -> RemindersRuntime:
    runtime: RemindersRuntime = request.app.state.runtime
    return runtime


def _uow(request: Request) -> RemindersUnitOfWork:
    return _runtime(request).uow()


def _not_found(invoice_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        detail={
            "code": "invoice_not_found",
            "message_fi": f"Laskua {invoice_id} ei löydy avoimista eristä.",
            "message_en": f"Invoice {invoice_id} is not among the open items.",
        },
    )


def _row(stored: StoredItem, decision: Candidate | Claim | Exclusion, on: date) -> RowOut:
    item = stored.item
    row = RowOut(
        invoice_id=item.invoice_id,
        invoice_number=item.invoice_number,
        customer_number=item.customer_number,
        customer_name=current_customer(stored).data.name,
        consumer=item.consumer,
        invoice_date=item.invoice_date,
        due_date=item.due_date,
        days_overdue=(on - item.due_date).days,
        open_amount=item.open,
        candidate=not isinstance(decision, Exclusion),
        reminders_made=len(item.reminders),
    )
    if isinstance(decision, Exclusion):
        return row.model_copy(
            update={
                "reason": decision.reason,
                "earliest": decision.earliest,
                "message_fi": decision.text.fi,
                "message_en": decision.text.en,
            }
        )
    if isinstance(decision, Candidate):
        charged = decision.charges
        fee, compensation, interest, periods = charged.fee, charged.compensation, charged.interest, charged.periods
        total, new_due = decision.total_due, decision.new_due_date
        row = row.model_copy(update={"interest_not_charged": list(charged.uncharged)})
    else:
        fee, compensation, interest, periods = decision.fees, decision.compensation, decision.interest, decision.periods
        total, new_due = decision.total, None
    return row.model_copy(
        update={
            "fee": fee,
            "compensation": compensation,
            "interest": interest,
            "interest_periods": [
                PeriodOut(start=p.start, end=p.end, days=p.days, rate=p.rate, principal=p.principal, amount=p.amount)
                for p in periods
            ],
            "total_due": total,
            "new_due_date": new_due,
        }
    )


def _list_out(listing: handlers.Listing, fi: str, en: str, runtime: RemindersRuntime) -> ListOut:
    t = listing.totals
    return ListOut(
        level=listing.level,
        date=listing.on,
        totals=TotalsOut(
            candidates=t.candidates,
            excluded=sum(t.excluded.values()),
            excluded_by_reason=[ReasonCount(reason=r, count=n) for r, n in sorted(t.excluded.items())],
            open_amount=t.open_amount,
            fees=t.fees,
            compensation=t.compensation,
            interest=t.interest,
            total_due=t.total_due,
        ),
        items=[_row(s, d, listing.on) for s, d in listing.rows],
        next_after=listing.next_after,
        message_fi=fi,
        message_en=en,
        reference_rates_missing=missing_rates(runtime.rules.rates, listing.on),
    )


def _policy_error(exc: Exception, loc: list[str]) -> Exception:
    if isinstance(exc, handlers.LevelOutOfRange):
        return unprocessable(
            [*loc[:1], "level"], f"Level must be 1..{exc.levels} (taso 1..{exc.levels}).", "level_out_of_range"
        )
    return unprocessable(loc, UNPROCESSABLE_DATE, "no_policy")


# --- reminders ---------------------------------------------------------------------------


@router.get("/reminders/candidates", response_model=ListOut, dependencies=[READ])
async def candidates(
    request: Request,
    level: Annotated[int, Query(ge=1, le=9, description="1 = payment reminder #1, 2 = #2")],
    on: Annotated[Day | None, Query(alias="date", description="Default: today")] = None,
    after: Annotated[str, Query(max_length=40, pattern=r"^[!-~]*$", description="Page after this invoice id")] = "",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> Any:
    """The invoices that qualify for reminder #``level`` on the date, with the fee,
    compensation and interest it would charge, and the near ones left out with why."""
    runtime = _runtime(request)
    day = on or runtime.rules.clock.today()
    try:
        async with runtime.uow() as uow:
            listing = await handlers.list_candidates(runtime.rules, uow, level=level, on=day, after=after, limit=limit)
    except (PolicyMissing, handlers.LevelOutOfRange) as exc:
        raise _policy_error(exc, ["query", "date"]) from None
    t = listing.totals
    excluded = sum(t.excluded.values())
    total_fi = format_fi(t.total_due)
    fi = f"Maksumuistutettavia #{level}: {t.candidates} kpl, yhteensä {total_fi} €. Ei muistuteta: {excluded}."
    en = f"Candidates for reminder #{level}: {t.candidates}, {t.total_due} € in all. Left out: {excluded}."
    return _list_out(listing, fi, en, runtime)


@router.post("/reminders/create", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut, dependencies=[REMIND])
async def create(request: Request, body: CreateIn, caller: Caller) -> Any:
    """Create reminder #``level`` for all candidates or the selected invoices, as a job:
    202 with the job's URL (``Location``); ``/reminders/jobs/{id}/summary`` then says
    how many were created and skipped, and why. Eligibility is checked again as each
    reminder is created; one reminder per invoice and level, whatever is retried."""
    runtime = _runtime(request)
    day = body.date or runtime.rules.clock.today()
    try:
        runtime.rules.policy_at(day, body.level)
    except (PolicyMissing, handlers.LevelOutOfRange) as exc:
        raise _policy_error(exc, ["body", "date"]) from None
    params = handlers.create_params([body.level], day, body.invoice_ids)
    job, _ = await runtime.jobs.start_job(handlers.JOB_CREATE, params, actor=caller.actor)
    return accepted(job)


@router.get("/reminders/jobs/{job_id}/summary", response_model=SummaryOut, responses=NOT_FOUND, dependencies=[READ])
async def job_summary(request: Request, job_id: uuid.UUID) -> Any:
    """What a create job did, as the clerk reads it: per level, created and skipped, why."""
    job = await _runtime(request).jobs.get(job_id)
    if job is None or job.kind not in (handlers.JOB_CREATE, handlers.JOB_DAILY):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail={
                "code": "job_not_found",
                "message_fi": f"Muistutusajoa {job_id} ei löydy.",
                "message_en": f"Reminder job {job_id} not found.",
            },
        )
    return {"job": JobOut.of(job), **handlers.summary(job.result)}


# --- invoices --------------------------------------------------------------------------


@router.get("/invoices/{invoice_id}", response_model=ItemOut, responses=NOT_FOUND, dependencies=[READ])
async def get_item(request: Request, invoice_id: Annotated[str, Path(max_length=40, pattern=_ID)]) -> Any:
    """An open item: what is open, its reminders, the dispute flag."""
    async with _uow(request) as uow:
        found = await uow.items.get_many([invoice_id])
        made = await uow.reminders.of_invoice(invoice_id)
    stored = found.get(invoice_id)
    if stored is None:
        raise _not_found(invoice_id)
    item = stored.item
    return ItemOut(
        invoice_id=item.invoice_id,
        invoice_number=item.invoice_number,
        customer_number=item.customer_number,
        consumer=item.consumer,
        invoice_date=item.invoice_date,
        due_date=item.due_date,
        gross=item.gross,
        credited=item.credited,
        paid_total=item.paid_total,
        open_amount=item.open,
        status=item.status,
        settled_on=item.settled_on,
        disputed=item.disputed,
        dispute_reason=stored.disputed_reason,
        no_reminders=item.no_reminders,
        handed_over=item.handed_over,
        reminders=[ReminderOut.model_validate(r) for r in made],
    )


@router.put("/invoices/{invoice_id}/dispute", response_model=ItemOut, responses=NOT_FOUND, dependencies=[REMIND])
async def dispute(
    request: Request,
    invoice_id: Annotated[str, Path(max_length=40, pattern=_ID)],
    body: Annotated[DisputeIn, Body()],
    caller: Caller,
) -> Any:
    """Mark an invoice disputed (*riitautettu*) or clear it: a disputed invoice gets no
    reminder and is not handed over to collection."""
    async with _uow(request) as uow:
        found = await handlers.set_dispute(
            uow, invoice_id, disputed=body.disputed, reason=body.reason, actor=caller.actor
        )
        if not found:
            raise _not_found(invoice_id)
        await uow.commit()
    return await get_item(request, invoice_id)


# --- collection ---------------------------------------------------------------------------


@router.get("/collection/candidates", response_model=ListOut, dependencies=[READ])
async def collection_candidates(
    request: Request,
    on: Annotated[Day | None, Query(alias="date", description="Default: today")] = None,
    after: Annotated[str, Query(max_length=40, pattern=r"^[!-~]*$")] = "",
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> Any:
    """Invoices still open after the last reminder (*perintään siirrettävät*), each
    with its whole claim (principal, fees, interest to the date), and the near ones
    left out with why."""
    runtime = _runtime(request)
    day = on or runtime.rules.clock.today()
    try:
        async with runtime.uow() as uow:
            listing = await handlers.list_collection(runtime.rules, uow, on=day, after=after, limit=limit)
    except PolicyMissing as exc:
        raise _policy_error(exc, ["query", "date"]) from None
    t = listing.totals
    fi = f"Perintään siirrettäviä: {t.candidates} kpl, saatavat yhteensä {format_fi(t.total_due)} €."
    en = f"Collection candidates: {t.candidates}, claims {t.total_due} € in all."
    return _list_out(listing, fi, en, runtime)


@router.post("/collection/handover", response_model=HandoverOut, dependencies=[REMIND])
async def handover(request: Request, body: HandoverIn, caller: Caller) -> Any:
    """Hand over to collection (all candidates, or the selected invoices): one
    ``HandedOverToCollection`` per invoice with the whole claim; an invoice is handed
    over once."""
    runtime = _runtime(request)
    day = body.date or runtime.rules.clock.today()
    agency = body.agency or runtime.rules.agency
    try:
        async with runtime.uow() as uow:
            result = await handlers.hand_over(
                runtime.rules, uow, on=day, invoice_ids=body.invoice_ids, agency=agency, actor=caller.actor
            )
            await uow.commit()
    except PolicyMissing as exc:
        raise _policy_error(exc, ["body", "date"]) from None
    return HandoverOut(
        date=day,
        handed_over=len(result.handed_over),
        invoice_ids=result.handed_over,
        skipped=[ReasonCount(reason=r, count=n) for r, n in sorted(result.skipped.items())],
        more=result.more,
        message_fi=result.text.fi,
        message_en=result.text.en,
    )
