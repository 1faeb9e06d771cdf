"""Database errors without personal data.

``hide_parameters=True`` keeps statement parameters out of SQLAlchemy's messages, but
the error text itself can still quote row values: PostgreSQL's DETAIL (``Key
(email)=(x@y.fi) already exists``, ``Failing row contains (...)``), the primary
message of data exceptions (``invalid input syntax for type uuid: "..."``), and
asyncpg's own ``invalid input for query argument $1: 'value'``. :func:`redact`
rewrites, in place, every exception of the chain so its text names only the error,
its SQLSTATE and schema objects (table, column, constraint, type). The exception
classes, ``sqlstate`` and the structured fields stay, so callers still classify errors.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext

# SQLSTATE classes whose primary messages name schema objects and never data:
# connection, integrity constraints, transaction state, serialization, syntax/access,
# resources, object state (lock timeout), operator intervention (statement timeout),
# system errors.
_IDENTIFIERS_ONLY = frozenset({"08", "0A", "23", "25", "28", "3D", "3F", "40", "42", "53", "54", "55", "57", "58"})
_QUERY_ARGUMENT = re.compile(
    r"^(invalid input for query argument \$\d+(?: in element #\d+ of executemany\(\) sequence)?)"
)
_FIELDS = ("schema_name", "table_name", "column_name", "data_type_name", "constraint_name")


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, however SQLAlchemy and asyncpg wrapped it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "sqlstate", None)
        if isinstance(code, str) and len(code) == 5:
            return code
        current = getattr(current, "orig", None) or current.__cause__
    return None


def redact_engine_error(context: ExceptionContext) -> None:
    """``handle_error`` listener (see :func:`shared.db.engine.make_engine`)."""
    redact(context.sqlalchemy_exception or context.original_exception)


def redact(exc: BaseException | None) -> None:
    """Rewrite the texts of ``exc`` and everything it wraps (innermost first)."""
    chain: list[BaseException] = []
    current = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    for item in reversed(chain):
        _redact_one(item)


def _redact_one(exc: BaseException) -> None:
    if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError):
        text = str(exc.args[0]) if exc.args else ""
        match = _QUERY_ARGUMENT.match(text)
        if match:  # asyncpg could not encode a parameter: its repr follows the colon
            cause = exc.__cause__
            _set(exc, match.group(1) + (f" ({type(cause).__name__})" if cause is not None else ""))
            exc.__cause__ = None  # the codec's error quotes the value too
            exc.__suppress_context__ = True
        elif isinstance(exc, asyncpg.PostgresError):
            _set(exc, _postgres_text(exc))
        exc.detail = None
    elif isinstance(exc, sa_exc.StatementError):
        orig = exc.orig
        if orig is not None:
            exc.args = (f"({type(orig).__module__}.{type(orig).__name__}) {orig}",)
    elif _is_adapted(exc):  # SQLAlchemy's DBAPI adapter: "<class '...'>: <asyncpg text>"
        cause = exc.__cause__
        if cause is not None:
            exc.args = (f"{type(cause)}: {cause}",)


def _postgres_text(exc: asyncpg.PostgresError) -> str:
    code = str(getattr(exc, "sqlstate", "") or "")
    message = str(exc.args[0]) if exc.args else ""
    if code[:2] in _IDENTIFIERS_ONLY:
        return message
    names = ", ".join(f"{f.removesuffix('_name')} {getattr(exc, f)}" for f in _FIELDS if getattr(exc, f, None))
    return f"{type(exc).__name__} (SQLSTATE {code})" + (f": {names}" if names else "")


def _set(exc: Any, text: str) -> None:
    exc.args = (text,)
    if isinstance(exc, asyncpg.PostgresError):
        exc.message = text


def _is_adapted(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("sqlalchemy.dialects.postgresql.asyncpg")
