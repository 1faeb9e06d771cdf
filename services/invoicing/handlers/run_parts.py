"""The billing run as a partitioned job: its parts taken by whichever replicas run.

- ``plan`` (once, by the first runner): checks the numbering, records the run, and cuts
  the customers with ready requests (customer-number order) into ranges of about
  ``chunk_size`` customers: part ``i`` covers the customers numbered after part
  ``i-1``'s last and up to its own last; the first part has no lower bound and the last
  no upper one, so a customer whose requests became ready after the plan is in a part.
- each **part** (on any replica, one transaction: ``shared/jobs/parts.py``): locks the
  ready requests of its range, builds and inserts the invoices and lines, updates the
  requests, and, for a confirm run, takes its block of invoice numbers LAST (the series
  row is locked only for the transaction's short tail: see ``runs._create``) and writes
  one ``invoice-issued`` outbox row per invoice. Its share of the summary (counts, totals
  per VAT rate and channel, customers left out) is stored with the part.
- ``finish`` (once, when every part is committed): adds the parts' summaries up in part
  order, stores the run's summary and, for draft and confirm runs that created
  invoices, writes ``billing-run-finished``.

Gap-free numbers hold as before: a part's numbers are taken by ``UPDATE ... + n`` on
the series row inside the part's transaction, so a part that rolls back (a replica
that died, a customer's data refused by the database) gives its numbers back, and the
next part's block starts right after the last committed one. Two parts of one run, or
two runs, never invoice a request twice: the part locks its requests and the claim
query re-checks they are still ``open``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.invoicing.config import Settings
from services.invoicing.handlers.runs import (
    RunParams,
    _finish,
    _new_cursor,
    begin_run,
    bill,
    check_numbering,
)
from services.invoicing.uow import InvoicingUnitOfWork
from shared.events.invoicing import MAX_LEFT_OUT_CUSTOMERS
from shared.jobs import JobContext, JobFailed, Step
from shared.jobs.parts import PartResult

PREVIEW_STRIDE = 100_000
"""A preview's rows of part ``i`` are numbered from ``i * PREVIEW_STRIDE`` (customer order
across parts; at most that many invoices per part)."""


def cut(customers: list[str], size: int) -> list[dict[str, Any]]:
    """The parts of ``customers`` (sorted): about ``size`` each, as ``after`` (exclusive)
    and ``through`` (inclusive) bounds; the first open below, the last open above."""
    if not customers:
        return []
    size = max(1, size)
    parts: list[dict[str, Any]] = []
    after: str | None = None
    for start in range(0, len(customers), size):
        last = customers[min(start + size, len(customers)) - 1]
        parts.append({"after": after, "through": last})
        after = last
    parts[-1]["through"] = None
    return parts


async def plan_run(ctx: JobContext, uow: InvoicingUnitOfWork, settings: Settings) -> list[dict[str, Any]]:
    """The parts. A run the previous release was doing chunk by chunk (``ctx.cursor``: its
    last committed customer) is planned over the customers after that one only: a
    preview changed no request, and a customer left out stays ready, so neither may be
    taken twice (the chunks done are the job's part 0: ``shared/jobs/parts.py``)."""
    p = RunParams.of(ctx.params)
    await check_numbering(p)(uow)
    await begin_run(ctx.id, p, ctx.actor, uow)
    after = str(ctx.cursor["after"]) if isinstance(ctx.cursor, dict) and ctx.cursor.get("after") else None
    parts = cut(await uow.requests.ready_customers(p.kind, p.up_to, p.request_ids, after), ctx.chunk_size)
    if parts and after:
        parts[0]["after"] = after
    return parts


async def run_part(ctx: JobContext, uow: InvoicingUnitOfWork, settings: Settings) -> Step:
    assert ctx.part is not None and ctx.part_seq is not None
    p = RunParams.of(ctx.params)
    await check_numbering(p)(uow)
    requests = await uow.requests.ready_between(
        p.kind, p.up_to, p.request_ids, ctx.part["after"], ctx.part["through"], lock=p.mode != "preview"
    )
    if len(requests) >= PREVIEW_STRIDE and p.mode == "preview":
        raise JobFailed("part_too_large", "a part of a preview holds too many requests: use a smaller chunk size")
    summary = _new_cursor()
    invoiced, billed = await bill(
        ctx.id, p, requests, summary, uow, actor=ctx.actor, settings=settings, preview_seq=ctx.part_seq * PREVIEW_STRIDE
    )
    return Step(done=len(requests), cursor=summary, counts={"invoices": invoiced, "requests": billed})


async def finish_run(
    ctx: JobContext, uow: InvoicingUnitOfWork, results: list[PartResult], settings: Settings
) -> dict[str, int] | None:
    p = RunParams.of(ctx.params)
    await _finish(ctx.id, p, merge([r.data for r in results if r.data]), ctx.actor, uow)
    return None


def merge(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The parts' summaries (in part order) as one run's: counts and money added up,
    the first two invoice dates, and the customers left out up to the usual limit."""
    out = _new_cursor()
    for s in summaries:
        out["invoices"] += s["invoices"]
        out["requests"] += s["requests"]
        for rate, (net, vat, gross) in s["by_rate"].items():
            have = [Decimal(x) for x in out["by_rate"].get(rate, ("0", "0", "0"))]
            out["by_rate"][rate] = [
                str(have[0] + Decimal(net)),
                str(have[1] + Decimal(vat)),
                str(have[2] + Decimal(gross)),
            ]
        for channel, n in s["by_channel"].items():
            out["by_channel"][channel] = out["by_channel"].get(channel, 0) + n
        dates: list[str] = out.setdefault("dates", [])
        for day in s.get("dates", []):
            if day not in dates and len(dates) < 2:
                dates.append(day)
        for code, entry in s.get("skipped", {}).items():
            mine = out.setdefault("skipped", {}).setdefault(code, {"requests": 0, "customers": []})
            mine["requests"] += entry["requests"]
            for customer in entry["customers"]:
                if len(mine["customers"]) < MAX_LEFT_OUT_CUSTOMERS and customer not in mine["customers"]:
                    mine["customers"].append(customer)
    return out
