"""`billing console serve` fills in the local stack's credential and key only when none
is given: a test kit's console that names its own token file keeps it, even on a machine
where the demo's stack has made its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import billing_cli.console as console_cli
from billing_cli.main import app as cli


@pytest.fixture
def seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    auth = tmp_path / "secrets" / "auth"
    auth.mkdir(parents=True)
    (auth / "token-console").write_text("bk_stack\n")
    (auth / "actor-assertion-private.pem").write_text("stack key")
    monkeypatch.setattr(console_cli, "AUTH", auth)
    monkeypatch.setenv("CONSOLE_USERS", "[]")
    for name in ("CONSOLE_SERVICE_TOKEN", "CONSOLE_SERVICE_TOKEN_FILE", "CONSOLE_ACTOR_ASSERTION_KEY_FILE"):
        monkeypatch.setenv(name, "")  # recorded, so what serve sets is undone after the test
        monkeypatch.delenv(name)
    found: dict[str, str | None] = {"auth": str(auth)}

    def fake_main(argv: list[str]) -> int:
        import os

        for name in ("CONSOLE_SERVICE_TOKEN", "CONSOLE_SERVICE_TOKEN_FILE", "CONSOLE_ACTOR_ASSERTION_KEY_FILE"):
            found[name] = os.environ.get(name)
        return 0

    monkeypatch.setattr("console.__main__.main", fake_main)
    return found


def test_a_given_token_file_and_key_are_kept(seen: dict[str, str | None], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSOLE_SERVICE_TOKEN_FILE", "/kit/token-console")
    monkeypatch.setenv("CONSOLE_ACTOR_ASSERTION_KEY_FILE", "/kit/private.pem")
    assert CliRunner().invoke(cli, ["console", "serve"]).exit_code == 0
    assert seen == {
        "auth": seen["auth"],
        "CONSOLE_SERVICE_TOKEN": None,
        "CONSOLE_SERVICE_TOKEN_FILE": "/kit/token-console",
        "CONSOLE_ACTOR_ASSERTION_KEY_FILE": "/kit/private.pem",
    }


def test_without_any_the_local_stacks_are_used(seen: dict[str, str | None]) -> None:
    assert CliRunner().invoke(cli, ["console", "serve"]).exit_code == 0
    auth = Path(str(seen["auth"]))
    assert seen == {
        "auth": str(auth),
        "CONSOLE_SERVICE_TOKEN": None,
        "CONSOLE_SERVICE_TOKEN_FILE": str(auth / "token-console"),
        "CONSOLE_ACTOR_ASSERTION_KEY_FILE": str(auth / "actor-assertion-private.pem"),
    }
