"""``billing dispatch …``: the Sending tab from the command line (seed steps 18–25), and
``billing worker <channel>``: run a channel worker.

    billing dispatch summary
    billing dispatch waiting --channel email
    billing dispatch send --channel email --all --preview --out samples/
    billing dispatch send --channel email --all
    billing dispatch failed --channel einvoice
    billing dispatch send --channel einvoice --all --resend-failed
    billing dispatch show <document id>
    billing dispatch resend <document id>                # to the customer's current data
    billing dispatch move <document id> --channel print  # e-mail refused -> print
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from billing_cli.http import Actor, actor_header, call, client, dump
from billing_cli.jobs import follow

app = typer.Typer(no_args_is_help=True, help="Sending documents channel by channel (e-mail, e-invoice, print).")
PORT = 8004
CHANNELS = ("email", "einvoice", "print")
Lang = Annotated[str, typer.Option("--lang", help="fi | en")]
Json = Annotated[bool, typer.Option("--json", help="print the API's JSON")]
ChannelOpt = Annotated[str, typer.Option("--channel", "-c", help="email | einvoice | print")]

_STATES_FI = {
    "waiting": "odottaa",
    "queued": "jonossa",
    "sending": "lähetetään",
    "staged": "tulostuserässä",
    "retry": "uusitaan",
    "delivered": "toimitettu",
    "failed": "epäonnistui",
    "moved": "siirretty",
}


def _channel(value: str) -> str:
    if value not in CHANNELS:
        raise typer.BadParameter(f"unknown channel {value!r}; one of {', '.join(CHANNELS)}")
    return value


def _state(state: str, lang: str) -> str:
    return _STATES_FI.get(state, state) if lang == "fi" else state


def _line(doc: dict[str, Any], lang: str) -> str:
    kind = doc["kind"] + (f" #{doc['reminder_level']}" if doc.get("reminder_level") else "")
    text = (
        f"{doc['id']}  {kind:<13} {doc['number']:<12} {doc['customer_number']:<12} "
        f"{doc['amount']:>10}  {doc['due_date']}  {_state(doc['state'], lang)}"
    )
    if doc.get("error_code"):
        text += f"  [{doc['error_code']}] {doc.get(f'error_message_{lang}') or doc.get('error_reason') or ''}"
    if doc.get("moved_to"):
        text += f"  -> {doc['moved_to']}"
    return text


@app.command()
def summary(lang: Lang = "fi", as_json: Json = False) -> None:
    """Per channel: waiting, on their way, delivered, failed."""
    with client("dispatch", PORT) as c:
        rows = call(c, "GET", "/sending", lang)
    if as_json:
        dump(rows)
        return
    on_way = "matkalla" if lang == "fi" else "on their way"
    for r in rows:
        moving = r["queued"] + r["sending"] + r["staged"] + r["retry"]
        auto = "  (auto)" if r["auto_send"] else ""
        typer.echo(
            f"{r['channel']:<9} {_state('waiting', lang)} {r['waiting']:<7} {on_way} {moving:<7} "
            f"{_state('delivered', lang)} {r['delivered']:<7} {_state('failed', lang)} {r['failed']}"
            + (f"  {_state('moved', lang)} {r['moved']}" if r.get("moved") else "")
            + auto
        )


def _list(channel: str, states: list[str], lang: str, limit: int, as_json: bool, **filters: Any) -> None:
    params: dict[str, Any] = {"state": states, "limit": limit, **{k: v for k, v in filters.items() if v}}
    with client("dispatch", PORT) as c:
        page = call(c, "GET", f"/sending/{_channel(channel)}/documents", lang, params=params)
    if as_json:
        dump(page)
        return
    head = "asiakirjaa" if lang == "fi" else "documents"
    typer.echo(f"{page['total']} {head} ({', '.join(_state(s, lang) for s in states)}, {channel})")
    for doc in page["items"]:
        typer.echo(_line(doc, lang))


@app.command()
def waiting(
    channel: ChannelOpt,
    *,
    kind: Annotated[str | None, typer.Option(help="invoice | corrective | credit-note | reminder")] = None,
    customer: Annotated[str | None, typer.Option(help="customer number")] = None,
    limit: int = 100,
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """Documents waiting to be sent on a channel (seed steps 18–20)."""
    _list(channel, ["waiting"], lang, limit, as_json, kind=kind, customer_number=customer)


@app.command()
def failed(channel: ChannelOpt, limit: int = 100, lang: Lang = "fi", as_json: Json = False) -> None:
    """Documents whose delivery failed, with the reason (fix, then send again)."""
    _list(channel, ["failed"], lang, limit, as_json)


def _save_samples(c: httpx.Client, job_id: str, out: Path, lang: str) -> int:
    out.mkdir(parents=True, exist_ok=True)
    page = call(c, "GET", f"/sending/previews/{job_id}", lang, params={"limit": 1000})
    saved = 0
    for item in page["items"]:
        if item["downloadable"]:
            response = c.get(f"/sending/previews/{job_id}/{item['document_id']}")
            if response.status_code == 200:
                (out / (item["file_name"] or f"{item['document_id']}.bin")).write_bytes(response.content)
                saved += 1
    return saved


@app.command()
def send(
    channel: ChannelOpt,
    *,
    send_all: Annotated[bool, typer.Option("--all", help="every waiting document of the channel")] = False,
    ids: Annotated[list[str] | None, typer.Option("--id", help="a document id; repeatable")] = None,
    preview: Annotated[bool, typer.Option("--preview", help="render them, send nothing")] = False,
    resend_failed: Annotated[bool, typer.Option("--resend-failed", help="take failed documents, not waiting")] = False,
    kind: Annotated[str | None, typer.Option(help="only this kind")] = None,
    customer: Annotated[str | None, typer.Option(help="only this customer")] = None,
    out: Annotated[Path | None, typer.Option(help="--preview: save the samples here")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="follow the job until it ends")] = True,
    actor: Actor = None,
    lang: Lang = "fi",
) -> None:
    """Send a channel's documents (seed steps 20–24), or preview them (step 22)."""
    if send_all == bool(ids):
        raise typer.BadParameter("give --all or --id (one or more)")
    body: dict[str, Any] = {"preview": preview, "resend_failed": resend_failed}
    if send_all:
        body["all"] = True
    else:
        body["document_ids"] = ids
    if kind:
        body["kind"] = kind
    if customer:
        body["customer_number"] = customer
    with client("dispatch", PORT) as c:
        answer = call(c, "POST", f"/sending/{_channel(channel)}/send", lang, json=body, headers=actor_header(actor))
        typer.echo(answer[f"message_{lang}"] if f"message_{lang}" in answer else answer["message_en"])
        job = answer["job"]
        typer.echo(f"{c.base_url.join(job['url'])}")
        if not wait:
            return
        final = follow(c, job["url"], lang)
        if preview:
            problems = call(c, "GET", f"/sending/previews/{job['id']}", lang, params={"problems_only": True})
            for item in problems["items"]:
                typer.echo(f"{item['document_id']}  [{item['code']}] {item.get(f'message_{lang}') or item['reason']}")
            if out is not None:
                saved = _save_samples(c, job["id"], out, lang)
                typer.echo(f"{saved} {'näytettä tallennettu' if lang == 'fi' else 'samples saved'}: {out}")
        elif final["failures"]:
            typer.echo(
                "Epäonnistuneet: billing dispatch failed --channel " + channel
                if lang == "fi"
                else "Failed ones: billing dispatch failed --channel " + channel
            )


@app.command()
def show(document_id: str, lang: Lang = "fi", as_json: Json = False) -> None:
    """One document and its delivery attempts."""
    with client("dispatch", PORT) as c:
        doc = call(c, "GET", f"/documents/{document_id}", lang)
    if as_json:
        dump(doc)
        return
    typer.echo(_line(doc, lang))
    for a in doc["attempts_made"]:
        extra = f" [{a['code']}] {a.get(f'message_{lang}') or a['reason']}" if a["code"] else ""
        resumed = " (resumed)" if a["resumed"] else ""
        to = f" -> {a['address']}" if a.get("address") else ""
        by = f" ({a['actor']})" if a.get("actor") else ""
        typer.echo(f"  #{a['attempt']} {a['started_at']} {a['outcome']}{resumed}{to}{by} {a['receipt'] or ''}{extra}")


@app.command()
def resend(
    document_id: str,
    wait: Annotated[bool, typer.Option("--wait/--no-wait")] = True,
    actor: Actor = None,
    lang: Lang = "fi",
) -> None:
    """Send one failed document again (after its cause is fixed on the customer card): it
    goes to the customer's current billing data."""
    with client("dispatch", PORT) as c:
        answer = call(c, "POST", f"/documents/{document_id}/resend", lang, headers=actor_header(actor))
        typer.echo(answer[f"message_{lang}"])
        if wait:
            follow(c, answer["job"]["url"], lang)


@app.command()
def move(
    document_id: str,
    channel: ChannelOpt,
    actor: Actor = None,
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """Move a failed document to another channel (e-mail refused -> print): it waits
    there, addressed to the customer's current data, for that channel's next send."""
    target = _channel(channel)
    with client("dispatch", PORT) as c:
        answer = call(
            c, "POST", f"/documents/{document_id}/move", lang, json={"channel": target}, headers=actor_header(actor)
        )
    if as_json:
        dump(answer)
        return
    typer.echo(answer[f"message_{lang}"] if f"message_{lang}" in answer else answer["message_en"])
    typer.echo(_line(answer["document"], lang))


def worker(
    channel: Annotated[str, typer.Argument(help="email | einvoice | print")],
    port: Annotated[int | None, typer.Option(help="HTTP port for health and metrics")] = None,
) -> None:
    """Run a channel worker (as many as the channel needs; they share its partitions)."""
    from services.dispatch.worker import run

    run(_channel(channel), port)


def register(main: typer.Typer) -> None:
    """``billing dispatch …`` and ``billing worker <channel>``."""
    main.add_typer(app, name="dispatch")
    main.command("worker")(worker)
