"""``billing demo reset | load | day``: the pieces ``make demo`` runs (deploy/local/demo.sh).

``load`` publishes the demo data on the inbound topics as the CRM, the order systems and
the bank would; ``day`` walks the clerk's day through this CLI; ``reset`` empties the
demo's databases, topics and output so a second ``make demo`` starts the same way.
The code lives in the top-level ``demo`` package (imported when a command runs)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

app = typer.Typer(no_args_is_help=True, help="The demo: reset, load the demo data, walk the clerk's day.")
Out = Annotated[Path, typer.Option("--out", help="the demo's output folder", file_okay=False)]


@app.command()
def reset(out: Out = Path(".local/demo/out")) -> None:
    """Empty the demo's databases, topics, consumer groups and output (services stopped)."""
    from demo import reset as reset_

    reset_.run(out)


@app.command()
def load(
    out: Out = Path(".local/demo/out"),
    customers: Annotated[int, typer.Option(min=10, max=100_000, help="how many customers")] = 3000,
    seed: Annotated[int, typer.Option(help="the random seed (same seed, same data)")] = 2026,
    today: Annotated[str | None, typer.Option(help="the demo's today, YYYY-MM-DD (default: today in Helsinki)")] = None,
) -> None:
    """Publish the demo data (customers, earlier months billed, paid and reminded, today's requests)."""
    from demo import load as load_

    day_ = date.fromisoformat(today) if today else datetime.now(ZoneInfo("Europe/Helsinki")).date()
    load_.run(out, customers, seed, day_)


@app.command()
def day(
    out: Out = Path(".local/demo/out"),
    started_s: Annotated[float, typer.Option(help="seconds the start took (for the report)")] = 0.0,
) -> None:
    """Walk the clerk's day (ARCHITECTURE §6) through this CLI, then print the report."""
    from demo import day as day_

    day_.run(out, started_s)
