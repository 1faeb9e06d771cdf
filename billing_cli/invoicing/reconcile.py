"""``billing invoicing reconcile``: after restoring the invoicing database from a backup,
rebuild from ``invoicing.invoices.v1`` what the database lacks and move the number
series past the log (see ``services.invoicing.reconcile``; README "Backup and restore").

An operator's command, not a clerk's: it talks to the invoicing database and Kafka
directly, with the service's own settings (``INVOICING_DATABASE_URL``,
``INVOICING_KAFKA_BOOTSTRAP_SERVERS``, ``INVOICING_KAFKA_TOPIC_PREFIX``, ...). It prints
counts and invoice numbers only (no personal data). Exit 0: done (or nothing to do);
1: conflicts it could not resolve (listed; the series are advanced all the same);
2: the database or Kafka could not be read.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer

from billing_cli import services
from billing_cli.invoicing.common import app


@app.command()
def reconcile(
    timeout: Annotated[float, typer.Option("--timeout", min=1.0, help="seconds the topic may take to read")] = 600.0,
) -> None:
    """After a restore: rebuild the invoices, payments and number series the log holds
    (Palautuksen jälkeen: rakenna laskut, maksut ja numerosarjat lokista). Idempotent."""
    from services.invoicing.reconcile import reconcile as run
    from shared.db.engine import make_engine, make_session_factory
    from shared.runtime import database_timeouts

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = services.settings("invoicing")

    async def go() -> list[str]:
        engine = make_engine(
            settings.database_url.get_secret_value(),
            pool_size=1,
            timeouts=database_timeouts(settings),
            application_name="billing-invoicing-reconcile",
        )
        try:
            report = await run(settings, make_session_factory(engine), timeout_s=timeout)
        finally:
            await engine.dispose()
        return [*report.lines(), f"exit:{1 if report.conflicts else 0}"]

    from aiokafka.errors import KafkaError
    from sqlalchemy.exc import DBAPIError

    try:
        lines = asyncio.run(go())
    except (OSError, TimeoutError, KafkaError, DBAPIError) as exc:
        typer.echo(f"billing: reconcile could not read the database or Kafka ({type(exc).__name__})", err=True)
        raise typer.Exit(2) from None
    code = int(lines.pop().removeprefix("exit:"))
    for line in lines:
        typer.echo(f"reconcile: {line}")
    raise typer.Exit(code)
