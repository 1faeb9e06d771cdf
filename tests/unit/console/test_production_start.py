"""CONSOLE_MODE=production refuses to start without the console's own credential
(CONSOLE_SERVICE_TOKEN or _FILE) and without the key that signs the clerk assertions
(CONSOLE_ACTOR_ASSERTION_KEY_FILE): acting as itself, the console would have the
services record it instead of the clerk. Development still starts (with a warning)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from billing_testkit.credentials import assertion_keypair
from console.app import create_app
from console.config import ConsoleSettings
from shared.auth import assertion

REPO = Path(__file__).resolve().parents[3]
DATABASE = "postgresql+asyncpg://console:pw@127.0.0.1:1/console"  # never reached: the app is not started


@pytest.fixture(autouse=True)
def _no_console_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CONSOLE_"):
            monkeypatch.delenv(name)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    private, _ = assertion_keypair()
    path = tmp_path / "actor-assertion-private.pem"
    path.write_bytes(private)
    assertion.load_private_key(private)  # a real Ed25519 key the console can sign with
    return path


def production(**values: object) -> ConsoleSettings:
    return ConsoleSettings(mode="production", database_url=DATABASE, **values)  # type: ignore[arg-type]


def test_production_without_a_token_is_refused(key_file: Path) -> None:
    with pytest.raises(ValueError, match="CONSOLE_SERVICE_TOKEN or CONSOLE_SERVICE_TOKEN_FILE is required"):
        create_app(production(actor_assertion_key_file=key_file))


def test_production_with_an_empty_token_file_is_refused(key_file: Path, tmp_path: Path) -> None:
    empty = tmp_path / "service-token"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="CONSOLE_SERVICE_TOKEN or CONSOLE_SERVICE_TOKEN_FILE is required"):
        create_app(production(service_token_file=empty, actor_assertion_key_file=key_file))


def test_production_with_a_missing_token_file_is_refused_naming_it(key_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"CONSOLE_SERVICE_TOKEN_FILE .*nope"):
        create_app(production(service_token_file=tmp_path / "nope", actor_assertion_key_file=key_file))


def test_production_without_the_assertion_key_is_refused() -> None:
    with pytest.raises(ValueError, match="CONSOLE_ACTOR_ASSERTION_KEY_FILE is required in production"):
        create_app(production(service_token="bk_000000000000_own"))


def test_production_with_both_starts(key_file: Path, tmp_path: Path) -> None:
    token = tmp_path / "service-token"
    token.write_text("bk_000000000000_own\n")
    app = create_app(production(service_token_file=token, actor_assertion_key_file=key_file))
    assert app.state.settings.mode == "production"


def test_development_without_them_still_starts() -> None:
    assert create_app(ConsoleSettings()).state.settings.mode == "development"


def test_the_process_refuses_in_one_line_naming_the_setting(tmp_path: Path) -> None:
    """``python -m console`` (what ``billing console serve`` runs) exits 2 with the reason,
    no traceback, before it listens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSOLE_")}
    env |= {"CONSOLE_MODE": "production", "CONSOLE_DATABASE_URL": DATABASE, "CONSOLE_HTTP_PORT": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "console"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert "CONSOLE_SERVICE_TOKEN or CONSOLE_SERVICE_TOKEN_FILE is required in production mode" in done.stderr
    assert "Traceback" not in done.stderr
