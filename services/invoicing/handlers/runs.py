"""The billing run (seed steps 13-16; seed 004's bulk and automated runs), as a job.

A run takes the ready requests of one kind (all of them up to a date, or the clerk's
selection), customer by customer in customer-number order, a chunk of customers per
transaction, and for each customer groups them into invoices (one per customer, kind
and invoice date). Modes:

- ``preview``: computes exactly what ``confirm`` would create, minus numbers and
  references (allocated only at confirmation), and keeps it in ``run_previews`` for
  the clerk to read and print; no request, invoice or number is touched.
- ``draft``: creates draft (proforma) invoices; their requests become ``draft``.
- ``confirm``: issues the invoices: gap-free numbers, references, the customer's
  snapshot, and an ``invoice-issued`` event each, in the chunk's transaction.

A crash between chunks loses nothing: the job resumes after the last committed
customer, and the requests a committed chunk invoiced are no longer ready. Two runs at
once over the same requests: the second waits for the first's row locks, then sees
the requests are no longer open and skips them.

The summary (counts, totals per VAT rate and per channel, what was left out and why) is
accumulated in the job's cursor as the chunks commit, stored with the run when the last
chunk commits, and, for draft and confirm runs that created invoices, published as
``billing-run-finished``. A run with nothing to invoice creates nothing and says so
(its summary counts 0 invoices; the automated daily run records no run at all for a
kind with nothing ready, only ``<kind>_nothing_to_invoice`` in its job's result).

One customer's data never fails a run: a customer whose invoice cannot be made (over a
limit of ``shared.limits``, or refused by the issued document's contract) is left out
with the reason and its customer number in the summary, its requests stay ready, and it
takes no invoice number; the other customers are billed.

The summary's ``invoice_date`` is the invoices' date when they all share one (else
None: several; with no invoice, the run's ``up_to``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from services.invoicing.config import Settings
from services.invoicing.documents import document, seller
from services.invoicing.domain import texts
from services.invoicing.domain.billing import Invoice, build_invoices
from services.invoicing.domain.numbering import series_for
from services.invoicing.handlers.billable import billable, leave_out, new_invoice
from services.invoicing.handlers.issuing import emit, numbers, snapshot
from services.invoicing.handlers.numbering import RUN_CONFIRM, RUN_DRAFT, NumberingBehind, ensure_numbering
from services.invoicing.store.invoices import breakdown_json, stored
from services.invoicing.uow import InvoicingUnitOfWork
from shared.events import topics
from shared.events.invoicing import BillingRunFinished, LeftOut, RunTotals, RunVatTotal
from shared.jobs import JobContext, JobFailed, Step
from shared.money import ZERO

RUN = "invoicing.billing-run"
"""Job kind: a billing run started by a clerk or a script."""
DAILY = "invoicing.daily-run"
"""Job kind: the automated daily run (one per date; all configured kinds)."""


@dataclass(frozen=True)
class RunParams:
    kind: str
    mode: str
    up_to: date | None
    request_ids: list[str] | None

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> RunParams:
        return cls(
            kind=params["kind"],
            mode=params["mode"],
            up_to=date.fromisoformat(params["up_to"]) if params.get("up_to") else None,
            request_ids=list(params["request_ids"]) if params.get("request_ids") is not None else None,
        )

    def as_params(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "mode": self.mode,
            "up_to": self.up_to.isoformat() if self.up_to else None,
            "request_ids": self.request_ids,
        }


def _new_cursor() -> dict[str, Any]:
    return {"after": "", "seq": 0, "invoices": 0, "requests": 0, "by_rate": {}, "by_channel": {}}


def _accumulate(cursor: dict[str, Any], invoices: list[Invoice], channels: list[str], requests: int) -> None:
    cursor["invoices"] += len(invoices)
    cursor["requests"] += requests
    dates: list[str] = cursor.setdefault("dates", [])
    for inv, channel in zip(invoices, channels, strict=True):
        day = inv.invoice_date.isoformat()
        if day not in dates and len(dates) < 2:  # one date, or "several": two are enough to tell
            dates.append(day)
        for row in inv.vat_breakdown:
            key = str(row.rate)
            net, vat, gross = (Decimal(x) for x in cursor["by_rate"].get(key, ("0", "0", "0")))
            cursor["by_rate"][key] = [str(net + row.net), str(vat + row.vat), str(gross + row.gross)]
        cursor["by_channel"][channel] = cursor["by_channel"].get(channel, 0) + 1


def preview_json(inv: Invoice, customer: dict[str, Any]) -> dict[str, Any]:
    """What a preview shows of one would-be invoice (the same fields a run stores)."""
    return {
        "customer_number": inv.customer_number,
        "kind": inv.kind,
        "invoice_date": inv.invoice_date.isoformat(),
        "due_date": inv.due_date.isoformat(),
        "payment_terms_days": inv.payment_terms_days,
        "customer": customer,
        "totals": {"net": str(inv.totals.net), "vat": str(inv.totals.vat), "gross": str(inv.totals.gross)},
        "vat_breakdown": breakdown_json(inv.vat_breakdown),
        "request_ids": list(inv.request_ids),
        "lines": [
            {
                "line_no": line.line_no,
                "request_id": line.request_id,
                "request_line": line.request_line,
                "order_id": line.order_id,
                "product_code": line.product_code,
                "description": line.description,
                "quantity": str(line.quantity),
                "unit": line.unit,
                "unit_price": str(line.unit_price),
                "vat_rate": str(line.vat_rate),
                "net": str(line.net),
                "service_period": {
                    "start": line.service_period.start.isoformat(),
                    "end": line.service_period.end.isoformat(),
                }
                if line.service_period
                else None,
            }
            for line in inv.lines
        ],
    }


async def count_run(ctx: JobContext, uow: InvoicingUnitOfWork) -> int:
    p = RunParams.of(ctx.params)
    return await uow.requests.count_ready(p.kind, p.up_to, p.request_ids)


async def run_chunk(ctx: JobContext, uow: InvoicingUnitOfWork, settings: Settings) -> Step:
    """One chunk of a run as a single-runner job (the daily run's kinds): the next
    ``chunk_size`` customers after the cursor's."""
    p = RunParams.of(ctx.params)
    cursor = dict(ctx.cursor) if ctx.cursor else _new_cursor()
    await check_numbering(p)(uow)
    if ctx.cursor is None:
        await begin_run(ctx.id, p, ctx.actor, uow)
    customers = await uow.requests.next_customers(p.kind, p.up_to, p.request_ids, cursor["after"], ctx.chunk_size)
    if not customers:
        await _finish(ctx.id, p, cursor, ctx.actor, uow)
        return Step(done=0, cursor=cursor, finished=True)
    requests = await uow.requests.ready_of(p.kind, p.up_to, p.request_ids, customers, lock=p.mode != "preview")
    invoiced, billed = await bill(
        ctx.id, p, requests, cursor, uow, actor=ctx.actor, settings=settings, preview_seq=cursor["seq"]
    )
    cursor["after"] = customers[-1]
    cursor["seq"] += invoiced
    finished = len(customers) < ctx.chunk_size
    if finished:
        await _finish(ctx.id, p, cursor, ctx.actor, uow)
    return Step(
        done=len(requests),
        cursor=cursor,
        counts={"invoices": invoiced, "requests": billed},
        finished=finished,
    )


def check_numbering(p: RunParams) -> Any:
    """Before anything in a run's transaction: a refused chunk rolls back whole, and the
    job fails with the code (a series behind the invoice log)."""

    async def check(uow: InvoicingUnitOfWork) -> None:
        if p.mode == "preview":
            return
        try:
            await ensure_numbering(uow, RUN_CONFIRM if p.mode == "confirm" else RUN_DRAFT)
        except NumberingBehind as exc:
            raise JobFailed(exc.code, exc.message_en) from None

    return check


async def begin_run(run_id: uuid.UUID, p: RunParams, actor: str, uow: InvoicingUnitOfWork) -> None:
    await uow.runs.begin(
        run_id,
        kind=p.kind,
        mode=p.mode,
        up_to=p.up_to,
        selected=len(p.request_ids) if p.request_ids is not None else None,
        actor=actor,
    )


async def bill(
    run_id: uuid.UUID,
    p: RunParams,
    requests: list[Any],
    summary: dict[str, Any],
    uow: InvoicingUnitOfWork,
    *,
    actor: str,
    settings: Settings,
    preview_seq: int,
) -> tuple[int, int]:
    """Invoice these (locked) ready requests: group them, leave out the customers whose
    invoice cannot be made, then preview, draft or issue the rest; adds what it did to
    ``summary``. Returns (invoices, requests billed)."""
    if not requests:
        return 0, 0
    customers = sorted({r.customer_number for r in requests})
    profiles = await uow.profiles.get_many(customers)
    built = build_invoices(requests)
    snapshots = [snapshot(profiles[inv.customer_number]) for inv in built]
    proposed, kept, left = billable(p.kind, built, snapshots, seller(settings))
    channels = [s["data"].get("delivery_channel", "print") for s in kept]
    if p.mode == "preview":
        await uow.runs.add_previews(
            run_id,
            preview_seq,
            [(inv.customer_number, preview_json(inv, s)) for inv, s in zip(proposed, kept, strict=True)],
        )
    elif proposed:
        await _create(run_id, p, actor, proposed=proposed, snapshots=kept, uow=uow, settings=settings)
    billed = sum(len(inv.request_ids) for inv in proposed)
    _accumulate(summary, proposed, channels, billed)
    leave_out(summary, left)
    return len(proposed), billed


async def _create(
    run_id: uuid.UUID,
    p: RunParams,
    actor: str,
    *,
    proposed: list[Invoice],
    snapshots: list[dict[str, Any]],
    uow: InvoicingUnitOfWork,
    settings: Settings,
) -> None:
    """Drafts first (the heavy inserts), then, for a confirm run, the block of numbers
    LAST: the series row is locked from there to COMMIT only for one UPDATE and the
    outbox rows, so parts on other replicas wait for the tail, not for the inserts."""
    confirm = p.mode == "confirm"
    series = series_for(p.kind)
    drafts = [
        new_invoice(inv, snap, series, actor=actor, n=None, run_id=run_id)
        for inv, snap in zip(proposed, snapshots, strict=True)
    ]
    ids = await uow.invoices.add(drafts)
    invoice_of = {rid: i for i, inv in zip(ids, proposed, strict=True) for rid in inv.request_ids}
    await uow.requests.set_status(list(invoice_of), "invoiced" if confirm else "draft", invoice_of)
    if not confirm:
        return
    traces = await uow.requests.oldest_traces([inv.request_ids for inv in proposed])
    numbered = await numbers(uow, series, len(proposed))
    now = datetime.now(UTC)
    await uow.invoices.confirm_numbered(ids, [(n.number, n.reference, n.reference_rf) for n in numbered], actor, now)
    the_seller = seller(settings)
    for i, inv, snap, n, trace in zip(ids, proposed, snapshots, numbered, traces, strict=True):
        issued = new_invoice(inv, snap, series, actor=actor, n=n, run_id=run_id)
        emit(uow, document(stored(issued, i, now), the_seller, issued_at=now), trace)


async def _finish(
    run_id: uuid.UUID, p: RunParams, cursor: dict[str, Any], actor: str, uow: InvoicingUnitOfWork
) -> None:
    left = await uow.requests.left_out(p.kind, p.up_to, p.request_ids, run_id=run_id, preview=p.mode == "preview")
    finished = summary_event(run_id, p, cursor, left, actor=actor, at=datetime.now(UTC))
    await uow.runs.finish(run_id, finished.model_dump(mode="json"))
    if p.mode != "preview" and finished.invoices > 0:
        uow.outbox.add(topics.BILLING_RUNS.name, finished, key=str(run_id))


def summary_event(
    run_id: uuid.UUID, p: RunParams, cursor: Mapping[str, Any], left: Mapping[str, int], *, actor: str, at: datetime
) -> BillingRunFinished:
    by_rate = [
        RunVatTotal(rate=Decimal(rate), net=Decimal(v[0]), vat=Decimal(v[1]), gross=Decimal(v[2]))
        for rate, v in sorted(cursor["by_rate"].items(), key=lambda kv: Decimal(kv[0]))
    ]
    totals = RunTotals(
        net=sum((r.net for r in by_rate), ZERO),
        vat=sum((r.vat for r in by_rate), ZERO),
        gross=sum((r.gross for r in by_rate), ZERO),
    )
    left_out = []
    for code, count in sorted(left.items()):
        text = texts.LEFT_OUT_BY_STATE.get(code)
        if text is not None and count:
            left_out.append(LeftOut(code=text.code, count=count, message_fi=text.fi, message_en=text.en))
    for code, entry in sorted(cursor.get("skipped", {}).items()):
        t = texts.LEFT_OUT[code]
        left_out.append(
            LeftOut(
                code=t.code, count=entry["requests"], message_fi=t.fi, message_en=t.en, customers=entry["customers"]
            )
        )
    dates = cursor.get("dates", [])
    return BillingRunFinished(
        run_id=str(run_id),
        kind=p.kind,
        mode=p.mode,
        invoice_date=date.fromisoformat(dates[0]) if len(dates) == 1 else None if dates else p.up_to,
        invoices=cursor["invoices"],
        requests=cursor["requests"],
        totals=totals,
        by_vat_rate=by_rate,
        by_channel=dict(sorted(cursor["by_channel"].items())),
        left_out=left_out,
        actor=actor,
        finished_at=at,
    )


def daily_params(settings: Settings) -> Any:
    def params(run_date: date) -> dict[str, Any]:
        return {"date": run_date.isoformat(), "kinds": list(settings.daily_run_kinds), "mode": settings.daily_run_mode}

    return params


async def daily_chunk(ctx: JobContext, uow: InvoicingUnitOfWork, settings: Settings) -> Step:
    """The automated daily run: for each configured kind in turn, a run of all ready
    requests up to the date; its cursor says which kind and where. One job per date
    (the job key), however many replicas: a re-run of the date is a no-op."""
    kinds: list[str] = list(ctx.params["kinds"])
    state: dict[str, Any] = dict(ctx.cursor) if ctx.cursor else {"kind_index": 0, "inner": None}
    index = int(state["kind_index"])
    if index >= len(kinds):
        return Step(done=0, cursor=state, finished=True)
    run_id = uuid.uuid5(ctx.id, kinds[index])
    inner_params = RunParams(kinds[index], ctx.params["mode"], date.fromisoformat(ctx.params["date"]), None)
    if state["inner"] is None and await uow.requests.count_ready(inner_params.kind, inner_params.up_to, None) == 0:
        done_kinds = index + 1  # nothing ready: no run recorded, just this in the job's result
        return Step(
            done=0,
            cursor={"kind_index": done_kinds, "inner": None},
            counts={f"{kinds[index]}_nothing_to_invoice": 1},
            finished=done_kinds >= len(kinds),
        )
    inner_ctx = JobContext(
        id=run_id,
        kind=RUN,
        params=inner_params.as_params(),
        cursor=state["inner"],
        chunk_size=ctx.chunk_size,
        actor=ctx.actor,
    )
    step = await run_chunk(inner_ctx, uow, settings)
    state = {"kind_index": index + 1, "inner": None} if step.finished else {"kind_index": index, "inner": step.cursor}
    done_kinds = int(state["kind_index"])
    return Step(
        done=step.done,
        cursor=state,
        counts={f"{kinds[index]}_{k}": v for k, v in step.counts.items()},
        finished=done_kinds >= len(kinds),
    )
