"""What a channel needs from the customer's billing snapshot before anything is sent.

A document whose snapshot lacks it fails at once (a permanent failure, with the
reason in Finnish, English and Swedish); the clerk fixes the card and re-sends. The customers
service flags such cards already, so this is the last line, not the first.

Messages name the missing field, never its value (no personal data in reasons).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.dispatch.domain.reasons import localize
from shared.events.customers import Channel, CustomerData


@dataclass(frozen=True)
class Problem:
    code: str

    def _text(self, lang: str) -> str:
        texts = localize(self.code)
        assert texts is not None
        return texts.get(lang)

    @property
    def message_fi(self) -> str:
        return self._text("fi")

    @property
    def message_en(self) -> str:
        return self._text("en")

    @property
    def message_sv(self) -> str:
        return self._text("sv")

    @property
    def reason(self) -> str:
        """The English line of the delivery-failed event (the clerk reads the code's
        text in their language, see :mod:`services.dispatch.domain.reasons`)."""
        return self.message_en


NO_EMAIL = Problem("no-email-address")
NO_EINVOICE = Problem("no-einvoice-address")
NO_POSTAL = Problem("no-postal-address")


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
