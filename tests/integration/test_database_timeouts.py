"""Timeouts from settings reach PostgreSQL, and database errors carry no row values."""

from __future__ import annotations

import asyncio
import traceback

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from shared.db.engine import DatabaseTimeouts, make_engine
from shared.db.errors import sqlstate
from shared.messaging.poison import is_poison
from tests.support.isolation import Sandbox

pytestmark = pytest.mark.integration

PERSONAL = "matti.meikalainen@example.fi"


async def test_a_statement_longer_than_statement_timeout_is_cancelled(sandbox: Sandbox) -> None:
    engine = make_engine(sandbox.db_url, timeouts=DatabaseTimeouts(statement_ms=200))
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("SHOW statement_timeout")) == "200ms"
            with pytest.raises(sa_exc.DBAPIError) as err:
                await conn.execute(text("SELECT pg_sleep(5)"))
        assert sqlstate(err.value) == "57014"
        assert not is_poison(err.value)  # transient: the batch is retried
    finally:
        await engine.dispose()


async def test_a_lock_wait_beyond_lock_timeout_fails(sandbox: Sandbox) -> None:
    holder = make_engine(sandbox.db_url)
    waiter = make_engine(sandbox.db_url, timeouts=DatabaseTimeouts(lock_ms=200))
    try:
        async with holder.begin() as conn:
            await conn.execute(text("CREATE TABLE lockme (id int PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO lockme VALUES (1)"))
        async with holder.begin() as held:
            await held.execute(text("SELECT id FROM lockme WHERE id = 1 FOR UPDATE"))
            async with waiter.connect() as conn:
                with pytest.raises(sa_exc.DBAPIError) as err:
                    await asyncio.wait_for(conn.execute(text("UPDATE lockme SET id = 2 WHERE id = 1")), 10)
        assert sqlstate(err.value) == "55P03"
        assert not is_poison(err.value)
    finally:
        await holder.dispose()
        await waiter.dispose()


async def test_the_connection_carries_every_timeout_and_the_service_name(sandbox: Sandbox) -> None:
    timeouts = DatabaseTimeouts(statement_ms=1234, lock_ms=567, idle_in_transaction_ms=89_000)
    engine = make_engine(sandbox.db_url, timeouts=timeouts, application_name="customers")
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), "
                        "current_setting('idle_in_transaction_session_timeout'), current_setting('application_name')"
                    )
                )
            ).one()
        assert tuple(row) == ("1234ms", "567ms", "89s", "customers")
    finally:
        await engine.dispose()


def _everything_printed(exc: BaseException) -> str:
    """What a log line with the traceback (``log.exception``) would show."""
    return "".join(traceback.format_exception(exc)) + repr(exc)


@pytest.mark.parametrize(
    ("statement", "params", "state"),
    [
        # unique violation: PostgreSQL's DETAIL quotes the key, "Key (email)=(...)"
        ("INSERT INTO people (email, age) VALUES (:v, 1)", {"v": PERSONAL}, "23505"),
        # check violation: the DETAIL quotes the whole row, "Failing row contains (...)"
        ("INSERT INTO people (email, age) VALUES (:v, -1)", {"v": PERSONAL + ".x"}, "23514"),
        # the server cannot parse the value: the message quotes it
        ("SELECT CAST(CAST(:v AS text) AS integer)", {"v": PERSONAL}, "22P02"),
        # asyncpg cannot encode the parameter: its message quotes the value's repr
        ("SELECT CAST(:v AS uuid)", {"v": PERSONAL}, "22000"),
    ],
)
async def test_database_errors_do_not_carry_parameter_values(
    sandbox: Sandbox, statement: str, params: dict[str, str], state: str
) -> None:
    engine = make_engine(sandbox.db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE people (email text UNIQUE, age int CHECK (age > 0))"))
            await conn.execute(text("INSERT INTO people VALUES (:v, 1)"), {"v": PERSONAL})
        async with engine.connect() as conn:
            with pytest.raises(sa_exc.DBAPIError) as err:
                await conn.execute(text(statement), params)
    finally:
        await engine.dispose()
    printed = _everything_printed(err.value)
    assert "matti" not in printed.lower()
    assert sqlstate(err.value) == state  # still classified: these are poison records
    assert is_poison(err.value)
    assert "SQL parameters hidden" in str(err.value)
