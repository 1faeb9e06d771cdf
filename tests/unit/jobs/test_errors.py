"""Which failures a job retries, and what a failed job records (no personal data)."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc

from shared.jobs.errors import describe_error, is_transient
from shared.jobs.model import JobFailed


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__("duplicate key value (customer_number)=(Matti Meikäläinen)")
        self.sqlstate = sqlstate


def db_error(sqlstate: str) -> sa_exc.DBAPIError:
    return sa_exc.IntegrityError("INSERT ...", {"name": "Matti Meikäläinen"}, _PgError(sqlstate))


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (db_error("40001"), True),  # serialization failure
        (db_error("08006"), True),  # connection failure
        (db_error("23505"), False),  # unique violation: the data
        (db_error("55P03"), True),  # lock_timeout: another writer held the lock a while
        (db_error("57014"), False),  # statement_timeout: the same chunk would take as long again
        (KeyError("x"), False),
        (JobFailed("stop"), False),
    ],
)
def test_only_outages_and_conflicts_are_retried(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_failed_job_records_type_and_sqlstate_but_never_the_message() -> None:
    described = describe_error(db_error("23505"))
    assert described == "IntegrityError (SQLSTATE 23505)"
    assert "Matti" not in describe_error(ValueError("Matti Meikäläinen"))
    assert describe_error(JobFailed("vat_rate_unknown", "no rate for 2031")) == "vat_rate_unknown: no rate for 2031"
