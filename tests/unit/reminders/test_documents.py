"""The reminder documents the create job builds without validation (``model_construct``)
are the documents a validated model gives: the same JSON on the wire, and JSON that
the contract's model reads back. Cases: a consumer, a business debtor with the 40 €
compensation, a partly paid invoice (interest on two balances, across a half-year's
rate change) and a customer whose current billing profile replaces the invoice's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.reminders.documents import DocumentBuilder, interest_periods
from services.reminders.domain.eligibility import Candidate, decide
from services.reminders.domain.interest import Payment
from services.reminders.domain.items import OpenItem
from services.reminders.domain.policy import default_policy
from services.reminders.domain.rates import default_rates
from services.reminders.tables import StoredItem
from shared.events.reminders import ReminderDocument, ReminderIssued
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
