"""What the ``billing invoicing`` commands share: the sub-app, the options every command
takes the same way (``--actor`` is :data:`billing_cli.http.Actor`) and the client of the
invoicing service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import httpx
import typer

from billing_cli.http import client
from billing_cli.invoicing import text

app = typer.Typer(
    no_args_is_help=True,
    help="Billing (Laskutus): billing requests, billing runs, invoices, corrective invoices, payments.",
)
PORT = 8002
CARD_COMMAND = "bin/billing customers get {customer}"
"""How the clerk opens a customer's card (seed step 10): ``billing customers get``."""
MAX_SELECTION = 100_000
"""The most request ids one run takes (the API's bound)."""

Lang = Annotated[Literal["fi", "en"], typer.Option("--lang", help="fi | en")]
Json = Annotated[bool, typer.Option("--json", help="print the API's JSON")]
Kind = Annotated[Literal["subscription", "notice"], typer.Option("--kind", help="subscription | notice")]
OptionalKind = Annotated[
    Literal["subscription", "notice"] | None,
    typer.Option("--kind", help="subscription | notice"),
]
InvoiceId = Annotated[int, typer.Argument(min=1, help="the invoice's id (the first column of `invoices`)")]
Pdf = Annotated[Path | None, typer.Option("--pdf", help="save the summary as a PDF here", dir_okay=False)]


def say(lang: str, fi: str, en: str) -> None:
    typer.echo(fi if lang == "fi" else en)


def echo_lines(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)


def iso_day(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return text.parse_day(value).isoformat()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--up-to") from None


def invoicing_client() -> httpx.Client:
    return client("invoicing", PORT)
