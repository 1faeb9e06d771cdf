"""``billing dlq …``: a service's dead letters (what it could not use, and why), and
replaying them to their topic once the cause is fixed."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from billing_cli.http import Actor, actor_header, call, dump
from billing_cli.jobs import service_client

app = typer.Typer(no_args_is_help=True, help="Dead letters: list, show, replay once the cause is fixed.")
ServiceArg = Annotated[str, typer.Argument(help="customers | invoicing | reminders | dispatch")]
Lang = Annotated[str, typer.Option("--lang", help="fi | en")]
Json = Annotated[bool, typer.Option("--json", help="print the API's JSON")]


def _line(d: dict[str, Any]) -> str:
    replays = f"  replayed {d['replays']}x" if d["replays"] else ""
    where = f"{d['topic']}[{d['partition']}]@{d['offset']}"
    return f"{d['id']:>6}  {d['received_at'][:19]}  {where}  {d['error_code']}: {d['reason']}{replays}"


@app.command("list")
def list_(
    service: ServiceArg,
    *,
    topic: Annotated[str | None, typer.Option("--topic")] = None,
    code: Annotated[str | None, typer.Option("--code", help="error code, e.g. invalid-data")] = None,
    replayed: Annotated[bool | None, typer.Option("--replayed/--not-replayed")] = None,
    limit: int = 100,
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """Dead letters, newest first."""
    params: dict[str, Any] = {"limit": limit}
    for name, value in (("topic", topic), ("error_code", code), ("replayed", replayed)):
        if value is not None:
            params[name] = value
    with service_client(service) as c:
        page = call(c, "GET", "/dead-letters", lang, params=params)
    if as_json:
        dump(page)
        return
    typer.echo(f"{page['total']} " + ("virheviestiä" if lang == "fi" else "dead letter(s)"))
    for d in page["items"]:
        typer.echo(_line(d))


@app.command()
def show(service: ServiceArg, dead_letter_id: int, lang: Lang = "fi") -> None:
    """One dead letter with its key, headers and value."""
    with service_client(service) as c:
        dump(call(c, "GET", f"/dead-letters/{dead_letter_id}", lang))


@app.command()
def replay(
    service: ServiceArg,
    ids: Annotated[list[int] | None, typer.Argument(help="dead letter ids")] = None,
    *,
    topic: Annotated[str | None, typer.Option("--topic", help="all of this topic")] = None,
    code: Annotated[str | None, typer.Option("--code", help="all with this error code")] = None,
    again: Annotated[bool, typer.Option("--again", help="also those replayed before")] = False,
    actor: Actor = None,
    lang: Lang = "fi",
) -> None:
    """Publish dead letters again to their topic (once the cause is fixed)."""
    if not ids and topic is None and code is None:
        raise typer.BadParameter("give dead letter ids, --topic or --code")
    body: dict[str, Any] = {"ids": ids or [], "include_replayed": again}
    if topic is not None:
        body["topic"] = topic
    if code is not None:
        body["error_code"] = code
    with service_client(service) as c:
        answer = call(c, "POST", "/dead-letters/replay", lang, json=body, headers=actor_header(actor))
    typer.echo(answer[f"message_{lang}"] if f"message_{lang}" in answer else answer["message_en"])
