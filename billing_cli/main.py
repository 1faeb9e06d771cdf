"""``billing``: one CLI for running and operating the back-office."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from billing_cli import dispatch, services
from billing_cli.console import app as console_app
from billing_cli.credentials import app as credentials_app
from billing_cli.customers import app as customers_app
from billing_cli.demo import app as demo_app
from billing_cli.dlq import app as dlq_app
from billing_cli.invoicing import app as invoicing_app
from billing_cli.jobs import app as jobs_app
from billing_cli.payments import app as payments_app
from billing_cli.reminders import app as reminders_app
from billing_cli.topics import app as topics_app

app = typer.Typer(no_args_is_help=True, help="Billing back-office command line.")
app.add_typer(customers_app, name="customers")
app.add_typer(jobs_app, name="jobs")
app.add_typer(dlq_app, name="dlq")
app.add_typer(invoicing_app, name="invoicing")
app.add_typer(payments_app, name="payments")
app.add_typer(reminders_app, name="reminders")
app.add_typer(demo_app, name="demo")
app.add_typer(console_app, name="console")
app.add_typer(topics_app, name="topics")
app.add_typer(credentials_app, name="credentials")
dispatch.register(app)  # billing dispatch …, billing worker <channel>

ServiceArg = Annotated[str, typer.Argument(help="customers | invoicing | reminders | dispatch")]


def _check(name: str) -> None:
    if name not in services.SERVICES:
        raise typer.BadParameter(f"unknown service {name!r}; one of {', '.join(services.SERVICES)}")


@app.command()
def serve(service: ServiceArg) -> None:
    """Run a service: its consumers, outbox relay and HTTP API."""
    _check(service)
    from shared.serve import serve as serve_app

    serve_app(services.settings(service), services.load(service).create_app)


@app.command()
def migrate(
    service: Annotated[str, typer.Argument(help="a service, 'console', or 'all' (services and console)")] = "all",
) -> None:
    """Apply the Alembic migrations of one service or all of them (the only migration
    step in production: compose's migrate service, the k8s Job billing-migrate), and of
    the console's own database (sessions, sign-in failures) when CONSOLE_DATABASE_URL is set.

    The migration connection has <PREFIX>MIGRATION_LOCK_TIMEOUT_MS and
    <PREFIX>MIGRATION_STATEMENT_TIMEOUT_MS; a lock timeout is retried
    <PREFIX>MIGRATION_LOCK_ATTEMPTS times with backoff, then the command fails (exit 1)
    saying what blocked it."""
    from shared.db.migrations import MigrationTimeouts

    names = (*services.SERVICES, "console") if service == "all" else (service,)
    for name in names:
        if name != "console":
            _check(name)
    for name in names:
        if name == "console":
            from billing_cli.console import migration_target

            target = migration_target(required=service == "console")
            if target is None:
                typer.echo("console: no CONSOLE_DATABASE_URL (sessions kept in the process): nothing to migrate")
                continue
            migrations_dir, url = target
            _migrate_one(name, migrations_dir, url, MigrationTimeouts())
            continue
        settings = services.settings(name)
        migrations_dir = services.migrations_dir(name)
        url = settings.database_url.get_secret_value()
        _migrate_one(name, migrations_dir, url, MigrationTimeouts.from_settings(settings))


def _migrate_one(name: str, migrations_dir: Path, url: str, timeouts: Any) -> None:
    from shared.db.migrations import MigrationError, upgrade
    from shared.db.schema_check import SchemaState, verdict_for

    try:
        before = asyncio.run(verdict_for(url, migrations_dir, timeouts))
    except Exception as failed:  # an unreachable database, a refused login, …
        _migrate_failed(name, url, failed)
    if before.state is SchemaState.AHEAD:  # a newer release's expand step: this code runs on it
        typer.echo(
            f"{name}: the database is at {before.database_text}, newer than this code's head {before.head}: "
            "nothing to migrate (see the expand/contract rule)"
        )
        return
    try:
        asyncio.run(upgrade(migrations_dir, url, timeouts=timeouts))
    except MigrationError as failed:
        typer.echo(f"billing migrate: {failed}", err=True)
        raise typer.Exit(1) from None
    except Exception as failed:
        _migrate_failed(name, url, failed)
    if before.state is SchemaState.CURRENT:
        typer.echo(f"{name}: at head {before.head}, nothing to migrate")
    else:
        was = f"from {', '.join(before.database)}" if before.database else "an empty database"
        typer.echo(f"{name}: migrated {was} to head {before.head}")


def _migrate_failed(service: str, url: str, failed: BaseException) -> NoReturn:
    """One line on stderr and exit 1: the service, where its database is (the password
    hidden) and the error's first line (the SQL, its parameters and the server's DETAIL,
    which may quote a row, are left out)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    error = failed.orig if isinstance(failed, DBAPIError) and failed.orig is not None else failed
    lines = str(error).strip().splitlines()
    first = _PASSWORD_IN_URL.sub(r"\1***@", lines[0]) if lines else ""
    try:
        where = make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: only its scheme
        where = url.split("://", 1)[0] + "://…"
    reason = f"{type(error).__name__}: {first}" if first else type(error).__name__
    typer.echo(f"billing migrate: {service}: cannot migrate the database at {where}: {reason}", err=True)
    raise typer.Exit(1) from None


_PASSWORD_IN_URL = re.compile(r"(\w[\w+.-]*://[^:/@\s]*:)[^@\s]*@")


REPO = Path(__file__).resolve().parents[1]


def _publish(documents: dict[Path, str], *, check: bool, command: str) -> None:
    """Write each document (path -> text), or with ``check`` exit 1 naming those whose
    committed file is missing or differs."""
    stale = []
    for path, text in documents.items():
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(REPO)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            typer.echo(f"wrote {path}")
    if stale:
        typer.echo(f"not current (run `bin/billing {command}`): " + ", ".join(stale), err=True)
        raise typer.Exit(1)


@app.command()
def asyncapi(
    check: Annotated[bool, typer.Option("--check", help="fail if a committed document is not current")] = False,
) -> None:
    """Write (or check) docs/asyncapi/<service>.yaml, the published event contract, and
    the test kit's copy of it (testkit/billing_testkit/asyncapi/, shipped in its wheel)."""
    from shared.events.asyncapi import document

    outs = (REPO / "docs" / "asyncapi", REPO / "testkit" / "billing_testkit" / "asyncapi")
    documents: dict[Path, str] = {}
    for name in services.SERVICES:
        spec = services.load(name).SPEC
        text = document(name, group=name, produces=spec.produces, consumes=spec.consumes)
        documents |= {out / f"{name}.yaml": text for out in outs}
    _publish(documents, check=check, command="asyncapi")


def openapi_documents() -> dict[str, str]:
    """Each service's HTTP contract (its OpenAPI document as JSON text), from the app
    itself: nothing is started, no server is reached."""
    import importlib
    import json
    import logging

    out = {}
    logging.disable(logging.WARNING)  # "no credentials file": true, and beside the point here
    try:
        for name in services.SERVICES:
            config = importlib.import_module(f"services.{name}.config")
            module = importlib.import_module(f"services.{name}.app")
            settings = config.Settings(
                kafka_bootstrap_servers="localhost:1", database_url="postgresql+asyncpg://contract@localhost:1/contract"
            )
            out[name] = json.dumps(module.create_app(settings).openapi(), indent=2, ensure_ascii=False) + "\n"
    finally:
        logging.disable(logging.NOTSET)
    return out


@app.command()
def openapi(
    check: Annotated[bool, typer.Option("--check", help="fail if a committed document is not current")] = False,
) -> None:
    """Write (or check) docs/openapi/<service>.json, the services' published HTTP contract
    (production serves no /openapi.json: read it here)."""
    documents = {REPO / "docs" / "openapi" / f"{name}.json": text for name, text in openapi_documents().items()}
    _publish(documents, check=check, command="openapi")


if __name__ == "__main__":
    app()
