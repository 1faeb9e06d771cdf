"""``billing migrate console`` and ``billing console sessions revoke`` without a console
database: one clear line and exit 1 (with a database: tests/integration/
test_console_sessions.py)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from billing_cli.main import app


@pytest.fixture(autouse=True)
def _no_console_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONSOLE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CONSOLE_MODE", raising=False)


def test_migrate_console_without_a_database_says_so_and_exits_1() -> None:
    result = CliRunner().invoke(app, ["migrate", "console"])
    assert result.exit_code == 1
    assert result.stderr == "billing migrate: console: CONSOLE_DATABASE_URL is not set: nothing to migrate\n"
    assert result.stdout == ""


def test_revoke_without_a_database_explains_that_a_restart_ends_the_sessions() -> None:
    result = CliRunner().invoke(app, ["console", "sessions", "revoke", "--user", "anna"])
    assert result.exit_code == 1
    assert "CONSOLE_DATABASE_URL is not set" in result.stderr
    assert "restarting it ends them all" in result.stderr
