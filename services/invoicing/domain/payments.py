"""Payments against invoices (pure): which invoice a bank reference points to, and
what an invoice's payment status is.

An invoice's open amount is ``gross + credited - paid``: ``credited`` is the sum of
its confirmed credit notes' totals (negative), ``paid`` the sum of the payments
recorded on it. Status:

- ``open``: nothing paid, something open;
- ``partially-paid``: something paid, something still open;
- ``paid``: open amount exactly zero after payments;
- ``overpaid``: open amount below zero (more was paid than was due: the clerk refunds);
- ``credited``: nothing paid and credit notes took the open amount to zero or below;
- an invoice of zero (or less) with nothing paid or credited is ``paid``: nothing is due.

An invoice is *settled* when its open amount reaches zero or less.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.money import ZERO
from shared.references import is_valid_national, is_valid_rf


def normalise_reference(text: str) -> str | None:
    """The national reference a bank's reference text stands for, or None.

    Spaces are dropped and letters upper-cased; an RF reference whose body is a
    national reference stands for that (``RF18 5390 0754 7034``'s body is not a
    national reference, so it matches nothing here); leading zeros of a national
    reference are dropped (banks may pad it to 20 digits).
    """
    compact = text.replace(" ", "").upper()
    if compact.startswith("RF"):
        if not is_valid_rf(compact):
            return None
        compact = compact[4:]
    stripped = compact.lstrip("0")
    if not stripped or not is_valid_national(stripped):
        return None
    return stripped


@dataclass(frozen=True)
class Balance:
    gross: Decimal
    credited: Decimal
    paid: Decimal

    @property
    def open_amount(self) -> Decimal:
        return self.gross + self.credited - self.paid

    @property
    def status(self) -> str:
        open_amount = self.open_amount
        if self.paid == ZERO:
            if open_amount > ZERO:
                return "open"
            return "credited" if self.credited != ZERO else "paid"  # nothing was ever due: paid
        if open_amount > ZERO:
            return "partially-paid"
        if open_amount == ZERO:
            return "paid"
        return "overpaid"

    @property
    def settled(self) -> bool:
        return self.open_amount <= ZERO


def became_settled(before: Balance, after: Balance) -> bool:
    return not before.settled and after.settled
