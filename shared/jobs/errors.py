"""Which failures of a job's work are worth another try, and what a failed job records."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from shared.jobs.model import JobFailed

_TRANSIENT_SQLSTATE = ("08", "40", "53", "57")  # connection, rollback/deadlock, resources, shutdown
_TRANSIENT_CODES = frozenset({"55P03"})  # lock_timeout: another writer held the lock; it will let go
_PERMANENT_CODES = frozenset({"57014"})  # statement_timeout: the same chunk would take as long again


def is_transient(exc: BaseException) -> bool:
    """Would the same chunk succeed if tried again later?"""
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
            return True
        code = _sqlstate(exc)
        if code in _TRANSIENT_CODES:
            return True
        if code in _PERMANENT_CODES:
            return False
        return code is None or code[:2] in _TRANSIENT_SQLSTATE
    return isinstance(exc, OSError | ConnectionError | TimeoutError | sa_exc.TimeoutError)


def _sqlstate(exc: sa_exc.DBAPIError) -> str | None:
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None)
        if code:
            return str(code)
    return None


def describe_error(exc: BaseException) -> str:
    """What a failed job records: the type (and SQLSTATE), or a :class:`JobFailed`'s
    code and message; never the exception's text, which may hold personal data."""
    if isinstance(exc, JobFailed):
        return exc.describe()
    if isinstance(exc, sa_exc.DBAPIError) and (code := _sqlstate(exc)):
        return f"{type(exc).__name__} (SQLSTATE {code})"
    return type(exc).__name__
