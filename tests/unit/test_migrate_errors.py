"""``billing migrate`` when the migration fails for a reason other than a lock: one line
on stderr (no traceback, no password), exit 1. (Against a real PostgreSQL:
``tests/integration/test_migrate_command.py``.)"""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from billing_cli.main import app

PASSWORD = "s3cret-pw"


@pytest.fixture
def unreachable(monkeypatch: pytest.MonkeyPatch) -> int:
    """The customers database URL points at a port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("CUSTOMERS_DATABASE_URL", f"postgresql+asyncpg://billing:{PASSWORD}@127.0.0.1:{port}/customers")
    monkeypatch.setenv("CUSTOMERS_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    return port


def test_an_unreachable_database_prints_one_line_and_exits_1(unreachable: int) -> None:
    result = CliRunner().invoke(app, ["migrate", "customers"])

    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith(
        f"billing migrate: customers: cannot migrate the database at "
        f"postgresql+asyncpg://billing:***@127.0.0.1:{unreachable}/customers: "
    )
    assert "Connect call failed" in line.split("/customers: ", 1)[1]  # asyncio's own words for a refused connect
    assert PASSWORD not in result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""  # nothing claimed as migrated
