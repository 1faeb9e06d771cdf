"""SQL helpers shared by the repositories."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ARRAY, BigInteger, Text, any_, bindparam
from sqlalchemy.sql import ColumnElement


def in_texts(column: ColumnElement[str], values: Iterable[str]) -> ColumnElement[bool]:
    """``column = ANY($1)`` with one array parameter: any number of values (an IN list
    takes one parameter per value, and PostgreSQL's protocol allows 32,767)."""
    return column == any_(bindparam(None, list(values), type_=ARRAY(Text)))


def in_ints(column: ColumnElement[int], values: Iterable[int]) -> ColumnElement[bool]:
    return column == any_(bindparam(None, list(values), type_=ARRAY(BigInteger)))
