"""``billing console …``: run the clerk's web console and manage its users.

``serve`` takes what the local stack already has when a ``CONSOLE_`` variable is not
set: the console's own credential and its assertion key
(``.local/secrets/auth/token-console`` and ``actor-assertion-private.pem``, made when the
demo's processes first start) and the users file ``.local/console/users`` that
``add-user`` writes. Sessions need no secret: the cookie is an opaque random id.

``sessions revoke --user NAME`` ends every session of a clerk at once (on every replica:
they share the console's database, ``CONSOLE_DATABASE_URL``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(no_args_is_help=True, help="The clerk's web console.")
sessions_app = typer.Typer(no_args_is_help=True, help="The console's sessions (in its database).")
app.add_typer(sessions_app, name="sessions")

LOCAL_DIR = Path(os.environ.get("BILLING_LOCAL_DIR") or Path(__file__).resolve().parents[1] / ".local")
LOCAL = LOCAL_DIR / "console"
AUTH = LOCAL_DIR / "secrets" / "auth"
USERS_FILE = LOCAL / "users"


def _read_password(confirm: bool) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return password


def _private_file(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(content)


@app.command("hash-password")
def hash_password() -> None:
    """Print an argon2id hash of a password (asked without echo, or read from stdin)."""
    from console.auth import hash_password as make_hash

    password = _read_password(confirm=False)
    if not password:
        raise typer.BadParameter("an empty password is not allowed")
    typer.echo(make_hash(password))


@app.command("add-user")
def add_user(
    name: Annotated[str, typer.Argument(help="the clerk's user name (shown in audit trails)")],
    users_file: Annotated[Path, typer.Option(help="the users file (name:hash a line)")] = USERS_FILE,
) -> None:
    """Add a clerk (or set a new password) in the users file ``serve`` reads."""
    from console.auth import hash_password as make_hash

    if not name or ":" in name or name != name.strip():
        raise typer.BadParameter("a user name without ':' or surrounding spaces")
    password = _read_password(confirm=True)
    if len(password) < 8:
        raise typer.BadParameter("a password of at least 8 characters")
    lines = users_file.read_text(encoding="utf-8").splitlines() if users_file.exists() else []
    kept = [line for line in lines if line.partition(":")[0].strip() != name]
    _private_file(users_file, "\n".join([*kept, f"{name}:{make_hash(password)}"]) + "\n")
    typer.echo(f"{name}: {'password changed' if len(kept) < len(lines) else 'added'} in {users_file}")


@app.command()
def serve() -> None:
    """Run the console (``CONSOLE_HTTP_PORT``, default 8080)."""
    # the local stack's credential and key, only when none is given (a test kit's console
    # names its own token file: the stack's token must not win over it)
    given_token = os.environ.get("CONSOLE_SERVICE_TOKEN") or os.environ.get("CONSOLE_SERVICE_TOKEN_FILE")
    if not given_token and (AUTH / "token-console").is_file():
        os.environ["CONSOLE_SERVICE_TOKEN_FILE"] = str(AUTH / "token-console")
    if not os.environ.get("CONSOLE_ACTOR_ASSERTION_KEY_FILE") and (AUTH / "actor-assertion-private.pem").is_file():
        os.environ["CONSOLE_ACTOR_ASSERTION_KEY_FILE"] = str(AUTH / "actor-assertion-private.pem")
    if not os.environ.get("CONSOLE_USERS") and not os.environ.get("CONSOLE_USERS_FILE"):
        if not USERS_FILE.exists():
            raise typer.BadParameter("no users yet: add one with `bin/billing console add-user NAME`")
        os.environ["CONSOLE_USERS_FILE"] = str(USERS_FILE)
    from console.__main__ import main

    raise typer.Exit(main([]))


def _console_settings() -> Any:
    from pydantic import ValidationError

    from console.config import ConsoleSettings

    try:
        return ConsoleSettings()
    except ValidationError as exc:  # names only, never a value (hide_input_in_errors)
        names = ", ".join("CONSOLE_" + str(e["loc"][0]).upper() for e in exc.errors() if e["loc"])
        typer.echo(f"billing console: settings missing or invalid: {names}", err=True)
        raise typer.Exit(2) from None


def migration_target(*, required: bool) -> tuple[Path, str] | None:
    """The console's migrations and database URL for ``billing migrate``; None when it
    has no database (``required``: that is an error, exit 1)."""
    from console.store_pg import MIGRATIONS

    settings = _console_settings()
    url = settings.database_url.get_secret_value().strip() if settings.database_url is not None else ""
    if url:
        return MIGRATIONS, url
    if required:
        typer.echo("billing migrate: console: CONSOLE_DATABASE_URL is not set: nothing to migrate", err=True)
        raise typer.Exit(1)
    return None


@sessions_app.command("revoke")
def revoke_sessions(
    user: Annotated[str, typer.Option("--user", help="the clerk's user name")],
) -> None:
    """End every session of a clerk now (a lost laptop, a clerk who left): her next
    click on any replica gets the sign-in page."""
    settings = _console_settings()
    if settings.database_url is None or not settings.database_url.get_secret_value().strip():
        typer.echo(
            "billing console: CONSOLE_DATABASE_URL is not set: the sessions live inside the console's process "
            "(development); restarting it ends them all",
            err=True,
        )
        raise typer.Exit(1)
    ended = asyncio.run(_revoke(settings.database_url.get_secret_value(), user))
    typer.echo(f"{user}: {ended} session{'s' if ended != 1 else ''} ended")


async def _revoke(url: str, user: str) -> int:
    from console.store_pg import PostgresStore

    store = PostgresStore(url, migrate=False, pool_size=1, max_overflow=0)
    await store.open()
    try:
        return await store.delete_user(user)
    finally:
        await store.close()
