"""``billing topics plan|apply``: the topics made what deploy/topics/<environment>.toml says.

``plan`` prints the difference per topic and changes nothing. ``apply`` creates what is
missing, alters configs that differ, adds partitions only with
``--allow-partition-increase``, and refuses (exit 1, listing why) fewer partitions, a
replication-factor change, compact -> delete and a limit on a retention kept forever
(-1), and a file that declares ``invoicing.invoices.v1`` with a limit or
``customers.billing-profiles.v1`` uncompacted. Exit codes: 0 nothing left to do (or
all of it applied); 1 something refused; 2 (``plan`` only) safe changes are pending.

Kafka is reached with the settings of the ``customers`` service (``CUSTOMERS_KAFKA_*``)
unless ``--service`` names another: the same variables the services read.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from billing_cli import services

if TYPE_CHECKING:
    from shared.messaging.topic_declarations import TopicDecl

app = typer.Typer(no_args_is_help=True, help="Kafka topics as declared in deploy/topics/<environment>.toml.")

UNUSED_DATABASE = "postgresql+asyncpg://unused@unused/unused"
FileOpt = Annotated[Path, typer.Option("--file", "-f", help="the declaration, e.g. deploy/topics/production.toml")]
PrefixOpt = Annotated[str, typer.Option("--prefix", help="prepended to every topic name (a test's own topics)")]
ServiceOpt = Annotated[str, typer.Option("--service", help="whose Kafka settings (<SERVICE>_KAFKA_*) to connect with")]


def consumed_dead_letters() -> list[str]:
    """The dead-letter topic of every topic some service consumes: the file must declare them."""
    names: list[str] = []
    for name in services.SERVICES:
        names += [spec.dead_letter for spec in services.load(name).SPEC.consumes]
    return sorted(set(names))


def kafka_settings(service: str) -> Any:
    """The service's settings for reaching Kafka alone: no database is used here, so none
    is required (``<SERVICE>_KAFKA_BOOTSTRAP_SERVERS`` still is)."""
    from shared.settings import MissingSettings

    try:
        return importlib.import_module(f"services.{service}.config").Settings(database_url=UNUSED_DATABASE)
    except MissingSettings as missing:
        raise SystemExit(f"billing: {missing}") from None


def _declared(file: Path) -> dict[str, TopicDecl]:
    from shared.messaging.topic_declarations import DeclarationError, load_declaration

    try:
        return load_declaration(file, dead_letters=consumed_dead_letters())
    except DeclarationError as exc:
        typer.echo(f"billing topics: {exc}", err=True)
        raise typer.Exit(1) from None


async def _run(file: Path, prefix: str, service: str, *, apply: bool, allow_increase: bool) -> int:
    from shared.messaging.topic_plan import plan, render
    from shared.messaging.topics_admin import admin_client, apply_plan, read_actual

    declared = _declared(file)
    if service not in services.SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(services.SERVICES)}")
    admin = admin_client(kafka_settings(service))
    await admin.start()
    try:
        actual = await read_actual(admin, declared, prefix)
        plans = plan(declared, actual, allow_partition_increase=allow_increase)
        for line in render(plans, prefix):
            typer.echo(line)
        refused = [f"{prefix}{p.name}: {reason}" for p in plans for reason in p.refused]
        pending = any(p.has_work for p in plans)
        if not apply:
            return 1 if refused else 2 if pending else 0
        if pending:
            done = await apply_plan(admin, plans, prefix)
            typer.echo(f"applied: {len(done.created)} created, {len(done.grown)} grown, {len(done.altered)} altered")
            refused += [f"{name}: created by someone else meanwhile, not checked: plan again" for name in done.raced]
        else:
            typer.echo("nothing to apply")
    finally:
        await admin.close()
    if refused:
        typer.echo(f"refused ({len(refused)}), not applied:", err=True)
        for line in refused:
            typer.echo(f"  {line}", err=True)
        return 1
    return 0


def _main(file: Path, prefix: str, service: str, *, apply: bool, allow_increase: bool) -> int:
    """Kafka's refusals and an unreachable cluster as one line, not a traceback."""
    from aiokafka.errors import KafkaError

    try:
        return asyncio.run(_run(file, prefix, service, apply=apply, allow_increase=allow_increase))
    except (KafkaError, RuntimeError) as exc:
        typer.echo(f"billing topics: {exc or type(exc).__name__}", err=True)
        return 1


@app.command("plan")
def plan_command(file: FileOpt, prefix: PrefixOpt = "", service: ServiceOpt = "customers") -> None:
    """Show what `apply` would do (changes nothing). Exit 0: in sync; 2: changes pending; 1: something refused."""
    raise typer.Exit(_main(file, prefix, service, apply=False, allow_increase=False))


@app.command("apply")
def apply_command(
    file: FileOpt,
    prefix: PrefixOpt = "",
    service: ServiceOpt = "customers",
    allow_partition_increase: Annotated[
        bool,
        typer.Option(
            "--allow-partition-increase",
            help="add declared partitions (keyed topics: records of a key in flight may be handled out of order)",
        ),
    ] = False,
) -> None:
    """Create, alter and (if allowed) grow topics to match the file; refuse what is unsafe (exit 1)."""
    raise typer.Exit(_main(file, prefix, service, apply=True, allow_increase=allow_partition_increase))
