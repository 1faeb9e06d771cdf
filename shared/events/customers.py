"""Events about customers: upserts from the CRM (inbound), billing profiles (published
by the customers service on a compacted topic, key = customer number) and a clerk's
corrections of a card (published for the CRM, key = customer number).

Payloads are strict: a text field takes a JSON string only (no number standing for an
identifier: its leading zeros would be gone), a flag takes ``true``/``false`` only (no
``"yes"`` or ``1``), and every text has a length limit and no control characters (a
NUL cannot be stored in PostgreSQL text). Identifiers (business ID, e-invoice address
and operator, postal code, country, language) are printable ASCII without surrounding
whitespace, so other scripts' digits are refused here rather than stored. Whether an
identifier is *valid* (check digit, format per country) is a billing-data rule of the
customers service: the card is kept and flagged for a clerk to fix.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StrictBool, StringConstraints

from shared.events.envelope import Event

Channel = Literal["email", "einvoice", "print"]
CustomerType = Literal["person", "company"]

CUSTOMER_NUMBER_PATTERN = r"^[A-Za-z0-9_-]+$"
CustomerNumber = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=32, pattern=CUSTOMER_NUMBER_PATTERN)
]
_NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"
_ASCII_IDENTIFIER = r"^(?:[!-~](?:[ -~]*[!-~])?)?$"
"""Printable ASCII, no whitespace at either end (empty allowed: a rule says 'missing')."""


Name = Annotated[str, StringConstraints(strict=True, max_length=200, pattern=_NO_CONTROL)]
StreetLine = Annotated[str, StringConstraints(strict=True, max_length=100, pattern=_NO_CONTROL)]
City = Annotated[str, StringConstraints(strict=True, max_length=100, pattern=_NO_CONTROL)]
Email = Annotated[str, StringConstraints(strict=True, max_length=254, pattern=_NO_CONTROL)]
"""E-mail address (international ones too); its syntax is a billing-data rule."""
BusinessId = Annotated[str, StringConstraints(strict=True, max_length=16, pattern=_ASCII_IDENTIFIER)]
EInvoiceAddress = Annotated[str, StringConstraints(strict=True, max_length=42, pattern=_ASCII_IDENTIFIER)]
OperatorCode = Annotated[str, StringConstraints(strict=True, max_length=35, pattern=_ASCII_IDENTIFIER)]
PostalCode = Annotated[str, StringConstraints(strict=True, max_length=16, pattern=_ASCII_IDENTIFIER)]
CountryCode = Annotated[str, StringConstraints(strict=True, max_length=8, pattern=_ASCII_IDENTIFIER)]
LanguageCode = Annotated[str, StringConstraints(strict=True, max_length=8, pattern=_ASCII_IDENTIFIER)]
Code = Annotated[str, StringConstraints(strict=True, max_length=64, pattern=_ASCII_IDENTIFIER)]
Message = Annotated[str, StringConstraints(strict=True, max_length=500, pattern=_NO_CONTROL)]
Actor = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=100, pattern=_NO_CONTROL)]


class PostalAddress(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    street_lines: list[StreetLine] = Field(default_factory=list, max_length=4)
    postal_code: PostalCode | None = None
    city: City | None = None
    country: CountryCode = "FI"
    """ISO 3166-1 alpha-2 code; checked by the customers service's rules."""


class CustomerData(BaseModel):
    """The billing data of a customer card, as the CRM sends it and as profiles carry it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    customer_type: CustomerType
    name: Name | None = None
    business_id: BusinessId | None = None
    """Y-tunnus, for companies (e.g. ``0737546-2``)."""
    address: PostalAddress | None = None
    email: Email | None = None
    einvoice_address: EInvoiceAddress | None = None
    """Verkkolaskuosoite: OVT (``0037`` + Y-tunnus digits + optional suffix) or IBAN form."""
    einvoice_operator: OperatorCode | None = None
    """Intermediator (operator) code, e.g. ``003721291126``."""
    delivery_channel: Channel = "print"
    language: LanguageCode = "fi"
    consumer: StrictBool | None = None
    """Consumer (True) or business (False) customer; None means: derive from type."""
    no_reminders: StrictBool = False


class CustomerUpserted(Event):
    """A customer card created or changed in the CRM (inbound, key = customer number).

    Replay safety: an upsert whose ``ce_time`` is older than that of the last upsert
    applied for the same customer changes nothing (it is recorded and counted).
    """

    EVENT_TYPE = "fi.billing.crm.customer-upserted.v1"

    customer_number: CustomerNumber
    customer: CustomerData


class ProfileError(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: Code
    field: Code
    message_fi: Message
    message_en: Message


class BillingProfileChanged(Event):
    """Whether a customer can be billed and sent to, and why not (compacted topic).

    ``version`` only grows per customer; a consumer keeps the highest it has seen.
    """

    EVENT_TYPE = "fi.billing.customers.billing-profile.v1"

    customer_number: CustomerNumber
    version: int = Field(ge=1)
    valid: StrictBool
    errors: list[ProfileError] = Field(default_factory=list, max_length=100)
    snapshot: CustomerData
    consumer: StrictBool
    """Resolved consumer/business flag (reminder and interest rules need it)."""


class BillingProfileErased(Event):
    """The customer was erased (a data subject's erasure request): a **tombstone** on
    the compacted profiles topic. On the wire the record's value is null and its key
    is the customer number; the CloudEvents headers (``ce_type`` this type, ``ce_id``,
    ``ce_source``, ``ce_time``) travel as on every record, but a consumer must also
    take a bare tombstone (no headers). Built from the key by
    :func:`shared.events.envelope.decode`, never from a body.

    A consumer anonymises its copy of the profile and keeps it erased: a profile of
    the customer that comes later (a replay) changes nothing. Compaction then removes
    the key's earlier records, and the tombstone itself after ``delete.retention.ms``.
    """

    EVENT_TYPE = "fi.billing.customers.billing-profile-erased.v1"

    customer_number: CustomerNumber


ERASED_CODE = "erased"
"""The profile error a consumer's copy of an erased customer's profile carries."""

KEPT_WHEN_ERASED = ("customer_type", "delivery_channel", "language", "consumer", "no_reminders")
"""The fields of :class:`CustomerData` an erasure keeps: how the customer is billed
(none of them names or reaches the person). Name, business ID, address, e-mail and
e-invoice address and operator go."""


def anonymised(data: CustomerData) -> CustomerData:
    """The card's data as an erasure leaves it."""
    return CustomerData.model_validate(data.model_dump(include=set(KEPT_WHEN_ERASED)))


def erased_error() -> ProfileError:
    return ProfileError(
        code=ERASED_CODE,
        field="customer",
        message_fi="Asiakkaan tiedot on poistettu (tietojen poistopyyntö).",
        message_en="The customer's data was erased (an erasure request).",
    )


class FieldCorrection(BaseModel):
    """One field of the card as it was and as the clerk left it (``address`` whole)."""

    model_config = ConfigDict(frozen=True)

    field: Code
    old: JsonValue
    new: JsonValue


class CustomerCorrected(Event):
    """A clerk corrected a customer card (seed step 10), for the CRM to take over.

    Published by the customers service (key = customer number) in the same transaction
    as the change. ``changes`` lists only the fields the clerk changed; ``card`` is the
    whole card after the correction, at ``version`` (the billing profile's version).
    """

    EVENT_TYPE = "fi.billing.customers.card-corrected.v1"

    customer_number: CustomerNumber
    version: int = Field(ge=1)
    actor: Actor
    changes: list[FieldCorrection] = Field(min_length=1, max_length=20)
    card: CustomerData
