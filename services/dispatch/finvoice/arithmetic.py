"""The sums the XSD does not check (guidelines §14, CONVENTIONS §3).

Rows (``InvoiceRow`` with amounts; ``SubInvoiceRow`` subtotals are display only, §11):

- ``RowVatExcludedAmount`` + ``RowVatAmount`` = ``RowAmount``;
- ``RowVatAmount`` within a cent of ``RowVatExcludedAmount`` × rate;
- ``RowVatExcludedAmount`` within a cent of quantity × unit price, for a plain row (no
  discount, charge, price unit or base quantity that changes the product).

Breakdown and totals:

- ``RowsTotalVatExcludedAmount`` = Σ ``RowVatExcludedAmount``;
- ``InvoiceTotalVatExcludedAmount`` = rows − discounts + charges, and = Σ ``VatBaseAmount``;
- one ``VatSpecificationDetails`` per rate (and VAT code) the rows use, with
  ``VatBaseAmount`` = Σ row excluded amounts and ``VatRateAmount`` = Σ ``RowVatAmount`` of
  that rate, and ``VatRateAmount`` within rounding of base × rate (half a cent per row);
- ``InvoiceTotalVatAmount`` = Σ ``VatRateAmount``;
- ``InvoiceTotalVatIncludedAmount`` = excluded + VAT;
- ``EpiInstructedAmount`` = included − ``InvoicePaidAmount`` + ``InvoiceTotalRoundoffAmount``.

Rows that carry only ``RowAmount`` (the energy sector's consumer practice) make the
row-to-breakdown sums uncheckable; those sums are then skipped, the rest still hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from shared.money import CENT, ZERO, cents

from .tree import Element, Findings, Row, at, fi, number, text

HALF_CENT = Decimal("0.005")
_CHANGES_PRODUCT = (
    "RowDiscountPercent",
    "RowDiscountAmount",
    "RowChargeDetails",
    "RowProgressiveDiscountDetails",
    "UnitPriceBaseQuantity",
    "UnitPriceDiscountAmount",
)


@dataclass
class RateGroup:
    rate: Decimal
    code: str
    first: Element
    net: Decimal = ZERO
    vat: Decimal = ZERO
    vat_complete: bool = True
    rows: int = 0


@dataclass
class RowSums:
    net: Decimal = ZERO
    summable: bool = True
    groups: dict[tuple[Decimal, str], RateGroup] = field(default_factory=dict)


def _rate_label(rate: Decimal) -> str:
    return f"{rate.normalize():f}".replace(".", ",") + " %"


def _check_price(found: Findings, row: Row, net: Decimal) -> None:
    fields = row.fields
    price_el = fields.get("UnitPriceNetAmount", fields.get("UnitPriceAmount"))
    if row.quantities != 1 or price_el is None:
        return
    if any(tag in fields for tag in _CHANGES_PRODUCT):
        return
    if any(fields[tag].get("UnitPriceUnitCode") for tag in ("UnitPriceAmount", "UnitPriceNetAmount") if tag in fields):
        return  # a price per another unit (c/kWh): quantity × price is not the row's amount
    quantity, price = number(fields["InvoicedQuantity"]), number(price_el)
    if quantity is None or price is None:
        return
    expected = cents(quantity * price)
    if abs(expected - net) > CENT:
        found.add(
            "row-price",
            at(row.element, fields, "RowVatExcludedAmount"),
            f"RowVatExcludedAmount {fi(net)} is not quantity × unit price = {fi(expected)}",
        )


def rows(found: Findings) -> RowSums:
    sums = RowSums()
    for row in found.rows:
        fields, element = row.fields, row.element
        net, vat = number(fields.get("RowVatExcludedAmount")), number(fields.get("RowVatAmount"))
        total, rate = number(fields.get("RowAmount")), number(fields.get("RowVatRatePercent"))
        if net is None:
            if total is not None or vat is not None:
                sums.summable = False
            continue
        sums.net += net
        if vat is not None and total is not None and net + vat != total:
            found.add(
                "row-amount",
                at(element, fields, "RowAmount"),
                f"RowAmount {fi(total)} ≠ RowVatExcludedAmount {fi(net)} + RowVatAmount {fi(vat)}",
            )
        _check_price(found, row, net)
        if rate is None:
            found.add("row-vat-rate", element, "a row with amounts has no RowVatRatePercent")
            sums.summable = False
            continue
        if vat is not None and abs(vat - net * rate / 100) > CENT:
            found.add(
                "row-vat",
                at(element, fields, "RowVatAmount"),
                f"RowVatAmount {fi(vat)} is not {_rate_label(rate)} of {fi(net)} (±0,01)",
            )
        code = text(fields.get("RowVatCode")) or ""
        group = sums.groups.setdefault((rate, code), RateGroup(rate, code, element))
        group.net += net
        group.rows += 1
        if vat is None:
            group.vat_complete = False
        else:
            group.vat += vat
    return sums


Block = tuple[Element, dict[str, Element], Decimal | None, str]


def _match(blocks: list[Block], rate: Decimal, code: str) -> Block | None:
    """The block for a rate (and VAT code, when several blocks share the rate)."""
    same_rate = [b for b in blocks if b[2] == rate]
    if len(same_rate) == 1:
        return same_rate[0]
    for block in same_rate:
        if block[3] == code:
            return block
    return None


def breakdown(found: Findings, sums: RowSums) -> None:
    blocks: list[Block] = [
        (spec, fields, number(fields.get("VatRatePercent")), text(fields.get("VatCode")) or "")
        for spec, fields in found.vat_specs
    ]
    seen: set[tuple[Decimal | None, str]] = set()
    for element, _, rate, code in blocks:
        if (rate, code) in seen:
            found.add("vat-duplicate", element, f"a second VatSpecificationDetails for {_rate_label(rate or ZERO)}")
        seen.add((rate, code))
    matched: dict[int, RateGroup] = {}
    for group in sums.groups.values():
        block = _match(blocks, group.rate, group.code)
        label = _rate_label(group.rate)
        if block is None:
            found.add("vat-missing", group.first, f"rows at {label} have no VatSpecificationDetails")
            continue
        element, fields, _, _ = block
        matched[id(element)] = group
        if not sums.summable:
            continue
        base, amount = number(fields.get("VatBaseAmount")), number(fields.get("VatRateAmount"))
        if base is not None and base != group.net:
            found.add(
                "vat-base",
                at(element, fields, "VatBaseAmount"),
                f"VatBaseAmount {fi(base)} ≠ Σ RowVatExcludedAmount at {label} = {fi(group.net)}",
            )
        if amount is not None and group.vat_complete and amount != group.vat:
            found.add(
                "vat-amount",
                at(element, fields, "VatRateAmount"),
                f"VatRateAmount {fi(amount)} ≠ Σ RowVatAmount at {label} = {fi(group.vat)}",
            )
    for element, fields, rate, _ in blocks:
        base, amount = number(fields.get("VatBaseAmount")), number(fields.get("VatRateAmount"))
        group_rows = matched[id(element)].rows if id(element) in matched else 0
        if sums.summable and sums.groups and group_rows == 0 and base:
            found.add("vat-orphan", element, f"VatSpecificationDetails at {_rate_label(rate or ZERO)} has no rows")
        if rate is not None and base is not None and amount is not None:
            exact = base * rate / 100
            if abs(amount - exact) > HALF_CENT * max(1, group_rows):
                found.add(
                    "vat-rate-amount",
                    at(element, fields, "VatRateAmount"),
                    f"VatRateAmount {fi(amount)} is not {_rate_label(rate)} of {fi(base)} = {exact.normalize():f}",
                )


def totals(found: Findings, sums: RowSums) -> None:
    if not found.details:
        return

    def amount(tag: str) -> Decimal | None:
        return number(found.details.get(tag))

    def path(tag: str) -> str:
        return f"/Finvoice/InvoiceDetails/{tag}"

    rows_total, excl, vat, incl = (
        amount("RowsTotalVatExcludedAmount"),
        amount("InvoiceTotalVatExcludedAmount"),
        amount("InvoiceTotalVatAmount"),
        amount("InvoiceTotalVatIncludedAmount"),
    )
    discounts = amount("DiscountsTotalVatExcludedAmount") or ZERO
    charges = amount("ChargesTotalVatExcludedAmount") or ZERO
    if rows_total is not None and sums.summable and rows_total != sums.net:
        found.add(
            "rows-total",
            path("RowsTotalVatExcludedAmount"),
            f"RowsTotalVatExcludedAmount {fi(rows_total)} ≠ Σ RowVatExcludedAmount = {fi(sums.net)}",
        )
    if rows_total is not None and excl is not None and excl != rows_total - discounts + charges:
        found.add(
            "invoice-total-excl",
            path("InvoiceTotalVatExcludedAmount"),
            f"InvoiceTotalVatExcludedAmount {fi(excl)} ≠ rows {fi(rows_total)} − discounts {fi(discounts)}"
            f" + charges {fi(charges)}",
        )
    bases = [number(fields.get("VatBaseAmount")) for _, fields in found.vat_specs]
    rate_amounts = [number(fields.get("VatRateAmount")) for _, fields in found.vat_specs]
    if excl is not None and bases and all(b is not None for b in bases):
        base_sum = sum((b for b in bases if b is not None), ZERO)
        if excl != base_sum:
            found.add(
                "invoice-total-excl",
                path("InvoiceTotalVatExcludedAmount"),
                f"InvoiceTotalVatExcludedAmount {fi(excl)} ≠ Σ VatBaseAmount = {fi(base_sum)}",
            )
    if vat is not None and rate_amounts and all(a is not None for a in rate_amounts):
        vat_sum = sum((a for a in rate_amounts if a is not None), ZERO)
        if vat != vat_sum:
            found.add(
                "vat-total",
                path("InvoiceTotalVatAmount"),
                f"InvoiceTotalVatAmount {fi(vat)} ≠ Σ VatRateAmount = {fi(vat_sum)}",
            )
    if incl is not None and excl is not None and vat is not None and incl != excl + vat:
        found.add(
            "invoice-total-incl",
            path("InvoiceTotalVatIncludedAmount"),
            f"InvoiceTotalVatIncludedAmount {fi(incl)} ≠ excluded {fi(excl)} + VAT {fi(vat)}",
        )
    instructed = number(found.epi.get("EpiInstructedAmount"))
    if incl is not None and instructed is not None:
        paid = amount("InvoicePaidAmount") or ZERO
        roundoff = amount("InvoiceTotalRoundoffAmount") or ZERO
        if instructed != incl - paid + roundoff:
            found.add(
                "epi-amount",
                "/Finvoice/EpiDetails/EpiPaymentInstructionDetails/EpiInstructedAmount",
                f"EpiInstructedAmount {fi(instructed)} ≠ InvoiceTotalVatIncludedAmount {fi(incl)}"
                f" − InvoicePaidAmount {fi(paid)} + InvoiceTotalRoundoffAmount {fi(roundoff)}",
            )


def check_arithmetic(found: Findings) -> None:
    sums = rows(found)
    breakdown(found, sums)
    totals(found, sums)
