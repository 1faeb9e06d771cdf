"""What the Finvoice builder takes besides the document, and what the checker reports.

The transmission frame's parties are routing data, not document data: the seller's own
e-invoice address and operator come from dispatch's settings (an operator contract),
the receiver's from the customer's billing snapshot in the document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TransmissionFrame:
    """The sender side of the SOAP frame and ``MessageTransmissionDetails``."""

    sender_address: str
    """The seller's e-invoice address (OVT ``0037…`` or IBAN)."""
    sender_intermediator: str
    """The seller's operator (intermediator) code: a bank BIC or an operator OVT."""
    message_id: str
    """Unique per message (at most 48 characters), the same for the same document, so a
    resend is recognisable as the same message (e.g. the document id)."""
    timestamp: datetime


@dataclass(frozen=True)
class FinvoiceProblem:
    """One reason a Finvoice file must not be sent.

    ``code`` is stable (tests and dashboards count by it), ``path`` points at the element
    (``/Finvoice/InvoiceRow[2]/RowVatAmount``, or ``SOAP-ENV:Envelope/…`` for the frame),
    ``message`` says what is wrong in English. Messages name elements and amounts, never
    names, addresses or other values of a person.
    """

    code: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.code} at {self.path}: {self.message}"


def describe(problems: Sequence[FinvoiceProblem], limit: int = 5) -> str:
    """A one-line reason for a failed delivery: the first ``limit`` problems."""
    shown = "; ".join(str(p) for p in problems[:limit])
    more = len(problems) - limit
    return shown + (f"; and {more} more" if more > 0 else "")
