"""The billing run's parts without a database: how the customers are cut into parts,
how the parts' summaries add up to the run's, and that an issued document made from its
trial (the copy with the real number) is the document built directly."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from services.invoicing.config import Settings
from services.invoicing.documents import document, seller
from services.invoicing.domain.billing import Request, RequestLine, build_invoices
from services.invoicing.domain.numbering import invoice_number, series_for
from services.invoicing.handlers import billable, run_parts, runs
from services.invoicing.handlers.issuing import Numbered
from services.invoicing.handlers.run_parts import cut, merge
from services.invoicing.store.invoices import stored
from shared.events.invoicing import MAX_LEFT_OUT_CUSTOMERS
from shared.references import national_reference, rf_reference
from tests.support.documents import PERSON

DAY = date(2026, 11, 23)


def _request(rid: str, customer: str, price: str, rate: str = "25.5", day: date = DAY) -> Request:
    line = RequestLine("P", "Tuote", Decimal("1"), "kpl", Decimal(price), Decimal(rate))
    return Request(rid, "subscription", customer, f"O-{rid}", day, 14, (line,))


def _settings() -> Settings:
    return Settings(database_url="postgresql+asyncpg://u:p@localhost:5432/x", kafka_bootstrap_servers="localhost:9092")


def _snap(customer: str) -> dict[str, object]:
    return {"customer_number": customer, "profile_version": 1, "consumer": True, "data": PERSON.model_dump(mode="json")}


def test_customers_are_cut_into_parts_that_cover_every_number_once() -> None:
    customers = [f"C-{i:03d}" for i in range(1, 11)]
    parts = cut(customers, 4)
    assert parts == [
        {"after": None, "through": "C-004"},
        {"after": "C-004", "through": "C-008"},
        {"after": "C-008", "through": None},  # the last is open above: later customers too
    ]
    for c in [*customers, "C-000", "C-999", "D-1"]:  # every number falls in exactly one part
        inside = [
            p for p in parts if (p["after"] is None or c > p["after"]) and (p["through"] is None or c <= p["through"])
        ]
        assert len(inside) == 1, c
    assert cut([], 4) == []
    assert cut(["C-1"], 1000) == [{"after": None, "through": None}]


def _part_summary(*requests: Request, channel: str = "email") -> dict[str, object]:
    summary = runs._new_cursor()
    invoices = build_invoices(requests)
    runs._accumulate(summary, invoices, [channel] * len(invoices), len(requests))
    return summary


def test_the_parts_summaries_add_up_to_the_summary_of_one_chunk_over_them_all() -> None:
    a = [_request("A", "C-1", "10.00"), _request("B", "C-2", "20.00", "10")]
    b = [_request("C", "C-3", "5.55"), _request("D", "C-4", "1.00", "14", date(2026, 11, 24))]
    whole = _part_summary(*a, *b)
    merged = merge([_part_summary(*a), _part_summary(*b)])
    assert (merged["invoices"], merged["requests"]) == (4, 4)
    assert merged["by_rate"] == whole["by_rate"]
    assert merged["by_channel"] == whole["by_channel"] == {"email": 4}
    assert merged["dates"] == whole["dates"] == ["2026-11-23", "2026-11-24"]
    p = runs.RunParams("subscription", "confirm", None, None)
    at = datetime.now(UTC)
    run_id = uuid.uuid4()
    assert runs.summary_event(run_id, p, merged, {}, actor="x", at=at) == runs.summary_event(
        run_id, p, whole, {}, actor="x", at=at
    )


def test_customers_left_out_are_added_up_and_named_up_to_the_limit() -> None:
    parts = []
    for i in range(3):
        s = runs._new_cursor()
        names = [f"C-{i}-{j}" for j in range(MAX_LEFT_OUT_CUSTOMERS)]
        s["skipped"] = {"invoice-invalid": {"requests": len(names), "customers": names}}
        parts.append(s)
    merged = merge(parts)
    entry = merged["skipped"]["invoice-invalid"]
    assert entry["requests"] == 3 * MAX_LEFT_OUT_CUSTOMERS
    assert entry["customers"] == [f"C-0-{j}" for j in range(MAX_LEFT_OUT_CUSTOMERS)]
    assert merge([]) == runs._new_cursor()


def test_an_issued_document_from_its_trial_is_the_document_built_with_its_number() -> None:
    built = build_invoices([_request("A", "C-1", "10.00"), _request("B", "C-2", "20.00", "10")])
    the_seller = seller(_settings())
    ok, kept, left, trials = billable.billable_documents(
        "subscription", built, [_snap("C-1"), _snap("C-2")], the_seller
    )
    assert len(ok) == len(trials) == 2 and left == []
    series = series_for("subscription")
    run_id = uuid.uuid4()
    now = datetime.now(UTC)
    for k, (inv, snap, trial) in enumerate(zip(ok, kept, trials, strict=True)):
        number = invoice_number(series, 4711 + k)
        reference = national_reference(str(number))
        n = Numbered(number, reference, rf_reference(reference))
        direct = document(
            stored(billable.new_invoice(inv, snap, series, actor="clerk", n=n, run_id=run_id), 900 + k, now),
            the_seller,
            issued_at=now,
        )
        copied = billable.numbered_document(trial, 900 + k, n, run_id, now)
        assert copied == direct
        assert copied.model_dump_json() == direct.model_dump_json()


class _Runs:
    async def begin(self, run_id: uuid.UUID, **fields: object) -> None:
        self.begun = (run_id, fields)


class _Requests:
    def __init__(self, ready: list[str]) -> None:
        self.ready = ready

    async def ready_customers(self, kind: str, up_to: date | None, ids: object, after: str | None = None) -> list[str]:
        return [c for c in self.ready if after is None or c > after]


class _Uow:
    def __init__(self, ready: list[str]) -> None:
        self.runs = _Runs()
        self.requests = _Requests(ready)


async def test_a_preview_the_previous_release_was_chunking_is_planned_after_its_last_customer() -> None:
    """Adopted after a rolling upgrade: a preview changed no request, so the customers its
    committed chunks previewed are still ready and must not be previewed again."""
    from shared.jobs import JobContext

    ready = [f"C-{i:03d}" for i in range(1, 11)]
    params = {"kind": "subscription", "mode": "preview", "up_to": None, "request_ids": None}

    def ctx(cursor: object) -> JobContext:
        return JobContext(uuid.uuid4(), runs.RUN, params, cursor, chunk_size=3, actor="clerk")

    fresh = await run_parts.plan_run(ctx(None), _Uow(ready), _settings())  # type: ignore[arg-type]
    assert fresh[0]["after"] is None and len(fresh) == 4

    adopted = await run_parts.plan_run(ctx({"after": "C-004", "invoices": 4}), _Uow(ready), _settings())  # type: ignore[arg-type]
    assert adopted[0]["after"] == "C-004"  # C-001..C-004 were previewed by the chunks before
    assert adopted == [
        {"after": "C-004", "through": "C-007"},
        {"after": "C-007", "through": None},  # the last part open above
    ]
