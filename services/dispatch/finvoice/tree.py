"""Reading a parsed Finvoice for the rule checks: numbers, dates, paths, problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from lxml import etree

from . import numbers
from .model import FinvoiceProblem


@dataclass
class Findings:
    """The document under check and what was found so far."""

    root: etree._Element
    problems: list[FinvoiceProblem] = field(default_factory=list)

    def path(self, element: etree._Element) -> str:
        return str(self.root.getroottree().getpath(element))

    def add(self, code: str, where: etree._Element | str, message: str) -> None:
        path = where if isinstance(where, str) else self.path(where)
        self.problems.append(FinvoiceProblem(code, path, message))


def at(parent: etree._Element, tag: str) -> etree._Element:
    """The child ``tag`` if there is one, else ``parent``: where a problem points.
    (An lxml element without children is falsy, so ``find(...) or parent`` would not do.)"""
    child = parent.find(tag)
    return parent if child is None else child


def text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip()


def number(element: etree._Element | None) -> Decimal | None:
    return numbers.parse_number(text(element))


def day(element: etree._Element | None) -> date | None:
    return numbers.parse_date(text(element))


def fi(value: Decimal) -> str:
    """An amount as Finvoice writes it, for messages: ``-56,75``."""
    return numbers.amount(value)
