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
        """The one pass: each top-level part's subtree is indexed into that part's map
        (the first element of each tag) and its elements checked. One flat loop with
        locals only: it runs for every element of every file sent."""
        currencies, summed, space, add, is_number = self.currencies, SUMMED, _SPACE, self.add, numbers.is_number
        for part in self.root.iterchildren(etree.Element):
            part_tag: str = part.tag
            self.top.setdefault(part_tag, part)
            if part_tag == "InvoiceDetails":
                fields = self.details
            elif part_tag == "EpiDetails":
                fields = self.epi
            else:
                fields = {}
            quantities = 0
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
                    if value.strip() and not is_number(value.strip()):
                        add("quantity-format", element, "a quantity is digits with an optional decimal comma")
            if part_tag == "InvoiceRow" and "SubInvoiceRow" not in fields:
                self.rows.append(Row(part, fields, quantities))
            elif part_tag == "InvoiceDetails":
                for child in part.iterchildren("VatSpecificationDetails", "PaymentTermsDetails"):
                    if child.tag == "PaymentTermsDetails":
                        self.due_dates += child.iterchildren("InvoiceDueDate")
                    else:
                        self.vat_specs.append((child, {c.tag: c for c in child.iterchildren(etree.Element)}))

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
