"""The reminder documents the create job builds (one encoding, cached seller and
customer models) are the documents a validated model gives: the same JSON on the wire, and JSON that
the contract's model reads back. Cases: a consumer, a business debtor with the 40 €
compensation, a partly paid invoice (interest on two balances, across a half-year's
rate change) and a customer whose current billing profile replaces the invoice's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.reminders.documents import DocumentBuilder, interest_periods
from services.reminders.domain.eligibility import Candidate, decide
from services.reminders.domain.interest import Payment, Period
from services.reminders.domain.items import OpenItem
from services.reminders.domain.policy import default_policy
from services.reminders.domain.rates import default_rates
from services.reminders.tables import StoredItem
from shared.events.reminders import ReminderDocument, ReminderIssued
from shared.limits import MAX_AMOUNT
from tests.support import documents

D = Decimal
RATES = default_rates()
ISSUED_AT = datetime(2026, 7, 20, 8, 30, tzinfo=UTC)


def stored(*, consumer: bool, payments: tuple[Payment, ...] = (), profile: bool = False) -> StoredItem:
    data = documents.PERSON if consumer else documents.COMPANY
    customer = documents.customer("K-7", data, consumer=consumer)
    item = OpenItem(
        invoice_id="inv-1000000007",
        invoice_number="1000000007",
        customer_number="K-7",
        consumer=consumer,
        invoice_date=date(2026, 5, 18),
        due_date=date(2026, 6, 1),
        gross=D("1234.56"),
        paid_total=sum((p.amount for p in payments), D("0.00")),
        status="partially-paid" if payments else "open",
        payments=payments,
    )
    moved = data.model_copy(update={"name": "Uusi Nimi", "email": "uusi@example.com"})
    return StoredItem(
        item=item,
        reference="10000000074",
        reference_rf="RF7410000000074",
        seller_json=documents.SELLER.model_dump_json(),
        customer_json=customer.model_dump_json(),
        profile_version=5 if profile else None,
        profile_json=moved.model_dump_json() if profile else None,
    )


def validated(event: ReminderIssued, s: StoredItem, c: Candidate) -> ReminderIssued:
    """The same document as the contract's model validates it from the builder's inputs."""
    doc = event.reminder
    return ReminderIssued(
        reminder=ReminderDocument(
            reminder_id=doc.reminder_id,
            level=c.level,
            reminder_date=c.on,
            due_date=c.new_due_date,
            invoice_id=s.item.invoice_id,
            invoice_number=s.item.invoice_number,
            invoice_date=s.item.invoice_date,
            invoice_due_date=s.item.due_date,
            invoice_gross=s.item.gross,
            open_amount=s.item.open,
            fee=c.charges.fee,
            compensation=c.charges.compensation,
            interest=c.charges.interest,
            interest_periods=interest_periods(c.charges.periods),
            total_due=c.total_due,
            reference=s.reference,
            reference_rf=s.reference_rf,
            seller=doc.seller.model_dump(),
            customer=doc.customer.model_dump(),
            issued_at=ISSUED_AT,
        )
    )


@pytest.mark.parametrize(
    ("case", "s"),
    [
        ("consumer", stored(consumer=True)),
        ("business", stored(consumer=False)),
        ("partly paid", stored(consumer=True, payments=(Payment(date(2026, 6, 20), D("234.56")),))),
        ("current profile", stored(consumer=True, profile=True)),
    ],
)
def test_built_reminder_is_the_validated_document(case: str, s: StoredItem) -> None:
    on = date(2026, 7, 20)  # 49 days overdue, across the half-year of 1.7.2026
    c = decide(s.item, 1, on, default_policy().at(on), RATES)
    assert isinstance(c, Candidate), (case, c)
    event = DocumentBuilder().reminder(s, c, ISSUED_AT)
    wire = event.model_dump_json()
    assert wire == validated(event, s, c).model_dump_json()
    back = ReminderIssued.model_validate_json(wire)  # the contract reads it back, unchanged
    assert back.model_dump_json() == wire
    assert back.reminder.total_due == back.reminder.open_amount + c.charges.fee + c.charges.compensation + (
        c.charges.interest
    )


def test_cases_cover_what_they_name() -> None:
    on = date(2026, 7, 20)
    business = decide(stored(consumer=False).item, 1, on, default_policy().at(on), RATES)
    paid = decide(
        stored(consumer=True, payments=(Payment(date(2026, 6, 20), D("234.56")),)).item,
        1,
        on,
        default_policy().at(on),
        RATES,
    )
    assert isinstance(business, Candidate) and business.charges.compensation > 0
    assert isinstance(paid, Candidate) and len(paid.charges.periods) >= 2
    event = DocumentBuilder().reminder(stored(consumer=True, profile=True), paid, ISSUED_AT)
    assert (event.reminder.customer.data.name, event.reminder.customer.profile_version) == ("Uusi Nimi", 5)


def candidate(s: StoredItem) -> Candidate:
    on = date(2026, 7, 20)
    c = decide(s.item, 1, on, default_policy().at(on), RATES)
    assert isinstance(c, Candidate)
    return c


def with_item(s: StoredItem, **changes: Any) -> StoredItem:
    return replace(s, item=replace(s.item, **changes))


def with_periods(c: Candidate, periods: tuple[Period, ...]) -> Candidate:
    return replace(c, charges=replace(c.charges, periods=periods))


def forty_one_periods(c: Candidate) -> Candidate:
    p = c.charges.periods[0]
    return with_periods(c, tuple(replace(p, days=1) for _ in range(41)))


def three_decimals_of_interest(c: Candidate) -> Candidate:
    return with_periods(c, (replace(c.charges.periods[0], amount=D("1.005")), *c.charges.periods[1:]))


def not_a_number(c: Candidate) -> Candidate:
    return with_periods(c, (replace(c.charges.periods[0], amount=D("NaN")), *c.charges.periods[1:]))


BROKEN = [  # (case, stored item, candidate): each breaks one of the contract's checks
    ("gross with 3 decimals", with_item(stored(consumer=True), gross=D("1234.565")), None),
    ("gross over the Money limit", with_item(stored(consumer=True), gross=MAX_AMOUNT + 1), None),
    ("national reference not digits", replace(stored(consumer=True), reference="1000-0000074"), None),
    ("RF reference not of the pattern", replace(stored(consumer=True), reference_rf="rf7410000000074"), None),
    ("invoice number not digits", with_item(stored(consumer=True), invoice_number="A-7"), None),
    ("RF reference over 25 characters", replace(stored(consumer=True), reference_rf="RF74" + "1" * 22), None),
    ("41 interest periods", stored(consumer=True), forty_one_periods),
    ("interest period not a number", stored(consumer=True), not_a_number),
    ("interest period with 3 decimals", stored(consumer=True), three_decimals_of_interest),
]


@pytest.mark.parametrize(("case", "s", "change"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_reminder_breaking_the_contract_is_refused_as_the_model_refuses_it(
    case: str, s: StoredItem, change: Callable[[Candidate], Candidate] | None
) -> None:
    """The contract's model refuses these (the job's ``bad_data``): the builder raises the
    same ``ValidationError`` instead of a document that dispatch would dead-letter."""
    c = candidate(s) if change is None else change(candidate(s))
    with pytest.raises(ValidationError) as refused:
        DocumentBuilder().reminder(s, c, ISSUED_AT)
    expected = [e["loc"] for e in refused.value.errors()]
    with pytest.raises(ValidationError) as model:
        ReminderDocument(  # the contract's model, from the same inputs
            reminder_id="0" * 32,
            level=c.level,
            reminder_date=c.on,
            due_date=c.new_due_date,
            invoice_id=s.item.invoice_id,
            invoice_number=s.item.invoice_number,
            invoice_date=s.item.invoice_date,
            invoice_due_date=s.item.due_date,
            invoice_gross=s.item.gross,
            open_amount=s.item.open,
            fee=c.charges.fee,
            compensation=c.charges.compensation,
            interest=c.charges.interest,
            interest_periods=[asdict(p) for p in c.charges.periods],
            total_due=c.total_due,
            reference=s.reference,
            reference_rf=s.reference_rf,
            seller=documents.SELLER,
            customer=documents.customer("K-7", documents.PERSON, consumer=True),
            issued_at=ISSUED_AT,
        )
    assert expected == [e["loc"] for e in model.value.errors()], case


def test_amount_the_check_doubts_but_the_contract_accepts_is_the_validated_document() -> None:
    """``1234.560`` has three decimals as written; the contract's model accepts it (two
    significant), so the builder does too, and gives the validated model's JSON."""
    s = with_item(stored(consumer=True), gross=D("1234.560"))
    c = candidate(s)
    event = DocumentBuilder().reminder(s, c, ISSUED_AT)
    assert event.model_dump_json() == validated(event, s, c).model_dump_json()
    assert event.reminder.invoice_gross == D("1234.56")
