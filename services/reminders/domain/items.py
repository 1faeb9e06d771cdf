"""An open item (*avoin erä*) as the rules see it: one issued invoice, what is still
open on it, the reminders it has had, and the flags that stop reminders.

The projection (``tables.py``) keeps these from the invoicing service's events; the
rules here never see an event or a row, only this value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from services.reminders.domain.interest import Payment

SETTLED = frozenset({"paid", "overpaid", "credited"})


@dataclass(frozen=True)
class ReminderStep:
    """A reminder already made on the invoice."""

    level: int
    on: date
    due_date: date
    fee: Decimal
    compensation: Decimal


@dataclass(frozen=True)
class OpenItem:
    invoice_id: str
    invoice_number: str
    customer_number: str
    consumer: bool
    """Consumer debt (True) or business debt: fixed when the debt arose (the invoice's
    customer snapshot), so a later change of the card does not change the law that
    applies to it."""
    invoice_date: date
    due_date: date
    gross: Decimal
    """The invoice's total (what the customer was to pay)."""
    credited: Decimal = Decimal("0.00")
    """Credit notes against it, negative (a credit note of -10.00 lowers the open amount by 10.00)."""
    paid_total: Decimal = Decimal("0.00")
    open_amount: Decimal | None = None
    """What invoicing says is open (gross + credited - paid); None: compute it."""
    status: str = "open"
    settled_on: date | None = None
    disputed: bool = False
    no_reminders: bool = False
    handed_over: bool = False
    payments: tuple[Payment, ...] = ()
    reminders: tuple[ReminderStep, ...] = field(default=())

    @property
    def principal(self) -> Decimal:
        """What was owed once credit notes are taken off (interest runs on this less payments)."""
        return self.gross + self.credited

    @property
    def open(self) -> Decimal:
        if self.open_amount is not None:
            return self.open_amount
        return self.principal - self.paid_total

    @property
    def settled(self) -> bool:
        return self.status in SETTLED or self.open <= 0

    @property
    def last_reminder(self) -> ReminderStep | None:
        return max(self.reminders, key=lambda r: r.level) if self.reminders else None

    def reminder(self, level: int) -> ReminderStep | None:
        return next((r for r in self.reminders if r.level == level), None)
