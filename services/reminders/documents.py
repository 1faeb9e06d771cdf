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
import re
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
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
from shared.limits import MAX_AMOUNT


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


def _trusted_periods(periods: tuple[Period, ...]) -> list[InterestPeriod]:
    """As :func:`interest_periods`, built without validation (see :meth:`DocumentBuilder.reminder`)."""
    return [
        InterestPeriod.model_construct(
            start=p.start, end=p.end, days=p.days, rate=p.rate, amount=p.amount, principal=p.principal
        )
        for p in periods
    ]


_MAX_PERIODS = 40
"""``ReminderDocument.interest_periods``' ``max_length``."""
_MIN_AMOUNT = -MAX_AMOUNT
_MAX_RATE = Decimal(100)
_REFERENCE_RF = re.compile(r"RF[0-9]{2}[0-9A-Z]{1,21}")
"""The contract's pattern and length (25) of the RF reference."""


def _digits(text: str) -> bool:
    """The contract's ``^[0-9]+$`` at most 20 long (invoice number, national reference)."""
    return 0 < len(text) <= 20 and text.isascii() and text.isdigit()


def _within_contract(fields: dict[str, Any], periods: tuple[Period, ...]) -> bool:
    """Whether the fields surely pass :class:`ReminderDocument`'s checks that the rules'
    results and the stored item can break (their types are the fields' types; their
    values are checked): every amount a ``Money`` (finite, at most two decimals, within
    :data:`shared.limits.MAX_AMOUNT` either sign, so at most 12 of its 15 digits), at
    most 40 interest periods with days >= 0 and a ``Rate`` (0 to 100, two decimals),
    the level 1 to 9, the invoice id's length, the invoice number's and the references'
    patterns. The seller and customer are models validated from the snapshots.

    Conservative: False sends the document through the contract's model, which then
    accepts it (the same document: ``1.000`` has three decimals here, two there) or
    raises its ``ValidationError``. Cheap (a few microseconds, less than validating):
    the decimals of all values at once, as an exact Decimal sum has the smallest
    exponent of its terms (exact here: ~100 terms of at most 12 digits; a term with
    far more decimals leaves even a rounded sum's exponent far below -2); NaN or
    infinity makes the sum not finite, or raises (caught: then False)."""
    if len(periods) > _MAX_PERIODS:
        return False
    f = fields
    amounts = [f["invoice_gross"], f["open_amount"], f["fee"], f["compensation"], f["interest"], f["total_due"]]
    rates = []
    for p in periods:
        if p.days < 0:
            return False
        amounts.append(p.amount)
        if p.principal is not None:
            amounts.append(p.principal)
        rates.append(p.rate)
    try:
        total = sum(amounts, sum(rates, Decimal(0)))
        if not total.is_finite() or min(amounts) < _MIN_AMOUNT or max(amounts) > MAX_AMOUNT:
            return False
        if rates and (min(rates) < 0 or max(rates) > _MAX_RATE):
            return False
        exponent = total.as_tuple().exponent
    except (TypeError, ArithmeticError):
        return False
    return (
        isinstance(exponent, int)
        and exponent >= -2
        and 1 <= f["level"] <= 9
        and len(f["invoice_id"]) <= 40
        and _digits(f["invoice_number"])
        and _digits(f["reference"])
        and _REFERENCE_RF.fullmatch(f["reference_rf"]) is not None
    )


class DocumentBuilder:
    def __init__(self) -> None:
        self._cache = _Cache()

    def reminder(self, stored: StoredItem, c: Candidate, issued_at: datetime) -> ReminderIssued:
        """The reminder of a candidate. Built with ``model_construct`` (no validation: a
        create job builds thousands per second, and validating them again was half of
        the job's time) when a cheap check (:func:`_within_contract`) shows every value
        the rules and the stored item give within the contract's limits; the seller and
        customer are models parsed (validated) from the stored snapshots. Otherwise the
        contract's model validates it, as before: broken data raises its
        ``ValidationError`` (the job skips the item as ``bad_data``) instead of a
        document dispatch would dead-letter. The JSON is the same as a validated
        model's (``tests/unit/reminders/test_documents.py`` checks it field for field)."""
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
        if not _within_contract(fields, charged.periods):
            periods = [asdict(p) for p in charged.periods]  # validated with the rest: every error at once
            validated = ReminderDocument(**fields, interest_periods=periods)
            return ReminderIssued(reminder=validated)
        document = ReminderDocument.model_construct(**fields, interest_periods=_trusted_periods(charged.periods))
        return ReminderIssued.model_construct(reminder=document)

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
