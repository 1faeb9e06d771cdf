"""The documents the reminders service publishes, built from an open item and a decision
of the rules: a payment reminder (``ReminderIssued``: dispatch renders and sends it from
the event alone) and a hand-over to collection (the whole claim).

The reminder goes to the customer as the latest valid billing profile describes them
(address, e-mail, channel, language), falling back to the invoice's snapshot when no
valid profile has arrived; whether the customer counts as a consumer stays as the
invoice said (the rules applied to the debt).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.reminders.domain.collection import Claim
from services.reminders.domain.eligibility import Candidate
from services.reminders.domain.interest import Period
from services.reminders.tables import StoredItem
from shared.events.customers import CustomerData
from shared.events.invoicing import Customer, Seller
from shared.events.reminders import (
    HandedOverToCollection,
    InterestPeriod,
    ReminderDocument,
    ReminderIssued,
    ReminderRecord,
)

_NAMESPACE = uuid.UUID("6f0b6a52-3c1e-4f55-9a7e-0c8d2f1b7a10")


def reminder_id(invoice_id: str, level: int) -> str:
    """The same invoice and level give the same id (a retried chunk, another replica)."""
    return str(uuid.uuid5(_NAMESPACE, f"{invoice_id}:{level}"))


class _Cache:
    """Sellers and customers parsed once per chunk (a run reminds many invoices of one
    seller, and several of one customer)."""

    def __init__(self) -> None:
        self._sellers: dict[str, Seller] = {}
        self._customers: dict[tuple[str, int | None], Customer] = {}

    def seller(self, raw: dict[str, Any]) -> Seller:
        key = repr(sorted(raw.items()))
        if key not in self._sellers:
            self._sellers[key] = Seller.model_validate(raw)
        return self._sellers[key]

    def customer(self, stored: StoredItem) -> Customer:
        key = (stored.item.invoice_id if stored.profile_snapshot is None else stored.item.customer_number,
               stored.profile_version)  # fmt: skip
        cached = self._customers.get(key)
        if cached is None or cached.consumer != stored.item.consumer:
            cached = current_customer(stored)
            self._customers[key] = cached
        return cached


def current_customer(stored: StoredItem) -> Customer:
    at_issue = Customer.model_validate(stored.customer)
    if stored.profile_snapshot is None or stored.profile_version is None:
        return at_issue
    return Customer(
        customer_number=at_issue.customer_number,
        profile_version=stored.profile_version,
        consumer=stored.item.consumer,
        data=CustomerData.model_validate(stored.profile_snapshot),
    )


def interest_periods(periods: tuple[Period, ...]) -> list[InterestPeriod]:
    return [
        InterestPeriod(start=p.start, end=p.end, days=p.days, rate=p.rate, amount=p.amount, principal=p.principal)
        for p in periods
    ]


class DocumentBuilder:
    def __init__(self) -> None:
        self._cache = _Cache()

    def reminder(self, stored: StoredItem, c: Candidate, issued_at: datetime) -> ReminderIssued:
        item, charged = stored.item, c.charges
        document = ReminderDocument(
            reminder_id=reminder_id(item.invoice_id, c.level),
            level=c.level,
            reminder_date=c.on,
            due_date=c.new_due_date,
            invoice_id=item.invoice_id,
            invoice_number=item.invoice_number,
            invoice_date=item.invoice_date,
            invoice_due_date=item.due_date,
            invoice_gross=item.gross,
            open_amount=item.open,
            fee=charged.fee,
            compensation=charged.compensation,
            interest=charged.interest,
            interest_periods=interest_periods(charged.periods),
            total_due=c.total_due,
            reference=stored.reference,
            reference_rf=stored.reference_rf,
            seller=self._cache.seller(stored.seller),
            customer=self._cache.customer(stored),
            issued_at=issued_at,
        )
        return ReminderIssued(reminder=document)

    def handover(self, stored: StoredItem, claim: Claim, agency: str, actor: str) -> HandedOverToCollection:
        item = stored.item
        return HandedOverToCollection(
            invoice_id=item.invoice_id,
            invoice_number=item.invoice_number,
            customer_number=item.customer_number,
            open_amount=claim.principal,
            agency=agency,
            handed_over_on=claim.on,
            actor=actor,
            invoice_date=item.invoice_date,
            invoice_due_date=item.due_date,
            invoice_gross=item.gross,
            fees=claim.fees,
            compensation=claim.compensation,
            interest=claim.interest,
            interest_periods=interest_periods(claim.periods),
            total_claim=claim.total,
            reference=stored.reference,
            reference_rf=stored.reference_rf,
            reminders=[
                ReminderRecord(
                    reminder_id=reminder_id(item.invoice_id, r.level),
                    level=r.level,
                    reminder_date=r.on,
                    due_date=r.due_date,
                    fee=r.fee,
                    compensation=r.compensation,
                )
                for r in claim.reminders
            ],
            seller=self._cache.seller(stored.seller),
            customer=self._cache.customer(stored),
        )
