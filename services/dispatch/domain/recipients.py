"""Where a document goes: the billing data an attempt uses, and the address it records.

A document's first send goes to the customer's billing snapshot taken at issue (in the
document itself, which stays as issued: the record of what was billed). When it fails
(the mail server refuses the address, the operator refuses the e-invoice address) the
clerk fixes the customer card; the customers service publishes a new billing profile,
and dispatch keeps the latest per customer. A **re-send** (or a **move to another
channel**) then goes to the customer's *current* billing data: the latest profile when
it is newer than the data the document has, and valid; a card still in error is not
sent to (the clerk sees its errors instead).

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.events.customers import Channel, CustomerData


@dataclass(frozen=True)
class Profile:
    """The latest billing profile dispatch has of a customer."""

    customer_number: str
    version: int
    valid: bool
    errors: list[dict[str, Any]]
    """``code``, ``field``, ``message_fi``, ``message_en`` each (the customers service's rules)."""
    data: CustomerData


@dataclass(frozen=True)
class Current:
    """The billing data to send with now, and the profile version it is."""

    data: CustomerData
    version: int
    from_profile: bool
    """True: a profile newer than the document's data; False: the document's own."""


@dataclass(frozen=True)
class CardInvalid:
    """The customer's latest card has errors: nothing is sent to it until it is fixed."""

    version: int
    errors: list[dict[str, Any]]


def current_data(
    issued: CustomerData, issued_version: int, recipient: Current | None, profile: Profile | None
) -> Current | CardInvalid:
    """The data a re-send or a move uses: the latest profile if it is newer than what the
    document has (its snapshot at issue, or the data of an earlier re-send), else that."""
    have = recipient or Current(issued, issued_version, from_profile=False)
    if profile is None or profile.version <= have.version:
        return have
    if not profile.valid:
        return CardInvalid(profile.version, profile.errors)
    return Current(profile.data, profile.version, from_profile=True)


def address_of(channel: Channel | str, data: CustomerData) -> str | None:
    """The address an attempt on ``channel`` goes to, in one line (personal data: stored
    with the attempt and shown to the clerk, never logged)."""
    if channel == "email":
        return (data.email or "").strip() or None
    if channel == "einvoice":
        if not data.einvoice_address:
            return None
        return f"{data.einvoice_address} ({data.einvoice_operator or '-'})"
    address = data.address
    parts = [data.name or ""]
    if address is not None:
        parts += [line for line in address.street_lines if line.strip()]
        parts.append(" ".join(p for p in (address.postal_code, address.city) if p))
        if address.country and address.country != "FI":
            parts.append(address.country)
    line = ", ".join(p.strip() for p in parts if p and p.strip())
    return line or None
