"""``billing customers …``: the customer card screen from the command line."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from billing_cli.http import Actor, actor_header, call, client, dump
from billing_cli.jobs import started

app = typer.Typer(no_args_is_help=True, help="Customer cards and their billing-data errors.")
PORT = 8001
Lang = Annotated[str, typer.Option("--lang", help="fi | en")]
Json = Annotated[bool, typer.Option("--json", help="print the API's JSON")]


def _line(card: dict[str, Any], lang: str) -> str:
    state = "ok" if card["valid"] else ("virhe" if lang == "fi" else "error")
    name = card["data"].get("name") or "-"
    text = f"{card['customer_number']:<12} v{card['version']:<4} {state:<6} {name}"
    for e in card["errors"]:
        text += f"\n{'':<20}{e['field']}: {e[f'message_{lang}']}"
    return text


@app.command()
def get(number: str, lang: Lang = "fi", as_json: Json = False) -> None:
    """Show one card."""
    with client("customers", PORT) as c:
        card = call(c, "GET", f"/customers/{number}", lang)
    dump(card) if as_json else typer.echo(_line(card, lang))


@app.command()
def search(query: str, lang: Lang = "fi", as_json: Json = False) -> None:
    """Find cards by number or name."""
    with client("customers", PORT) as c:
        cards = call(c, "GET", "/customers", lang, params={"q": query})
    if as_json:
        dump(cards)
    for card in [] if as_json else cards:
        typer.echo(_line(card, lang))


@app.command()
def invalid(lang: Lang = "fi", limit: int = 100, as_json: Json = False) -> None:
    """Customers whose billing data has errors, with each error."""
    with client("customers", PORT) as c:
        page = call(c, "GET", "/customers/invalid", lang, params={"limit": limit})
    if as_json:
        dump(page)
        return
    head = "virheellisiä asiakkaita" if lang == "fi" else "customers with errors"
    typer.echo(f"{page['total']} {head}")
    for card in page["items"]:
        typer.echo(_line(card, lang))


_FLAGS = ("consumer", "no_reminders")


def _parse_sets(pairs: list[str]) -> dict[str, Any]:
    """``field=value`` pairs as a patch. Text stays text (``name=true`` is a name); the
    flags take true/false; an empty value clears the field (null)."""
    patch: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise typer.BadParameter(f"{pair!r}: use field=value (address.city=Helsinki)")
        key, value = pair.split("=", 1)
        parsed: Any = value
        if key in _FLAGS and value.lower() in ("true", "false"):
            parsed = value.lower() == "true"
        elif value == "":
            parsed = None
        if key == "address.street_lines":
            parsed = [s for s in value.split("|") if s]
        if key.startswith("address."):
            patch.setdefault("address", {})[key.split(".", 1)[1]] = parsed
        else:
            patch[key] = parsed
    return patch


@app.command()
def update(
    number: str,
    sets: Annotated[list[str], typer.Option("--set", help="field=value; repeatable")],
    actor: Actor = None,
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """Fix a card: ``--set email=a@b.fi --set address.postal_code=00100``."""
    with client("customers", PORT) as c:
        card = call(c, "PATCH", f"/customers/{number}", lang, json=_parse_sets(sets), headers=actor_header(actor))
    dump(card) if as_json else typer.echo(_line(card, lang))


@app.command()
def history(number: str, lang: Lang = "fi") -> None:
    """Who changed the card, when and what."""
    with client("customers", PORT) as c:
        rows = call(c, "GET", f"/customers/{number}/history", lang)
    for row in rows:
        version = "-" if row["version"] is None else row["version"]  # an ignored (stale) upsert: no version
        typer.echo(f"v{version!s:<4} {row['changed_at']} {row['actor']}: {', '.join(row['changes'])}")


@app.command()
def republish(
    lang: Lang = "fi",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="follow the job until it ends")] = True,
    actor: Actor = None,
) -> None:
    """Re-validate every card and publish every billing profile again (a job: prints
    its URL and shows its progress until it is done)."""
    with client("customers", PORT) as c:
        job = call(c, "POST", "/customers/republish-profiles", lang, headers=actor_header(actor))
        started(c, job, lang, wait=wait)


@app.command()
def erase(
    number: str,
    actor: Actor = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """Erase a customer's personal data (an erasure request): the card, its history's
    values, its dead letters, and every service's copy of the profile (a tombstone).
    The issued invoices are kept (accounting law). Running it again changes nothing."""
    if not yes:
        typer.confirm(
            f"Poistetaanko asiakkaan {number} henkilötiedot pysyvästi?"
            if lang == "fi"
            else f"Erase the personal data of customer {number} for good?",
            abort=True,
        )
    with client("customers", PORT) as c:
        done = call(c, "POST", f"/customers/{number}/erasure", lang, headers=actor_header(actor))
    if as_json:
        dump(done)
        return
    fi = lang == "fi"
    if done["already_erased"]:
        typer.echo(f"{number}: " + ("poistettu jo " if fi else "already erased at ") + done["erased_at"])
    else:
        fields = ", ".join(done["erased_fields"]) or "-"
        typer.echo(f"{number}: " + ("poistettu " if fi else "erased at ") + done["erased_at"])
        typer.echo(("  kentät: " if fi else "  fields: ") + fields)
        typer.echo(
            (
                "  historiarivejä {h}, virheviestejä (DLQ) {d}, julkaisematta {o}"
                if fi
                else "  history rows {h}, dead letters {d}, unpublished records {o}"
            ).format(h=done["history_rows"], d=done["dead_letters"], o=done["outbox_rows"])
        )
        typer.echo(f"  tombstone: {done['tombstone']['topic']} key={done['tombstone']['key']}")
    for line in done["kept"]:
        typer.echo(("  säilytetään: " if fi else "  kept: ") + line)
