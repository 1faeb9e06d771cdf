"""``billing invoicing reconcile`` without its servers: a clear error and exit 2 (the
database or Kafka unreachable), or the missing setting named; never a traceback."""

from __future__ import annotations

import socket

from typer.testing import CliRunner

from billing_cli.main import app as cli


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens


def test_unreachable_database_exits_2_with_a_clear_error() -> None:
    port = _closed_port()
    env = {
        "INVOICING_DATABASE_URL": f"postgresql+asyncpg://nobody:secret@127.0.0.1:{port}/none",
        "INVOICING_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
        "INVOICING_DATABASE_CONNECT_TIMEOUT_S": "2",
    }
    result = CliRunner().invoke(cli, ["invoicing", "reconcile", "--timeout", "5"], env=env)
    assert result.exit_code == 2, result.output
    assert "reconcile could not read the database or Kafka" in result.output
    assert "secret" not in result.output
    assert "Traceback" not in result.output


def test_missing_settings_are_named() -> None:
    result = CliRunner().invoke(
        cli, ["invoicing", "reconcile"], env={"INVOICING_DATABASE_URL": "", "INVOICING_KAFKA_BOOTSTRAP_SERVERS": ""}
    )
    assert result.exit_code == 1
    assert "INVOICING_DATABASE_URL is not set" in result.output
    assert "INVOICING_KAFKA_BOOTSTRAP_SERVERS is not set" in result.output
