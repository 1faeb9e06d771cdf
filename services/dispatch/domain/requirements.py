"""What a channel needs from the customer's billing snapshot before anything is sent.

A document whose snapshot lacks it fails at once (a permanent failure, with the
reason in Finnish and English); the clerk fixes the card and re-sends. The customers
service flags such cards already, so this is the last line, not the first.

Messages name the missing field, never its value (no personal data in reasons).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.customers import Channel, CustomerData


@dataclass(frozen=True)
class Problem:
    code: str
    message_fi: str
    message_en: str

    @property
    def reason(self) -> str:
        """One line for the delivery-failed event and the API (fi / en)."""
        return f"{self.message_fi} / {self.message_en}"


NO_EMAIL = Problem("no-email-address", "Asiakkaalla ei ole sähköpostiosoitetta.", "The customer has no e-mail address.")
NO_EINVOICE = Problem(
    "no-einvoice-address",
    "Asiakkaalta puuttuu verkkolaskuosoite tai välittäjätunnus.",
    "The customer has no e-invoice address or operator.",
)
NO_POSTAL = Problem(
    "no-postal-address",
    "Asiakkaalta puuttuu nimi tai postiosoite (katu, postinumero, toimipaikka).",
    "The customer has no name or postal address (street, postal code, city).",
)


def channel_problem(channel: Channel, customer: CustomerData) -> Problem | None:
    """Why the document cannot go on ``channel`` (None: it can)."""
    if channel == "email":
        email = (customer.email or "").strip()
        return None if "@" in email and not email.startswith("@") and not email.endswith("@") else NO_EMAIL
    if channel == "einvoice":
        return None if customer.einvoice_address and customer.einvoice_operator else NO_EINVOICE
    address = customer.address
    if (
        not customer.name
        or address is None
        or not any(line.strip() for line in address.street_lines)
        or not address.postal_code
        or not address.city
    ):
        return NO_POSTAL
    return None
