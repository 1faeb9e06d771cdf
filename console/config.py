"""The console's settings (env prefix ``CONSOLE_``).

Sessions live on the server (console/session.py): in the console's own PostgreSQL
database (``CONSOLE_DATABASE_URL``) or, in development only, in the process. Users are ``name:argon2-hash`` pairs, from
``CONSOLE_USERS`` (a JSON list) or a file (one pair a line), so no password is ever in
the repository; ``python -m console hash-password`` prints a hash to paste.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth.scopes import expand

SERVICES = ("customers", "invoicing", "reminders", "dispatch")


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore", env_file=None, hide_input_in_errors=True)

    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=1, le=65535)
    forwarded_allow_ips: str = "127.0.0.1"
    """The proxies whose ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed
    (uvicorn's ``forwarded_allow_ips``: addresses or CIDRs, comma-separated; ``*`` any).
    Behind an ingress this must name it: otherwise every clerk has the ingress' address
    (the sign-in lockout would count them all as one) and https is not seen (no Secure
    cookie without ``cookie_secure``, no HSTS)."""
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
    bank_file_max_bytes: int = Field(16 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    """The largest bank payment file a clerk may upload (16 MiB, what the invoicing
    service's parsers read: a bank's daily file is far smaller)."""
    bank_file_preview_ttl_s: int = Field(1800, ge=60, le=24 * 3600)
    """How long an uploaded bank file waits on the server for the clerk to confirm its
    preview; after that she uploads it again."""

    mode: Literal["development", "production"] = "development"
    """``production``: sessions and sign-in failures must live in PostgreSQL
    (``database_url``), and the console never migrates at start (``billing migrate
    console`` is its own step; the schema is checked instead). ``development``: without a
    database the console keeps them in the process (lost on restart, one replica only)."""
    database_url: SecretStr | None = None
    """The console's own PostgreSQL database (``postgresql+asyncpg://…``): sessions and
    sign-in failures, shared by every replica and kept across restarts."""
    database_pool_size: int = Field(5, ge=1, le=100)
    database_max_overflow: int = Field(5, ge=0, le=100)
    migrate_on_start: bool | None = None
    """Migrate the console's database at start; unset: yes in development, no in
    production (where setting it true is refused)."""

    session_idle_s: int = Field(3600, ge=1, le=7 * 24 * 3600)
    """A session not used for this long ends (1 h: a clerk back from lunch signs in
    again). Counted on the server from the last request (kept to within a minute)."""
    session_max_age_s: int = Field(8 * 3600, ge=1, le=7 * 24 * 3600)
    """A session ends this long after sign-in however busy it is (a working day)."""
    session_purge_interval_s: float = Field(300.0, gt=0, le=86400)
    """How often ended sessions and old sign-in failures are deleted from the store."""
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
    """Wrong passwords for one user name from one client address (within
    ``login_lockout_s``) before that name is locked *from that address* for
    ``login_lockout_s``. Never by name alone: a clerk at her own desk is not locked out
    by someone typing her name elsewhere."""
    login_max_failures_per_address: int = Field(30, ge=1, le=100000)
    """Wrong passwords from one client address, whatever the names (within
    ``login_lockout_s``), before that address may not sign in for ``login_lockout_s``
    (throttles one address trying many names)."""
    login_lockout_s: float = Field(300.0, ge=0, le=86400)

    password_login: bool = True
    """Sign-in with a name and password from ``CONSOLE_USERS``. With OIDC on, turn it
    off in production (``CONSOLE_PASSWORD_LOGIN=false``): the provider is then the only way in."""

    # OIDC sign-in (console/oidc.py): on when ``oidc_issuer`` is set.
    oidc_issuer: str = ""
    """The provider's issuer URL (its discovery document is ``<issuer>/.well-known/openid-configuration``).
    https; plain http only for a provider on this machine (127.0.0.1, ::1, localhost)."""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    """The console's client secret at the provider (empty: a public client, PKCE only)."""
    oidc_scopes: str = "openid profile email"
    oidc_username_claim: str = "preferred_username"
    """The claim whose value is the clerk's name in the console (and in the audit trail).
    It must be one only an administrator can set at the provider (OIDC Core §5.7: a
    ``preferred_username`` may be user-editable and is not unique). ``email`` is taken
    only with ``email_verified`` true."""
    oidc_allowed_subjects: list[str] = []
    """Subjects (the ``sub`` claim: stable and unique per issuer) let in
    (``'["f3b2…","9a1c…"]'``): the safe list, as no one can pick another's ``sub``."""
    oidc_allowed_users: list[str] = []
    """Names (values of the username claim) let in (``'["anna","bertta"]'``): only as
    safe as the username claim (see above); prefer the group or the subjects."""
    oidc_required_group: str = ""
    """A group whose members are let in (read from ``oidc_groups_claim``)."""
    oidc_groups_claim: str = "groups"
    oidc_provider_name: str = "OIDC"
    """Shown on the sign-in button: "Sign in with <name>"."""
    oidc_redirect_url: str = ""
    """The callback's public URL as registered at the provider; empty: this console's own
    address (as the request reached it) + ``/login/oidc/callback``. Set it behind a proxy."""
    oidc_timeout_s: float = Field(10.0, gt=0, le=120)

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    @model_validator(mode="after")
    def _oidc_complete(self) -> ConsoleSettings:
        if not self.oidc_enabled:
            if not self.password_login:
                raise ValueError("CONSOLE_PASSWORD_LOGIN=false needs OIDC sign-in (CONSOLE_OIDC_ISSUER)")
            return self
        _check_url("CONSOLE_OIDC_ISSUER", self.oidc_issuer)
        if self.oidc_redirect_url:
            _check_url("CONSOLE_OIDC_REDIRECT_URL", self.oidc_redirect_url)
        if not self.oidc_client_id:
            raise ValueError("CONSOLE_OIDC_CLIENT_ID is required with CONSOLE_OIDC_ISSUER")
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("CONSOLE_OIDC_SCOPES must include openid")
        if not self.oidc_username_claim:
            raise ValueError("CONSOLE_OIDC_USERNAME_CLAIM must name a claim")
        if not self.oidc_allowed_users and not self.oidc_required_group and not self.oidc_allowed_subjects:
            # without a rule everyone the provider knows would get in
            raise ValueError(
                "OIDC sign-in needs CONSOLE_OIDC_REQUIRED_GROUP, CONSOLE_OIDC_ALLOWED_SUBJECTS "
                "and/or CONSOLE_OIDC_ALLOWED_USERS"
            )
        if self.oidc_required_group and not self.oidc_groups_claim:
            raise ValueError("CONSOLE_OIDC_GROUPS_CLAIM must name a claim")
        return self

    @model_validator(mode="after")
    def _production_needs_a_database(self) -> ConsoleSettings:
        if self.mode == "production":
            if self.database_url is None or not self.database_url.get_secret_value().strip():
                raise ValueError(
                    "CONSOLE_DATABASE_URL is required in production mode: sessions and sign-in failures "
                    "must outlive a restart and be shared by every replica (the in-process store is for "
                    "development only)"
                )
            if self.migrate_on_start:
                raise ValueError(
                    "CONSOLE_MIGRATE_ON_START=true is refused in production mode: run `billing migrate console` "
                    "as its own step"
                )
        return self

    @property
    def migrates_on_start(self) -> bool:
        return self.migrate_on_start if self.migrate_on_start is not None else self.mode == "development"

    def oidc_allows(self, name: str, groups: list[str], subject: str | None = None) -> bool:
        """Whether the person ``subject`` (her ``sub``), named ``name``, in ``groups``,
        may use the console."""
        if subject is not None and subject in self.oidc_allowed_subjects:
            return True
        if name in self.oidc_allowed_users:
            return True
        return bool(self.oidc_required_group) and self.oidc_required_group in groups

    @field_validator("clerk_scopes")
    @classmethod
    def _known_scopes(cls, value: list[str]) -> list[str]:
        expand(value)  # a typo stops the start (UnknownScope names it)
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


_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _check_url(setting: str, url: str) -> None:
    """https, or plain http to this machine only (a provider in development or tests)."""
    parts = urlsplit(url)
    if not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"{setting} must be an absolute URL without query or fragment")
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        return
    raise ValueError(f"{setting} must be an https URL (http only for 127.0.0.1 or localhost)")
