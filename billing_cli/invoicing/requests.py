"""``billing invoicing requests``: fetch billing requests (seed steps 8-12)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer

from billing_cli.http import call, dump
from billing_cli.invoicing import text
from billing_cli.invoicing.common import CARD_COMMAND, Json, Kind, app, echo_lines, invoicing_client, iso_day, say


@app.command("requests")
def fetch_requests(
    kind: Kind,
    *,
    state: Annotated[
        Literal[
            "refused", "error", "cancelled", "cancelled-after-invoicing", "ready", "draft", "invoiced", "non-chargeable"
        ]
        | None,
        typer.Option(
            help="only this state (default: what to act on or bill, problems first: refused, error, cancelled, "
            "cancelled after invoicing, then ready)",
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="only rows with this reason code (as in the notice)")
    ] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="one customer's requests")] = None,
    order: Annotated[str | None, typer.Option("--order", help="one order's requests")] = None,
    up_to: Annotated[str | None, typer.Option("--up-to", help="invoice dates up to (2026-11-23 or 23.11.2026)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    lang: Annotated[Literal["fi", "en", "both"], typer.Option("--lang", help="fi | en | both")] = "fi",
    as_json: Json = False,
) -> None:
    """Fetch billing requests (Hae laskutuspyynnöt): the error notice, then the list."""
    params: dict[str, Any] = {"kind": kind, "limit": limit, "offset": offset}
    for name, value in (
        ("state", state),
        ("reason", reason),
        ("customer_number", customer),
        ("order_id", order),
        ("up_to", iso_day(up_to)),
    ):
        if value is not None:
            params[name] = value
    with invoicing_client() as c:
        page = call(c, "GET", "/billing-requests", "en" if lang == "en" else "fi", params=params)
    if as_json:
        dump(page)
        return
    notice = text.notice_lines(page["notice"], lang)
    for line in notice:
        typer.secho(line, fg="red", bold=True)
    if notice:
        typer.echo()
    echo_lines(text.request_lines(page, lang, card_command=CARD_COMMAND))
    if page["total"] > offset + len(page["items"]):
        say(
            lang,
            f"… ja {page['total'] - offset - len(page['items'])} lisää (--offset / --limit)",
            f"… and {page['total'] - offset - len(page['items'])} more (--offset / --limit)",
        )
