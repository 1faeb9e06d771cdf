"""The console's settings (env prefix ``CONSOLE_``).

The session secret has no default: a console started without one would sign cookies
with a key anyone can read in the source. Users are ``name:argon2-hash`` pairs, from
``CONSOLE_USERS`` (a JSON list) or a file (one pair a line), so no password is ever in
the repository; ``python -m console hash-password`` prints a hash to paste.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth.scopes import expand

SERVICES = ("customers", "invoicing", "reminders", "dispatch")


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore", env_file=None, hide_input_in_errors=True)

    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=1, le=65535)
    log_format: Literal["text", "json"] = "text"
    """``json``: one JSON object a line (see shared/logs.py), ``text``: plain lines."""

    customers_url: str = "http://127.0.0.1:8001"
    invoicing_url: str = "http://127.0.0.1:8002"
    reminders_url: str = "http://127.0.0.1:8003"
    dispatch_url: str = "http://127.0.0.1:8004"
    service_token: SecretStr = SecretStr("")
    """The console's own credential (``CONSOLE_SERVICE_TOKEN``): the Bearer token it calls
    the services with. Its scopes: ``act-for-clerks`` and the clerk's (README, Security)."""
    service_token_file: Path | None = None
    """A file holding the console's token (a mounted Secret, compose's ``credentials``
    volume), read at start when ``CONSOLE_SERVICE_TOKEN`` is not set."""
    actor_assertion_key_file: Path | None = None
    """The Ed25519 private key (PEM) that signs each call's clerk assertion
    (``X-Actor-Assertion``); the services hold its public key. Without it the console
    cannot act for a signed-in clerk, and calls made for one are refused."""
    clerk_scopes: list[str] = []
    """Narrow what a clerk may do through the console (scope names); empty: the clerk's
    scopes (every operation but ``admin``, ``shared.auth.scopes.CLERK_SCOPES``)."""
    service_timeout_s: float = Field(30.0, gt=0, le=600)

    session_secret: SecretStr
    """Key that signs the session cookie. Required: at least 32 characters."""
    session_max_age_s: int = Field(8 * 3600, ge=1, le=7 * 24 * 3600)
    """Idle time after which a clerk must sign in again (the cookie is re-signed on
    every request, so this counts from the last click)."""
    cookie_secure: bool = False
    """Always mark the session cookie Secure. It is marked Secure anyway when the request
    came over https (directly or through a proxy setting ``X-Forwarded-Proto``)."""
    cookie_name: str = "console_session"

    users: list[str] = []
    """``name:argon2-hash`` pairs (``CONSOLE_USERS='["anna:$argon2id$..."]'``)."""
    users_file: Path | None = None
    """A file with one ``name:argon2-hash`` a line (``#`` comments allowed)."""

    login_delay_s: float = Field(0.5, ge=0, le=10)
    """Pause after a wrong password (slows guessing)."""
    login_max_failures: int = Field(5, ge=1, le=1000)
    """Wrong passwords in a row for one user name before it is locked for
    ``login_lockout_s``."""
    login_lockout_s: float = Field(300.0, ge=0, le=86400)

    @field_validator("clerk_scopes")
    @classmethod
    def _known_scopes(cls, value: list[str]) -> list[str]:
        expand(value)  # a typo stops the start (UnknownScope names it)
        return value

    @field_validator("session_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("CONSOLE_SESSION_SECRET must be at least 32 characters")
        return value

    def token(self) -> str:
        """The console's own credential: ``service_token``, else ``service_token_file``'s."""
        token = self.service_token.get_secret_value()
        if not token and self.service_token_file is not None:
            try:
                token = self.service_token_file.read_text(encoding="ascii").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"CONSOLE_SERVICE_TOKEN_FILE {self.service_token_file}: {exc}") from None
        return token

    def service_url(self, service: str) -> str:
        if service not in SERVICES:
            raise KeyError(service)
        url: str = getattr(self, f"{service}_url")
        return url.rstrip("/")

    def user_hashes(self) -> dict[str, str]:
        """Every configured user name with its password hash."""
        lines = list(self.users)
        if self.users_file is not None:
            lines += self.users_file.read_text(encoding="utf-8").splitlines()
        found: dict[str, str] = {}
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, hashed = line.partition(":")
            if not sep or not name or not hashed:
                raise ValueError("a console user must be written name:argon2-hash")
            found[name.strip()] = hashed.strip()
        return found
