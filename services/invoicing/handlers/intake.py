"""Intake: billing requests and order cancellations (one topic, per-customer order),
and billing profiles from the customers service.

A request is stored once per ``request_id``. The same id again with the same content
is a no-op (a sender's retry); with other content it is refused to the dead-letter
topic (``request-id-reused``): the sender must use a new id, and a clerk can see both
versions (the stored request and the dead letter). A line whose VAT rate is not in
force on its service date is refused (``vat-rate-invalid`` and kin, from the VAT
table) with the reason in Finnish and English: the sender fixes it and sends again,
or, if the table was wrong, ops fix the table and replay the dead letter. A request
whose amounts would not fit on an invoice of its own (``shared.limits``) is refused
(``amount-over-limit``), so every request stored can be invoiced.

Every record must be keyed by the customer number in its body (the topic's order per
customer depends on it): a record with another key, or none, is refused
(``key-not-customer-number``), billing requests and cancellations alike.

A new request that an issued invoice already bills is stored invoiced, linked to it: after
a restore, ``billing invoicing reconcile`` rebuilds the invoices from their log, and the
requests consumed after the backup come again when the consumer group is rewound to the
backup's time (README "Backup and restore"); they must not be billed twice.

A cancellation marks the order's open requests cancelled, and any request of that
order that arrives later is stored cancelled. Requests already on a draft or invoiced
are left as they are (the notice tells the clerk a corrective invoice is needed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from services.invoicing.domain import texts
from services.invoicing.domain.billing import Line, limit_breach, line_net, vat_breakdown
from services.invoicing.domain.vat import VatTable
from services.invoicing.store.request_intake import NewRequest
from services.invoicing.uow import InvoicingUnitOfWork
from shared import tracing
from shared.db.erasure import erase_profile_copies
from shared.events.customers import BillingProfileChanged, BillingProfileErased
from shared.events.envelope import Envelope
from shared.events.sales import BillingRequestSubmitted, OrderCancelled, RequestLine
from shared.limits import MAX_DOCUMENT_LINES, MAX_INVOICE_AMOUNT
from shared.money import ZERO
from shared.rejections import EventRejected


@dataclass
class IntakeOutcome:
    stored: int = 0
    repeated: int = 0
    stored_cancelled: int = 0
    cancelled: int = 0
    invoiced_of_cancelled: int = 0
    already_invoiced: int = 0


def content_hash(request: BillingRequestSubmitted) -> str:
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


_LINES_MARK = b',"lines":['


def hash_and_lines(request: BillingRequestSubmitted) -> tuple[str, str]:
    """(:func:`content_hash`, the lines as JSON text) from one serialisation: ``lines``
    is the model's last field, so its JSON is the tail of the request's. The first
    ``,"lines":[`` is that field's key: the fields before it cannot hold a quote (ids,
    a literal, a date, a number), and a quote inside a string is escaped."""
    full = request.model_dump_json().encode()
    at = full.find(_LINES_MARK)
    if at < 0 or not full.endswith(b"]}"):  # not the shape above: the two dumps
        return hashlib.sha256(full).hexdigest(), _LINES_JSON.dump_json(list(request.lines)).decode()
    return hashlib.sha256(full).hexdigest(), full[at + len(_LINES_MARK) - 1 : -1].decode()


def check_vat(request: BillingRequestSubmitted, table: VatTable) -> None:
    for index, line in enumerate(request.lines):
        day = line.service_date(request.invoice_date)
        problem = table.check(line.vat_rate, day, line.vat_category)
        if problem is not None:
            raise EventRejected(problem.code, f"lines[{index}]: {problem.message_en} / {problem.message_fi}")


def _surely_within_limits(request: BillingRequestSubmitted) -> bool:
    """True when no amount of the request's invoice can exceed the limit. With S the
    sum of |quantity x unit price| over its n lines: each line's net is at most its
    |quantity x unit price| + 0.005 after rounding to the cent, so a rate's net at most
    its part of S + (its lines + 1) x 0.005, its VAT (a rate is at most 100 %) at most
    that + 0.005, its gross at most twice its net + 0.005, and the totals at most
    2S + 0.025 n; 2S + n + 1 within the limit leaves room for all of it. Most requests
    are far below; the others get the exact check."""
    if len(request.lines) > MAX_DOCUMENT_LINES:
        return False
    bound = sum((abs(line.quantity * line.unit_price) for line in request.lines), ZERO)
    return 2 * bound + len(request.lines) + 1 <= MAX_INVOICE_AMOUNT


def check_amounts(request: BillingRequestSubmitted) -> None:
    """Refuse a request that could not be invoiced even alone (an amount over
    ``shared.limits.MAX_INVOICE_AMOUNT``): the same rule the billing run applies."""
    if _surely_within_limits(request):
        return
    lines = [
        Line(
            line_no=index + 1,
            product_code=line.product_code,
            description=line.description,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            vat_rate=line.vat_rate,
            net=line_net(line.quantity, line.unit_price),
        )
        for index, line in enumerate(request.lines)
    ]
    rows, totals = vat_breakdown(lines)
    if limit_breach(lines, rows, totals) is not None:
        t = texts.REQUEST_OVER_LIMIT
        raise EventRejected(t.code, f"{t.en} / {t.fi}")


def check_key(env: Envelope[Any]) -> None:
    """The record's key must be the body's customer number (ARCHITECTURE §7)."""
    customer = getattr(env.data, "customer_number", None)
    if env.meta.key != customer:
        t = texts.KEY_NOT_CUSTOMER
        raise EventRejected(t.code, f"{t.en} / {t.fi}")


_LINES_JSON = TypeAdapter(list[RequestLine])


def _row(env: Envelope[BillingRequestSubmitted], digest: str, lines: str) -> NewRequest:
    r = env.data
    # the request's own trace; none (or an invalid one): the trace its intake started
    trace = env.meta.trace or tracing.current()
    # ``lines``: the lines as JSON text straight from pydantic's serializer (stored as
    # jsonb: the same value as json.dumps of model_dump(mode="json"), without the
    # Python round trip), from :func:`hash_and_lines`
    net = sum((line_net(line.quantity, line.unit_price) for line in r.lines), ZERO)
    return NewRequest(
        request_id=r.request_id,
        kind=r.kind,
        customer_number=r.customer_number,
        order_id=r.order_id,
        invoice_date=r.invoice_date,
        payment_terms_days=r.payment_terms_days,
        lines=lines,
        net=Decimal(net),
        content_hash=digest,
        source=env.meta.source,  # status: take_in decides (open, or cancelled with its order)
        traceparent=trace.traceparent if trace else None,
        tracestate=trace.tracestate if trace else None,
        line_count=len(r.lines),
    )


async def _store(batch: list[Envelope[BillingRequestSubmitted]], uow: InvoicingUnitOfWork, out: IntakeOutcome) -> None:
    first: dict[str, str] = {}
    unique: list[tuple[Envelope[BillingRequestSubmitted], str, str]] = []
    for env in batch:
        digest, lines = hash_and_lines(env.data)
        seen = first.get(env.data.request_id)
        if seen is None:
            first[env.data.request_id] = digest
            unique.append((env, digest, lines))
        elif seen != digest:
            raise EventRejected("request-id-reused", "request_id already used for a request with other content")
        else:
            out.repeated += 1
    # one round trip: stored cancelled when the order was cancelled already, and the
    # invoices already billing any of them
    rows = [_row(e, d, j) for e, d, j in unique]
    taken = await uow.requests.take_in(rows)
    new, invoiced = set(taken.new), taken.invoiced
    if invoiced:  # a consumer rewound after a restore: reconcile rebuilt its invoice already
        await uow.requests.set_status(sorted(invoiced), "invoiced", invoiced)
        out.already_invoiced += len(invoiced)
    existing = [r for r in rows if r.request_id not in new]
    if existing:
        stored = await uow.requests.hashes([r.request_id for r in existing])
        for r in existing:
            if stored.get(r.request_id) != r.content_hash:
                raise EventRejected("request-id-reused", "request_id already used for a request with other content")
        out.repeated += len(existing)
    fresh = new - set(invoiced)  # an already-invoiced one is counted there alone, not as stored too
    out.stored += len(fresh)
    out.stored_cancelled += sum(1 for rid in fresh if taken.new[rid] == "cancelled")


async def take_requests(events: Sequence[Envelope[Any]], uow: InvoicingUnitOfWork, vat: VatTable) -> IntakeOutcome:
    """A batch from ``sales.billing-requests.v1`` in delivery order: runs of requests
    are stored together; a cancellation applies between them, in order."""
    out = IntakeOutcome()
    pending: list[Envelope[BillingRequestSubmitted]] = []
    for env in events:
        check_key(env)
        if isinstance(env.data, BillingRequestSubmitted):
            check_vat(env.data, vat)
            check_amounts(env.data)
            pending.append(env)
            continue
        if pending:
            await _store(pending, uow, out)
            pending = []
        if isinstance(env.data, OrderCancelled):
            c = env.data
            result = await uow.requests.cancel_order(
                c.order_id, c.customer_number, c.reason, env.meta.time, env.meta.id
            )
            out.cancelled += result.cancelled
            out.invoiced_of_cancelled += result.invoiced
    if pending:
        await _store(pending, uow, out)
    return out


async def take_profiles(events: Sequence[Envelope[Any]], uow: InvoicingUnitOfWork, *, topic: str) -> int:
    """Profiles (the highest version per customer) and tombstones (the customer was
    erased: its copy anonymised, its profile dead letters on ``topic`` deleted). The
    invoices already issued keep the snapshot they were issued with (accounting
    records, see README "Personal data")."""
    changed = await uow.profiles.apply([e.data for e in events if isinstance(e.data, BillingProfileChanged)])
    erased = [e.data.customer_number for e in events if isinstance(e.data, BillingProfileErased)]
    if erased:
        copies, _ = await erase_profile_copies(
            uow.session, "billing_profiles", erased, dead_letter_topic=topic, insert_defaults={"consumer": "true"}
        )
        changed += copies
    return changed
