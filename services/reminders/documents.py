"""The documents the reminders service publishes, built from an open item and a decision
of the rules: a payment reminder (``ReminderIssued``: dispatch renders and sends it from
the event alone) and a hand-over to collection (the whole claim).

The reminder goes to the customer as the latest valid billing profile describes them
(address, e-mail, channel, language), falling back to the invoice's snapshot when no
valid profile has arrived; whether the customer counts as a consumer stays as the
invoice said (the rules applied to the debt).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
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


def reminder_id(invoice_id: str, level: int) -> str:
    """The same invoice and level give the same id (a retried chunk, another replica):
    32 hex digits of a BLAKE2b hash of both."""
    return hashlib.blake2b(f"{invoice_id}:{level}".encode(), digest_size=16).hexdigest()


class _Cache:
    """Sellers and customers parsed once per distinct JSON text (a run reminds many
    invoices of one seller; a customer's profile serves all its invoices)."""

    def __init__(self) -> None:
        self._sellers: dict[str, Seller] = {}
        self._profiles: dict[tuple[str, int, bool], Customer] = {}

    def seller(self, stored: StoredItem) -> Seller:
        seller = self._sellers.get(stored.seller_json)
        if seller is None:
            seller = self._sellers[stored.seller_json] = Seller.model_validate_json(stored.seller_json)
        return seller

    def customer(self, stored: StoredItem) -> Customer:
        if stored.profile_json is None or stored.profile_version is None:
            return Customer.model_validate_json(stored.customer_json)
        key = (stored.item.customer_number, stored.profile_version, stored.item.consumer)
        customer = self._profiles.get(key)
        if customer is None:
            customer = self._profiles[key] = current_customer(stored)
        return customer


def current_customer(stored: StoredItem) -> Customer:
    """The latest valid profile's snapshot, else the invoice's; the consumer flag of the invoice."""
    if stored.profile_json is None or stored.profile_version is None:
        return Customer.model_validate_json(stored.customer_json)
    return Customer(
        customer_number=stored.item.customer_number,
        profile_version=stored.profile_version,
        consumer=stored.item.consumer,
        data=CustomerData.model_validate_json(stored.profile_json),
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
        """The reminder of a candidate, validated by the contract's model: broken data
        raises its ``ValidationError`` (the job skips the item as ``bad_data``) instead of
        a document dispatch would dead-letter. (A ``model_construct`` fast path with a
        check of its own was measured at the same cost, 22 µs a reminder: not worth a
        second copy of the contract.) The seller and customer are models parsed once per
        snapshot (the builder's cache)."""
        item, charged = stored.item, c.charges
        fields: dict[str, Any] = {
            "reminder_id": reminder_id(item.invoice_id, c.level),
            "level": c.level,
            "reminder_date": c.on,
            "due_date": c.new_due_date,
            "invoice_id": item.invoice_id,
            "invoice_number": item.invoice_number,
            "invoice_date": item.invoice_date,
            "invoice_due_date": item.due_date,
            "invoice_gross": item.gross,
            "open_amount": item.open,
            "fee": charged.fee,
            "compensation": charged.compensation,
            "interest": charged.interest,
            "total_due": c.total_due,
            "currency": "EUR",
            "reference": stored.reference,
            "reference_rf": stored.reference_rf,
            "seller": self._cache.seller(stored),
            "customer": self._cache.customer(stored),
            "issued_at": issued_at,
        }
        periods = [asdict(p) for p in charged.periods]  # validated with the rest: every error at once
        return ReminderIssued(reminder=ReminderDocument(**fields, interest_periods=periods))

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
            seller=self._cache.seller(stored),
            customer=self._cache.customer(stored),
        )
