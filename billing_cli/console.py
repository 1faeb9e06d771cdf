"""``billing console …``: run the clerk's web console and manage its users.

``serve`` takes what the local stack already has when a ``CONSOLE_`` variable is not
set: the console's own credential and its assertion key
(``.local/secrets/auth/token-console`` and ``actor-assertion-private.pem``, made when the
demo's processes first start), a session secret kept in ``.local/console/session-secret``
(made on first start, mode 0600, never in the repository) and the users file
``.local/console/users`` that ``add-user`` writes.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="The clerk's web console.")

LOCAL_DIR = Path(os.environ.get("BILLING_LOCAL_DIR") or Path(__file__).resolve().parents[1] / ".local")
LOCAL = LOCAL_DIR / "console"
AUTH = LOCAL_DIR / "secrets" / "auth"
USERS_FILE = LOCAL / "users"
SECRET_FILE = LOCAL / "session-secret"


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
    if not os.environ.get("CONSOLE_SERVICE_TOKEN") and (AUTH / "token-console").is_file():
        os.environ["CONSOLE_SERVICE_TOKEN"] = (AUTH / "token-console").read_text(encoding="ascii").strip()
    if not os.environ.get("CONSOLE_ACTOR_ASSERTION_KEY_FILE") and (AUTH / "actor-assertion-private.pem").is_file():
        os.environ["CONSOLE_ACTOR_ASSERTION_KEY_FILE"] = str(AUTH / "actor-assertion-private.pem")
    if not os.environ.get("CONSOLE_SESSION_SECRET"):
        if not SECRET_FILE.exists():
            _private_file(SECRET_FILE, secrets.token_urlsafe(48))
        os.environ["CONSOLE_SESSION_SECRET"] = SECRET_FILE.read_text(encoding="utf-8").strip()
    if not os.environ.get("CONSOLE_USERS") and not os.environ.get("CONSOLE_USERS_FILE"):
        if not USERS_FILE.exists():
            raise typer.BadParameter("no users yet: add one with `bin/billing console add-user NAME`")
        os.environ["CONSOLE_USERS_FILE"] = str(USERS_FILE)
    from console.__main__ import main

    raise typer.Exit(main([]))
