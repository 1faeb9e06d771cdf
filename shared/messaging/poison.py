"""Whose fault is a failure? The consumer loop's one question (see
:mod:`shared.messaging.consumer`): the record's own (poison: dead-letter it) or
anything else (retry; stop the partition while it persists).
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from shared.db.errors import sqlstate
from shared.events.envelope import InvalidEvent
from shared.rejections import EventRejected


def rejection(exc: Exception) -> InvalidEvent:
    """The dead-letter code and reason of a poison failure (no values, no parameters)."""
    if isinstance(exc, EventRejected):
        return InvalidEvent(exc.code, exc.reason)
    code = sqlstate(exc)
    return InvalidEvent("data-error", f"the database refused the record's data (SQLSTATE {code}, {type(exc).__name__})")


# PostgreSQL SQLSTATE classes caused by the data: 22 data exception (a NUL character,
# a number out of range), 23 integrity constraint violation. Class 42 (an undefined
# column or table: a missing migration), 08 (connection), 40 (serialization,
# deadlock), 53, 57 (shutdown) and the rest are not the record's fault.
_POISON_SQLSTATE_CLASSES = frozenset({"22", "23"})


def is_poison(exc: BaseException) -> bool:
    """Is the failure the record's own fault (retrying it cannot help)? Only an
    explicit :class:`EventRejected` and data PostgreSQL refuses; everything else,
    bugs included, is retried and stops the partition rather than losing the record."""
    if isinstance(exc, EventRejected):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        code = sqlstate(exc)
        return code is not None and code[:2] in _POISON_SQLSTATE_CLASSES
    return False


def safe_text(exc: BaseException) -> str:
    """Error text for logs without statement parameters (they may hold personal data)."""
    if isinstance(exc, sa_exc.StatementError):
        code = sqlstate(exc)
        return f"SQLSTATE {code}" if code else type(exc.orig).__name__ if exc.orig else "database error"
    if isinstance(exc, EventRejected):
        return exc.code
    return type(exc).__name__


# Connection exceptions (08), insufficient resources (53), operator intervention such as
# a server shutting down (57, except 57014, a statement timeout).
_OUTAGE_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})


def is_outage(exc: BaseException) -> bool:
    """Is the database or the network away (every record would fail alike)?"""
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
            return True
        code = sqlstate(exc)
        return code is not None and code[:2] in _OUTAGE_SQLSTATE_CLASSES and code != "57014"
    return isinstance(exc, OSError | TimeoutError | sa_exc.TimeoutError)
