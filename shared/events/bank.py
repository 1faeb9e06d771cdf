"""Inbound from the bank-statement import: reference payments (key = reference).

Idempotent by the bank's ``payment_id`` (archive id). The payer's name is personal
data: stored for the clerk's allocation screen, never logged.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.events.customers import Name
from shared.events.envelope import Event
from shared.limits import MAX_INVOICE_AMOUNT

PaymentId = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
]
ReferenceText = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=35, pattern=r"^[ -~]+$")]
"""As the bank reports it: national (digits) or RF form, spaces allowed; matched after
normalising (spaces removed, upper case)."""


class ReferencePaymentReceived(Event):
    EVENT_TYPE = "fi.billing.bank.reference-payment-received.v1"

    payment_id: PaymentId
    reference: ReferenceText
    amount: Annotated[Decimal, Field(gt=0, le=MAX_INVOICE_AMOUNT, max_digits=12, decimal_places=2)]
    """Euros received (a payment is positive; refunds are not reference payments)."""
    payment_date: date
    payer_name: Name | None = None


class ReferencePaymentReversed(Event):
    """The bank took back a reference payment: a correction or reversal entry of its
    file. Only a reversal of the payment's exact amount is applied (the whole payment is
    taken back); any other amount is kept for a clerk (``reversal-unknown``). Keyed by
    the canonical reference like the payment, so both share a partition and arrive in
    order. Idempotent by its own ``payment_id``."""

    EVENT_TYPE = "fi.billing.bank.reference-payment-reversed.v1"

    payment_id: PaymentId
    """The reversal's own id, never a payment's (the file import sends ``R:`` + the
    reversal's archive id, since a bank may give a correction its payment's archive id)."""
    reverses_payment_id: PaymentId | None = None
    """The reversed payment's id, when known (the file names it, or the correction
    carries the payment's own archive id); else it is found by reference and amount."""
    reference: ReferenceText
    amount: Annotated[Decimal, Field(gt=0, le=MAX_INVOICE_AMOUNT, max_digits=12, decimal_places=2)]
    """Euros taken back (> 0)."""
    payment_date: date
