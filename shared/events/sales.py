"""Inbound from the order system and the notice (ad) system, on one topic keyed by
customer number, so a request and the cancellation of its order keep their order:
a billing request submitted, an order cancelled.

A billing request is idempotent by the sender's ``request_id``: the same id sent again
with the same content changes nothing; with other content it is refused (dead letter,
``request-id-reused``). Each line carries its VAT rate; the invoicing service checks it
against its dated VAT table on the line's service date (a rate not valid then is a dead
letter, ``vat-rate-invalid``, with the reason).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.events.customers import Code, CustomerNumber, Message
from shared.events.envelope import Event
from shared.limits import MAX_QUANTITY, MAX_REQUEST_LINES
from shared.money import Rate, UnitPrice

RequestKind = Literal["subscription", "notice"]

_NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"
_ID = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
RequestId = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=_ID)]
OrderId = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=_ID)]
Description = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=200, pattern=_NO_CONTROL)]
Unit = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=16, pattern=_NO_CONTROL)]

Quantity = Annotated[Decimal, Field(gt=0, le=MAX_QUANTITY, max_digits=12, decimal_places=3)]
"""How many units: more than zero, at most 100,000, three decimals (hours, kilometres).
The limits are :mod:`shared.limits`' (the unit price's too: :data:`shared.money.UnitPrice`);
a request whose amounts would not fit on an invoice of its own is refused at intake
(``amount-over-limit``)."""

MAX_TERMS_DAYS = 365
MAX_LINES = MAX_REQUEST_LINES


class ServicePeriod(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> ServicePeriod:
        if self.end < self.start:
            raise ValueError("service period ends before it starts")
        if (self.end - self.start).days > 3 * 366:
            raise ValueError("service period longer than three years")
        return self


class RequestLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    product_code: Code
    description: Description
    quantity: Quantity
    unit: Unit = "kpl"
    unit_price: UnitPrice
    vat_rate: Rate
    """Percent, e.g. ``25.5``; must be valid on :attr:`service_date` in the VAT table."""
    vat_category: Code | None = None
    """Optional category of the VAT table (``general``, ``periodical-subscription``,
    ``reduced``, ...): when given, the rate must be that category's on the date."""
    service_period: ServicePeriod | None = None
    """The period the line bills (a subscription's months); None for a one-off (a notice)."""

    def service_date(self, invoice_date: date) -> date:
        """The date whose VAT rate applies: the service period's start, else the invoice date."""
        return self.service_period.start if self.service_period else invoice_date


class BillingRequestSubmitted(Event):
    """A request to bill a customer (inbound, key = customer number)."""

    EVENT_TYPE = "fi.billing.sales.billing-request-submitted.v1"

    request_id: RequestId
    """The sender's id; the idempotency key."""
    kind: RequestKind
    customer_number: CustomerNumber
    order_id: OrderId
    invoice_date: date
    """The billing-run date the request belongs to."""
    payment_terms_days: int = Field(default=14, ge=0, le=MAX_TERMS_DAYS)
    lines: list[RequestLine] = Field(min_length=1, max_length=MAX_LINES)


class OrderCancelled(Event):
    """An order cancelled (inbound, key = customer number): its open requests, and any
    that arrive later, are cancelled; invoiced ones are left for a corrective invoice."""

    EVENT_TYPE = "fi.billing.sales.order-cancelled.v1"

    order_id: OrderId
    customer_number: CustomerNumber
    reason: Message | None = None
