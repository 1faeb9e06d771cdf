"""Reading a parsed Finvoice for the rule checks: one pass that indexes the parts the
rules read and checks what concerns single elements; numbers, dates, paths, problems.

One pass over the elements, because per-element Python work is what costs (lxml's
``find`` runs its Python ElementPath, ~2 µs a call; a rule set written with ``find``
spent more time than parsing and XSD validation together). The pass records, per
top-level part, the first element of each tag in that part's subtree (the tags the
rules look up are unique there), and checks on the way (guidelines §9.2, CONVENTIONS §1):

- ``whitespace``: an element's text has spaces next to the tags;
- ``date-invalid``: a date (every date element of the XSD is named ``…Date``) is 8
  digits but no calendar date (``20230230``; the XSD checks only the digits);
- ``quantity-format``: a quantity (``…Quantity``) is not digits with a decimal comma.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from lxml import etree

from . import numbers
from .model import FinvoiceProblem

Element = etree._Element
_SPACE = " \t\r\n"
_DATE_DIGITS = re.compile(r"[0-9]{8}", re.ASCII)
SUMMED = frozenset(
    {
        "RowsTotalVatExcludedAmount",
        "DiscountsTotalVatExcludedAmount",
        "ChargesTotalVatExcludedAmount",
        "InvoiceTotalVatExcludedAmount",
        "InvoiceTotalVatAmount",
        "InvoiceTotalVatIncludedAmount",
        "InvoiceTotalRoundoffAmount",
        "InvoicePaidAmount",
        "VatBaseAmount",
        "VatRateAmount",
        "RowVatAmount",
        "RowVatExcludedAmount",
        "RowAmount",
        "EpiInstructedAmount",
    }
)
"""The amounts the sums use: they must share one currency."""


@dataclass
class Row:
    element: Element
    fields: dict[str, Element]
    quantities: int
    """How many ``InvoicedQuantity`` (repeatable, one per unit)."""


@dataclass
class Findings:
    """The document under check, its index, and what was found so far."""

    root: Element
    problems: list[FinvoiceProblem] = field(default_factory=list)
    top: dict[str, Element] = field(default_factory=dict)
    details: dict[str, Element] = field(default_factory=dict)
    vat_specs: list[tuple[Element, dict[str, Element]]] = field(default_factory=list)
    due_dates: list[Element] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    """Rows with amounts or texts; rows holding a ``SubInvoiceRow`` (display only) are left out."""
    epi: dict[str, Element] = field(default_factory=dict)
    currencies: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for part in self.root.iterchildren(etree.Element):
            tag: str = part.tag
            self.top.setdefault(tag, part)
            if tag == "InvoiceRow":
                fields: dict[str, Element] = {}
                quantities = self._visit(part, fields)
                if "SubInvoiceRow" not in fields:
                    self.rows.append(Row(part, fields, quantities))
            elif tag == "InvoiceDetails":
                self._visit(part, self.details)
                for spec in part.iterchildren("VatSpecificationDetails"):
                    self.vat_specs.append((spec, {c.tag: c for c in spec.iterchildren(etree.Element)}))
                for terms in part.iterchildren("PaymentTermsDetails"):
                    self.due_dates += terms.iterchildren("InvoiceDueDate")
            elif tag == "EpiDetails":
                self._visit(part, self.epi)
            else:
                self._visit(part, {})

    def _visit(self, part: Element, fields: dict[str, Element]) -> int:
        """Index ``part``'s subtree into ``fields`` (first element of each tag), check its
        elements; the number of ``InvoicedQuantity`` met. Locals only in the loop: it
        runs for every element of every file."""
        quantities = 0
        currencies, summed, space, add = self.currencies, SUMMED, _SPACE, self.add
        for element in part.iter(etree.Element):
            tag: str = element.tag
            if tag not in fields:
                fields[tag] = element
            if tag in summed:
                currencies.add(element.get("AmountCurrencyIdentifier", ""))
            value = element.text
            if not value:
                continue
            if value[0] in space or value[-1] in space:
                if len(element):
                    continue  # a parent's indentation
                add("whitespace", element, "spaces next to the tags (guidelines §9.2)")
            if tag.endswith("Date"):
                if _DATE_DIGITS.fullmatch(value.strip()) and numbers.parse_date(value) is None:
                    add("date-invalid", element, "not a calendar date")
            elif tag.endswith("Quantity"):
                quantities += tag == "InvoicedQuantity"
                if value.strip() and not numbers.is_number(value.strip()):
                    add("quantity-format", element, "a quantity is digits with an optional decimal comma")
        return quantities

    def path(self, element: Element) -> str:
        return str(self.root.getroottree().getpath(element))

    def add(self, code: str, where: Element | str, message: str) -> None:
        path = where if isinstance(where, str) else self.path(where)
        self.problems.append(FinvoiceProblem(code, path, message))


def at(parent: Element, fields: dict[str, Element], tag: str) -> Element:
    """The field ``tag`` if there is one, else ``parent``: where a problem points."""
    return fields.get(tag, parent)


def text(element: Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip()


def number(element: Element | None) -> Decimal | None:
    return numbers.parse_number(text(element))


def day(element: Element | None) -> date | None:
    return numbers.parse_date(text(element))


def fi(value: Decimal) -> str:
    """An amount as Finvoice writes it, for messages: ``-56,75``."""
    return numbers.amount(value)
