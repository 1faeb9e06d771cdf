"""The customer card as a value, what changes between two versions, and the profile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.customers.domain.identifiers import normalised
from services.customers.domain.rules import validate
from shared.events.customers import (
    BillingProfileChanged,
    CustomerCorrected,
    CustomerData,
    FieldCorrection,
    ProfileError,
)


@dataclass(frozen=True)
class Card:
    customer_number: str
    data: CustomerData
    version: int
    """Profile version: grows by one on every change of the data."""


def resolved_consumer(data: CustomerData) -> bool:
    """Consumer unless stated otherwise; companies are business customers by default."""
    if data.consumer is not None:
        return data.consumer
    return data.customer_type == "person"


def diff(old: CustomerData | None, new: CustomerData) -> dict[str, list[Any]]:
    """Changed fields as ``{field: [old, new]}`` (the audit trail's 'what')."""
    before: dict[str, Any] = old.model_dump(mode="json") if old is not None else {}
    after = new.model_dump(mode="json")
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


@dataclass(frozen=True)
class Change:
    card: Card
    changes: dict[str, list[Any]]
    errors: list[ProfileError]


def apply(current: Card | None, customer_number: str, data: CustomerData) -> Change | None:
    """The change a new version of the data makes, or None when nothing differs
    (the same upsert twice makes one version). Identifiers are kept in machine form
    (an IBAN given as printed: without spaces, upper case)."""
    data = normalised(data)
    changes = diff(current.data if current else None, data)
    if current is not None and not changes:
        return None
    version = (current.version if current else 0) + 1
    return Change(Card(customer_number, data, version), changes, validate(data))


def profile(card: Card, errors: list[ProfileError]) -> BillingProfileChanged:
    return BillingProfileChanged(
        customer_number=card.customer_number,
        version=card.version,
        valid=not errors,
        errors=errors,
        snapshot=card.data,
        consumer=resolved_consumer(card.data),
    )


def correction(change: Change, actor: str) -> CustomerCorrected:
    """A clerk's change of a card, as the CRM is told of it."""
    return CustomerCorrected(
        customer_number=change.card.customer_number,
        version=change.card.version,
        actor=actor,
        changes=[FieldCorrection(field=k, old=old, new=new) for k, (old, new) in change.changes.items()],
        card=change.card.data,
    )
