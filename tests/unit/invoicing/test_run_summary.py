"""The billing run's summary and its rules for one customer's data (pure: no servers).

- every invoice of the run has the same date: the summary names it (not "several");
- one customer whose invoice would pass the limit of ``shared.limits`` is left out with
  its reason and customer number; the others are billed;
- intake refuses the issue's request (99,999 x 999,999.99 EUR), which no invoice can carry.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.invoicing.config import Settings
from services.invoicing.documents import seller
from services.invoicing.domain.billing import Request, RequestLine, build_invoices, invoice_breach
from services.invoicing.handlers import billable, intake, runs
from shared.events.sales import BillingRequestSubmitted
from shared.limits import MAX_INVOICE_AMOUNT
from shared.money import Money
from shared.rejections import EventRejected
from tests.support.documents import PERSON

DAY = date(2026, 11, 23)


def _request(rid: str, customer: str, quantity: str, price: str, day: date = DAY) -> Request:
    line = RequestLine("P", "Tuote", Decimal(quantity), "kpl", Decimal(price), Decimal("25.5"))
    return Request(rid, "notice", customer, f"O-{rid}", day, 14, (line,))


def _cursor(*requests: Request) -> dict[str, object]:
    cursor = runs._new_cursor()
    invoices = build_invoices(requests)
    ok = [inv for inv in invoices if invoice_breach(inv) is None]
    runs._accumulate(cursor, ok, ["email"] * len(ok), sum(len(i.request_ids) for i in ok))
    return cursor


def _summary(cursor: dict[str, object], up_to: date | None = None) -> runs.BillingRunFinished:
    params = runs.RunParams("notice", "confirm", up_to, None)
    return runs.summary_event(uuid.uuid4(), params, cursor, {}, actor="clerk", at=datetime.now(UTC))


def test_a_run_whose_invoices_share_one_date_names_that_date() -> None:
    summary = _summary(_cursor(_request("A", "C-1", "1", "10"), _request("B", "C-2", "2", "10")))
    assert summary.invoice_date == DAY


def test_a_run_with_invoices_of_two_dates_names_none() -> None:
    later = date(2026, 11, 24)
    summary = _summary(_cursor(_request("A", "C-1", "1", "10"), _request("B", "C-2", "1", "10", later)), up_to=later)
    assert summary.invoice_date is None


def test_an_empty_run_records_no_zero_count_entry() -> None:
    summary = _summary(runs._new_cursor())
    assert summary.invoices == 0 and summary.left_out == []


def test_a_customer_over_the_invoice_limit_is_left_out_by_name_and_the_rest_are_billed() -> None:
    # C-2: two requests of 60,000 x 1,000.00 = 60,000,000.00 net each; together 120,000,000.00
    # net, over the limit of 100,000,000.00, though each alone is under it.
    big = [_request("B1", "C-2", "60000", "1000"), _request("B2", "C-2", "60000", "1000")]
    assert all(invoice_breach(inv) is None for inv in build_invoices(big[:1]))
    cursor = runs._new_cursor()
    built = build_invoices([_request("A", "C-1", "1", "10"), *big, _request("C", "C-3", "1", "10")])
    person = PERSON.model_dump(mode="json")
    snaps = [
        {"customer_number": inv.customer_number, "profile_version": 1, "consumer": True, "data": person}
        for inv in built
    ]
    ok, _, left = billable.billable("notice", built, snaps, seller(_settings()))
    assert [inv.customer_number for inv in ok] == ["C-1", "C-3"]
    billable.leave_out(cursor, left)
    summary = _summary(cursor)
    [entry] = summary.left_out
    assert (entry.code, entry.count, entry.customers) == ("invoice-over-limit", 2, ["C-2"])
    assert "100 000 000,00" in entry.message_fi.replace("\u00a0", " ") and entry.message_en


def _settings() -> Settings:
    return Settings(database_url="postgresql+asyncpg://u:p@localhost:5432/x", kafka_bootstrap_servers="localhost:9092")


def test_intake_refuses_a_request_no_invoice_can_carry() -> None:
    body = {
        "request_id": "N-1",
        "kind": "notice",
        "customer_number": "C-1",
        "order_id": "O-1",
        "invoice_date": "2026-11-23",
        "lines": [
            {
                "product_code": "ILM",
                "description": "Ilmoitus",
                "quantity": "99999",
                "unit_price": "999999.99",
                "vat_rate": "25.5",
            }
        ],
    }
    request = BillingRequestSubmitted.model_validate(body)  # the contract's field limits pass it
    with pytest.raises(EventRejected) as refused:
        intake.check_amounts(request)
    assert refused.value.code == "amount-over-limit"
    assert "100" in refused.value.reason


def test_the_wire_amount_leaves_room_above_one_invoice() -> None:
    # a reminder's fees and interest on the largest invoice still fit an event's amount
    from pydantic import TypeAdapter

    TypeAdapter(Money).validate_python(MAX_INVOICE_AMOUNT * 2)


@pytest.mark.parametrize("lines", [1, 2, 200])
@pytest.mark.parametrize("rate", ["0", "10", "25.5", "100"])
def test_the_quick_amount_check_refuses_exactly_what_the_full_one_does(lines: int, rate: str) -> None:
    # requests around the limit: the quick bound may only pass what the exact check
    # (the invoice's every net, VAT and gross) passes
    from services.invoicing.domain.billing import Line, limit_breach, line_net, vat_breakdown

    for share in ("0.2", "0.49", "0.4999", "0.5", "0.6", "0.9", "1.0"):
        per_line = (MAX_INVOICE_AMOUNT * Decimal(share) / lines).quantize(Decimal("0.0001"))
        price = min(per_line / 1000, Decimal("999999.9999")).quantize(Decimal("0.0001"))
        body = {
            "request_id": "BR-X",
            "kind": "notice",
            "customer_number": "C-1",
            "order_id": "O-X",
            "invoice_date": "2026-11-23",
            "lines": [
                {"product_code": "ILM", "description": "Ilmoitus", "quantity": "1000", "unit_price": str(price),
                 "vat_rate": rate}
                for _ in range(lines)
            ],
        }  # fmt: skip
        request = BillingRequestSubmitted.model_validate(body)
        full = [
            Line(n, x.product_code, x.description, x.quantity, x.unit, x.unit_price, x.vat_rate,
                 line_net(x.quantity, x.unit_price))
            for n, x in enumerate(request.lines, 1)
        ]  # fmt: skip
        rows, totals = vat_breakdown(full)
        over = limit_breach(full, rows, totals) is not None
        if over:
            with pytest.raises(EventRejected):
                intake.check_amounts(request)
        else:
            intake.check_amounts(request)
        if intake._surely_within_limits(request):
            assert not over
