"""Events about customers: upserts from the CRM (inbound) and billing profiles
(published by the customers service on a compacted topic, key = customer number)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.envelope import Event

CustomerNumber = str
Channel = Literal["email", "einvoice", "print"]
CustomerType = Literal["person", "company"]


class PostalAddress(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    street_lines: list[str] = Field(default_factory=list, max_length=4)
    postal_code: str | None = None
    city: str | None = None
    country: str = "FI"
    """ISO 3166-1 alpha-2 code; checked by the customers service's rules."""


class CustomerData(BaseModel):
    """The billing data of a customer card, as the CRM sends it and as profiles carry it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    customer_type: CustomerType
    name: str | None = None
    business_id: str | None = None
    """Y-tunnus, for companies (e.g. ``0737546-2``)."""
    address: PostalAddress | None = None
    email: str | None = None
    einvoice_address: str | None = None
    """Verkkolaskuosoite: OVT (``0037`` + Y-tunnus digits + optional suffix) or IBAN form."""
    einvoice_operator: str | None = None
    """Intermediator (operator) code, e.g. ``003721291126``."""
    delivery_channel: Channel = "print"
    language: str = "fi"
    consumer: bool | None = None
    """Consumer (True) or business (False) customer; None means: derive from type."""
    no_reminders: bool = False


class CustomerUpserted(Event):
    """A customer card created or changed in the CRM (inbound, key = customer number)."""

    EVENT_TYPE = "fi.billing.crm.customer-upserted.v1"

    customer_number: CustomerNumber = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    customer: CustomerData


class ProfileError(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    field: str
    message_fi: str
    message_en: str


class BillingProfileChanged(Event):
    """Whether a customer can be billed and sent to, and why not (compacted topic).

    ``version`` only grows per customer; a consumer keeps the highest it has seen.
    """

    EVENT_TYPE = "fi.billing.customers.billing-profile.v1"

    customer_number: CustomerNumber
    version: int = Field(ge=1)
    valid: bool
    errors: list[ProfileError] = Field(default_factory=list)
    snapshot: CustomerData
    consumer: bool
    """Resolved consumer/business flag (reminder and interest rules need it)."""
