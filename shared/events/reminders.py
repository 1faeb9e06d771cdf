"""Events of the reminders service on ``reminders.reminders.v1`` (key = customer
number): a payment reminder issued (a document: dispatch renders and sends it from the
event alone), an invoice handed over to collection.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.events.customers import Code, CustomerNumber
from shared.events.envelope import Event
from shared.events.invoicing import Customer, InvoiceNumber, Seller
from shared.money import Money, Rate

_Id = Annotated[str, StringConstraints(max_length=40)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class InterestPeriod(_Model):
    """Penalty interest for one stretch of days at one rate (a half-year's rate)."""

    start: date
    end: date
    """Inclusive."""
    days: int = Field(ge=0)
    rate: Rate
    """Annual percent (reference rate + 7 or + 8 points)."""
    amount: Money
    principal: Money | None = None
    """The balance the interest ran on over these days (added in v1, optional)."""


class ReminderDocument(_Model):
    reminder_id: _Id
    level: int = Field(ge=1, le=9)
    """1 = payment reminder #1, 2 = #2, ..."""
    reminder_date: date
    due_date: date
    """The new due date the reminder gives."""
    invoice_id: _Id
    invoice_number: InvoiceNumber
    invoice_date: date
    invoice_due_date: date
    invoice_gross: Money
    open_amount: Money
    """What was still unpaid on the invoice when the reminder was made."""
    fee: Money
    compensation: Money
    """The 40 € standard compensation (business debtors, once per invoice); else 0."""
    interest: Money
    interest_periods: list[InterestPeriod] = Field(default_factory=list, max_length=40)
    total_due: Money
    """open_amount + fee + compensation + interest."""
    currency: Literal["EUR"] = "EUR"
    reference: Annotated[str, StringConstraints(max_length=20, pattern=r"^[0-9]+$")]
    """The invoice's national reference: a payment matches the invoice."""
    reference_rf: Annotated[str, StringConstraints(max_length=25, pattern=r"^RF[0-9]{2}[0-9A-Z]+$")]
    seller: Seller
    customer: Customer
    issued_at: datetime


class ReminderIssued(Event):
    EVENT_TYPE = "fi.billing.reminders.reminder-issued.v1"

    reminder: ReminderDocument


class ReminderRecord(_Model):
    """One reminder in a hand-over's history."""

    reminder_id: _Id
    level: int = Field(ge=1, le=9)
    reminder_date: date
    due_date: date
    fee: Money
    compensation: Money


class HandedOverToCollection(Event):
    """An invoice still open after the last reminder, handed over to collection
    (*perintään*), with the whole claim as of ``handed_over_on``. The fields after
    ``actor`` were added within v1 and are optional for readers of older records;
    the reminders service always sets them."""

    EVENT_TYPE = "fi.billing.reminders.handed-over-to-collection.v1"

    invoice_id: _Id
    invoice_number: InvoiceNumber
    customer_number: CustomerNumber
    open_amount: Money
    """The principal still open on the invoice."""
    agency: Code
    handed_over_on: date
    actor: Annotated[str, StringConstraints(max_length=100)]
    invoice_date: date | None = None
    invoice_due_date: date | None = None
    invoice_gross: Money | None = None
    fees: Money | None = None
    """Reminder fees charged so far (all levels)."""
    compensation: Money | None = None
    """The 40 € standard compensation, if claimed (business debtors)."""
    interest: Money | None = None
    """Penalty interest from the day after the due date to ``handed_over_on``."""
    interest_periods: list[InterestPeriod] = Field(default_factory=list, max_length=40)
    total_claim: Money | None = None
    """open_amount + fees + compensation + interest."""
    reference: Annotated[str, StringConstraints(max_length=20, pattern=r"^[0-9]+$")] | None = None
    reference_rf: Annotated[str, StringConstraints(max_length=25, pattern=r"^RF[0-9]{2}[0-9A-Z]+$")] | None = None
    reminders: list[ReminderRecord] = Field(default_factory=list, max_length=9)
    seller: Seller | None = None
    customer: Customer | None = None
