"""``billing console add-user`` / ``hash-password``: hashes that verify, one line per
user, a second add-user replaces the password, and the file is private (0600)."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from billing_cli.main import app
from console.auth import verify_password
from console.config import ConsoleSettings


def test_add_user_writes_a_private_users_file_the_console_reads(tmp_path: Path) -> None:
    users = tmp_path / "users"
    runner = CliRunner()
    first = runner.invoke(app, ["console", "add-user", "anna", "--users-file", str(users)], input="ensimmäinen\n")
    assert first.exit_code == 0, first.output
    assert "anna: added" in first.output
    runner.invoke(app, ["console", "add-user", "ben", "--users-file", str(users)], input="toinen-salasana\n")
    again = runner.invoke(app, ["console", "add-user", "anna", "--users-file", str(users)], input="uusi-salasana\n")
    assert "anna: password changed" in again.output
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    hashes = ConsoleSettings(users_file=users).user_hashes()
    assert sorted(hashes) == ["anna", "ben"]
    assert verify_password(hashes["anna"], "uusi-salasana")
    assert not verify_password(hashes["anna"], "ensimmäinen")
    assert "salasana" not in users.read_text()


def test_add_user_refuses_a_short_password_and_a_name_with_a_colon(tmp_path: Path) -> None:
    users = tmp_path / "users"
    runner = CliRunner()
    file_opt = ["--users-file", str(users)]
    assert runner.invoke(app, ["console", "add-user", "anna", *file_opt], input="lyhyt\n").exit_code == 2
    assert runner.invoke(app, ["console", "add-user", "a:b", *file_opt], input="pitkä-salasana\n").exit_code == 2
    assert not users.exists()


def test_hash_password_prints_a_hash_of_the_password() -> None:
    out = CliRunner().invoke(app, ["console", "hash-password"], input="salasana-123\n")
    assert out.exit_code == 0
    hashed = out.output.strip()
    assert verify_password(hashed, "salasana-123")
