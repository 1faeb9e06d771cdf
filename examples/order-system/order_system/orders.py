"""Orders as the order system keeps them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class OrderLine:
    product: str
    title: str
    quantity: Decimal
    unit_price: Decimal
    """Net, euros."""
    vat_percent: Decimal
    unit: str = "kpl"
    period: tuple[date, date] | None = None

    @property
    def net(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Order:
    order_id: str
    customer_number: str
    lines: tuple[OrderLine, ...]
    kind: str = "subscription"
    ordered_on: date = field(default_factory=date.today)
    payment_terms_days: int = 14

    def gross(self) -> Decimal:
        """What the customer pays: per VAT rate, VAT on the summed nets, rounded half up."""
        by_rate: dict[Decimal, Decimal] = {}
        for line in self.lines:
            by_rate[line.vat_percent] = by_rate.get(line.vat_percent, Decimal(0)) + line.net
        return sum(
            (
                net + (net * rate / 100).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
                for rate, net in by_rate.items()
            ),
            Decimal(0),
        )
