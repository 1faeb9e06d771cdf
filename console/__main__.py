"""``python -m console`` serves the console; ``python -m console hash-password`` prints
an argon2 hash for a users entry (the password is read without echo, or from stdin)."""

from __future__ import annotations

import getpass
import sys


def main(argv: list[str]) -> int:
    if argv[:1] == ["hash-password"]:
        from console.auth import hash_password

        password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
        if not password:
            print("an empty password is not allowed", file=sys.stderr)
            return 2
        print(hash_password(password))
        return 0
    if argv:
        print("usage: python -m console [hash-password]", file=sys.stderr)
        return 2
    import uvicorn
    from pydantic import ValidationError

    from console.app import create_app
    from console.config import ConsoleSettings

    try:
        settings = ConsoleSettings()
    except ValidationError as exc:
        # name the variables, never echo a value (hide_input_in_errors)
        names = ", ".join("CONSOLE_" + str(e["loc"][0]).upper() for e in exc.errors() if e["loc"])
        print(f"console: settings missing or invalid: {names}", file=sys.stderr)
        for e in exc.errors():
            print(f"  {'.'.join(str(p) for p in e['loc'])}: {e['msg']}", file=sys.stderr)
        return 2
    from shared.logs import configure_logging

    configure_logging("console", settings.log_format)
    try:
        app = create_app(settings)
    except ValueError as exc:  # a refused start (production without its token or key, a bad users list)
        print(f"console: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_config=None,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
