"""``billing invoicing …``: the clerk's Billing tab (*Laskutus*, seed steps 7-17) and the
invoice life cycle (seed 004) from the command line, over the invoicing HTTP API.

The clerk's day, as commands:

- ``requests --kind subscription``: fetch billing requests (*Hae laskutuspyynnöt*); the
  red error notice first, then the list, each erroneous row (*virhe*) with its reasons
  and the command that opens the customer's card;
- ``run --kind subscription --mode preview --all``: the billing run (*laskutusajo*) over
  all ready requests (*Valitse kaikki*) or a selection, with a progress bar, then its
  summary; ``--pdf`` saves the summary PDF;
- ``invoices`` / ``show`` / ``edit-line`` / ``delete`` / ``confirm``: drafts and invoices;
- ``corrective``: a corrective invoice (*hyvityslasku*) of a confirmed one;
- ``payments`` / ``allocate``: payments, the unmatched ones allocated by hand.

Every write sends ``X-Actor`` (``--actor``, by default the OS user name) for the audit
trail. A refusal (4xx) prints the service's fi/en message and exits 1; a service that
cannot be reached exits 2 (:func:`billing_cli.http.call`).
"""

from __future__ import annotations

import getpass
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import typer

from billing_cli import invoicing_text as text
from billing_cli.http import call, client, describe_error, dump
from billing_cli.jobs import started

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
Actor = Annotated[str | None, typer.Option("--actor", help="who does this (audit trail); default: your OS user name")]
Kind = Annotated[Literal["subscription", "notice"], typer.Option("--kind", help="subscription | notice")]
OptionalKind = Annotated[
    Literal["subscription", "notice"] | None,
    typer.Option("--kind", help="subscription | notice"),
]
InvoiceId = Annotated[int, typer.Argument(min=1, help="the invoice's id (the first column of `invoices`)")]
Pdf = Annotated[Path | None, typer.Option("--pdf", help="save the summary as a PDF here", dir_okay=False)]


def _actor(actor: str | None) -> dict[str, str]:
    """The ``X-Actor`` header: the given name, else the OS user (``cli`` when the
    system has no name for the user, e.g. a container without a passwd entry)."""
    if actor is None:
        try:
            actor = getpass.getuser()
        except (KeyError, OSError):
            actor = "cli"
    return {"X-Actor": actor}


def _say(lang: str, fi: str, en: str) -> None:
    typer.echo(fi if lang == "fi" else en)


def _echo(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)


def _day(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return text.parse_day(value).isoformat()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--up-to") from None


def _invoicing() -> httpx.Client:
    return client("invoicing", PORT)


# --- billing requests ------------------------------------------------------------------


@app.command("requests")
def fetch_requests(
    kind: Kind,
    *,
    state: Annotated[
        Literal["ready", "error", "cancelled", "draft", "invoiced", "non-chargeable"] | None,
        typer.Option(
            help="only this state (default: ready and error)",
        ),
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
    for name, value in (("state", state), ("customer_number", customer), ("order_id", order), ("up_to", _day(up_to))):
        if value is not None:
            params[name] = value
    with _invoicing() as c:
        page = call(c, "GET", "/billing-requests", "en" if lang == "en" else "fi", params=params)
    if as_json:
        dump(page)
        return
    notice = text.notice_lines(page["notice"], lang)
    for line in notice:
        typer.secho(line, fg="red", bold=True)
    if notice:
        typer.echo()
    _echo(text.request_lines(page, lang, card_command=CARD_COMMAND))
    if page["total"] > offset + len(page["items"]):
        _say(
            lang,
            f"… ja {page['total'] - offset - len(page['items'])} lisää (--offset / --limit)",
            f"… and {page['total'] - offset - len(page['items'])} more (--offset / --limit)",
        )


# --- billing runs ------------------------------------------------------------------------


def _selection(all_: bool, request_ids: list[str] | None, from_file: Path | None) -> list[str] | None:
    """None for all ready requests, else the selected ids (from ``--request-id`` and
    ``--from-file`` together). A run needs an explicit choice: ``--all`` is the
    clerk's *Valitse kaikki*."""
    ids = list(request_ids or [])
    if from_file is not None:
        try:
            ids += text.read_ids(from_file.read_text(encoding="utf-8").splitlines())
        except OSError as exc:
            raise typer.BadParameter(f"cannot read {from_file}: {exc.strerror}", param_hint="--from-file") from None
    ids = list(dict.fromkeys(ids))
    if all_ and ids:
        raise typer.BadParameter("give --all or a selection (--request-id / --from-file), not both")
    if not all_ and not ids:
        raise typer.BadParameter("choose the requests: --all, --request-id ID (repeatable) or --from-file FILE")
    if len(ids) > MAX_SELECTION:
        raise typer.BadParameter(f"{len(ids)} request ids: one run takes at most {MAX_SELECTION}")
    return None if all_ else ids


def _download_pdf(c: httpx.Client, run_id: str, lang: str, dest: Path) -> None:
    """Save the run's summary PDF (seed step 16)."""
    try:
        response = c.get(f"/billing-runs/{run_id}/summary.pdf", params={"language": lang})
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach {c.base_url}: {type(exc).__name__}", err=True)
        raise typer.Exit(2) from None
    if response.status_code >= 400:
        typer.echo(describe_error(response, lang), err=True)
        raise typer.Exit(1)
    dest.write_bytes(response.content)
    _say(
        lang,
        f"PDF tallennettu: {dest} ({len(response.content)} tavua)",
        f"PDF saved: {dest} ({len(response.content)} bytes)",
    )


def _print_summary(c: httpx.Client, run_id: str, lang: str, pdf: Path | None) -> None:
    run_ = call(c, "GET", f"/billing-runs/{run_id}", lang)
    if run_["summary"] is None:
        _say(
            lang,
            f"Laskutusajo {run_id} on kesken. Seuraa: bin/billing jobs show {run_id} --service invoicing --wait",
            f"Billing run {run_id} has not finished. Follow it:"
            f" bin/billing jobs show {run_id} --service invoicing --wait",
        )
        raise typer.Exit(1)
    _echo(text.summary_lines(run_, lang))
    if pdf is not None:
        _download_pdf(c, run_id, lang, pdf)


@app.command()
def run(
    kind: Kind,
    mode: Annotated[
        Literal["preview", "draft", "confirm"],
        typer.Option(
            "--mode",
            help="preview (nothing saved) | draft (proforma, editable) | confirm (issued)",
        ),
    ],
    *,
    all_: Annotated[bool, typer.Option("--all", help="all ready requests of the kind (Valitse kaikki)")] = False,
    request_ids: Annotated[
        list[str] | None, typer.Option("--request-id", help="a selected request; repeatable")
    ] = None,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="selected request ids, one a line", dir_okay=False)
    ] = None,
    up_to: Annotated[str | None, typer.Option("--up-to", help="invoice dates up to (2026-11-23 or 23.11.2026)")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="follow the run until it ends")] = True,
    pdf: Pdf = None,
    lang: Lang = "fi",
    actor: Actor = None,
) -> None:
    """Run a billing run (Suorita laskutusajo): progress bar, then the summary.

    There is no default mode: say --mode preview to look first, --mode confirm to invoice."""
    ids = _selection(all_, request_ids, from_file)
    if pdf is not None and not wait:
        raise typer.BadParameter("--pdf needs the run to finish: drop --no-wait (or use `summary RUN --pdf` later)")
    body: dict[str, Any] = {"kind": kind, "mode": mode}
    if ids is not None:
        body["request_ids"] = ids
    if (day := _day(up_to)) is not None:
        body["up_to"] = day
    with _invoicing() as c:
        job = call(c, "POST", "/billing-runs", lang, json=body, headers=_actor(actor))
        started(c, job, lang, wait=wait)
        if not wait:
            _say(
                lang,
                f"Kooste ajon jälkeen: bin/billing invoicing summary {job['id']}",
                f"Summary once it has finished: bin/billing invoicing summary {job['id']}",
            )
            return
        _print_summary(c, job["id"], lang, pdf)


def _run_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a run id (a UUID, from `runs`)") from None


@app.command()
def summary(
    run_id: Annotated[str, typer.Argument(help="the run's id (from `run` or `runs`)")],
    pdf: Pdf = None,
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """A billing run's summary (Kooste); --pdf saves it as the printable PDF."""
    rid = _run_id(run_id)
    with _invoicing() as c:
        if as_json:
            dump(call(c, "GET", f"/billing-runs/{rid}", lang))
            return
        _print_summary(c, rid, lang, pdf)


@app.command()
def runs(
    kind: OptionalKind = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """Billing runs, newest first."""
    params: dict[str, Any] = {"limit": limit}
    if kind is not None:
        params["kind"] = kind
    with _invoicing() as c:
        page = call(c, "GET", "/billing-runs", lang, params=params)
    if as_json:
        dump(page)
        return
    _echo(text.run_rows(page["items"], lang))


# --- invoices ------------------------------------------------------------------------------


@app.command()
def invoices(
    *,
    status: Annotated[Literal["draft", "confirmed"] | None, typer.Option()] = None,
    kind: OptionalKind = None,
    customer: Annotated[str | None, typer.Option("--customer", help="one customer's invoices")] = None,
    number: Annotated[int | None, typer.Option("--number", min=1, help="the invoice with this number")] = None,
    document_type: Annotated[Literal["invoice", "corrective", "credit-note"] | None, typer.Option("--type")] = None,
    payment_status: Annotated[
        Literal["open", "partially-paid", "paid", "overpaid", "credited"] | None,
        typer.Option(),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """Search invoices and drafts (open one with `show ID`)."""
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    for name, value in (
        ("status", status),
        ("kind", kind),
        ("customer_number", customer),
        ("number", number),
        ("document_type", document_type),
        ("payment_status", payment_status),
    ):
        if value is not None:
            params[name] = value
    with _invoicing() as c:
        page = call(c, "GET", "/invoices", lang, params=params)
    if as_json:
        dump(page)
        return
    _say(lang, f"{page['total']} laskua", f"{page['total']} invoice(s)")
    if page["items"]:
        _echo(text.invoice_rows(page["items"], lang))


@app.command()
def show(invoice_id: InvoiceId, lang: Lang = "fi", as_json: Json = False) -> None:
    """One invoice: lines, VAT, references as printed, payments, corrective invoices."""
    with _invoicing() as c:
        inv = call(c, "GET", f"/invoices/{invoice_id}", lang)
    dump(inv) if as_json else _echo(text.invoice_lines(inv, lang))


@app.command("edit-line")
def edit_line(
    invoice_id: InvoiceId,
    line_no: Annotated[int, typer.Argument(min=1, help="the line's number (Nro)")],
    *,
    quantity: Annotated[str | None, typer.Option("--quantity", help="the new quantity (0 = credit it fully)")] = None,
    chargeable: Annotated[
        bool | None, typer.Option("--chargeable/--non-chargeable", help="bill the line, or not")
    ] = None,
    lang: Lang = "fi",
    actor: Actor = None,
) -> None:
    """Change a draft's line (or set a corrective draft's new quantity)."""
    body: dict[str, Any] = {}
    if quantity is not None:
        try:
            body["quantity"] = str(text.parse_quantity(quantity))
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--quantity") from None
    if chargeable is not None:
        body["chargeable"] = chargeable
    if not body:
        raise typer.BadParameter("give --quantity, --chargeable or --non-chargeable")
    with _invoicing() as c:
        inv = call(c, "PATCH", f"/invoices/{invoice_id}/lines/{line_no}", lang, json=body, headers=_actor(actor))
    _echo(text.invoice_lines(inv, lang))


@app.command()
def delete(invoice_id: InvoiceId, lang: Lang = "fi", actor: Actor = None) -> None:
    """Delete a draft; its billing requests return to ready."""
    with _invoicing() as c:
        out = call(c, "DELETE", f"/invoices/{invoice_id}", lang, headers=_actor(actor))
    n = out["requests_released"]
    _say(
        lang,
        f"Luonnos {out['deleted']} poistettu; {n} laskutuspyyntöä palasi valmiiksi.",
        f"Draft {out['deleted']} deleted; {n} billing request(s) back to ready.",
    )


def _issued(inv: dict[str, Any], lang: str) -> str:
    w = text.WORDS[lang]
    doc = w.document_types.get(inv["document_type"], inv["document_type"])
    ref = f", {w.reference.lower()} {inv['reference_printed']}" if inv.get("reference_printed") else ""
    head = "Vahvistettu" if lang == "fi" else "Confirmed"
    return f"{head}: {doc} {inv['number']} (id {inv['id']}), {w.gross.lower()} {text.money(inv['gross'], lang)}{ref}"


@app.command()
def confirm(
    invoice_ids: Annotated[list[int] | None, typer.Argument(help="draft ids")] = None,
    *,
    all_of_kind: Annotated[
        Literal["subscription", "notice"] | None, typer.Option("--all-of-kind", help="every draft of a kind")
    ] = None,
    lang: Lang = "fi",
    actor: Actor = None,
) -> None:
    """Confirm drafts (one-way: numbered, issued, read-only afterwards).

    With several, each refusal is printed and the command exits 1; the rest are confirmed."""
    if bool(invoice_ids) == (all_of_kind is not None):
        raise typer.BadParameter("give draft ids or --all-of-kind, not both")
    with _invoicing() as c:
        if invoice_ids and len(invoice_ids) == 1:
            inv = call(c, "POST", f"/invoices/{invoice_ids[0]}/confirm", lang, headers=_actor(actor))
            typer.echo(_issued(inv, lang))
            return
        body: dict[str, Any] = {"ids": invoice_ids} if invoice_ids else {"all_of_kind": all_of_kind}
        out = call(c, "POST", "/invoices/confirm", lang, json=body, headers=_actor(actor))
    _say(
        lang,
        f"Vahvistettu {out['confirmed']}, veloituksettomia {out['non_chargeable']}, hylätty {len(out['refused'])}",
        f"Confirmed {out['confirmed']}, non-chargeable {out['non_chargeable']}, refused {len(out['refused'])}",
    )
    for inv in out["invoices"]:
        typer.echo("  " + _issued(inv, lang))
    for invoice_id, why in sorted(out["refused"].items(), key=lambda kv: int(kv[0])):
        typer.echo(f"  id {invoice_id}: {why.get(f'message_{lang}', why.get('code'))}", err=True)
    if out["refused"]:
        raise typer.Exit(1)


@app.command()
def corrective(
    invoice_id: InvoiceId,
    return_mode: Annotated[
        Literal["ready", "non-chargeable"],
        typer.Option(
            "--return",
            help="the quantity taken off: billed again later (ready) or dropped (non-chargeable)",
        ),
    ] = "ready",
    lang: Lang = "fi",
    actor: Actor = None,
) -> None:
    """A corrective draft (hyvityslasku) of a confirmed invoice.

    It holds the invoice's lines at their current quantities: set the new ones with
    `edit-line` (0 = credit the line fully), then `confirm` it."""
    with _invoicing() as c:
        draft = call(
            c,
            "POST",
            f"/invoices/{invoice_id}/corrective",
            lang,
            json={"return_mode": return_mode},
            headers=_actor(actor),
        )
    _echo(text.invoice_lines(draft, lang))
    d = draft["id"]
    _say(
        lang,
        f"Aseta uudet määrät: bin/billing invoicing edit-line {d} RIVI --quantity MÄÄRÄ (0 = hyvitä koko rivi);"
        f" sitten: bin/billing invoicing confirm {d}",
        f"Set the new quantities: bin/billing invoicing edit-line {d} LINE --quantity Q (0 = credit the whole line);"
        f" then: bin/billing invoicing confirm {d}",
    )


# --- payments ------------------------------------------------------------------------------


@app.command()
def payments(
    *,
    unmatched: Annotated[bool, typer.Option("--unmatched", help="only those waiting for a clerk")] = False,
    status: Annotated[Literal["matched", "unmatched", "allocated"] | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """Payments from the bank; --unmatched lists those to allocate by hand."""
    if unmatched and status not in (None, "unmatched"):
        raise typer.BadParameter("--unmatched and --status disagree")
    params: dict[str, Any] = {"limit": limit}
    if unmatched or status is not None:
        params["status"] = "unmatched" if unmatched else status
    with _invoicing() as c:
        page = call(c, "GET", "/payments", lang, params=params)
    if as_json:
        dump(page)
        return
    _say(lang, f"{page['total']} maksua", f"{page['total']} payment(s)")
    if page["items"]:
        _echo(text.payment_rows(page["items"], lang))


@app.command()
def allocate(
    payment_id: Annotated[str, typer.Argument(help="the bank's payment id")],
    invoice: Annotated[int, typer.Option("--invoice", min=1, help="the invoice's number")],
    lang: Lang = "fi",
    actor: Actor = None,
) -> None:
    """Allocate an unmatched payment to an invoice by hand."""
    with _invoicing() as c:
        p = call(
            c, "POST", f"/payments/{payment_id}/allocate", lang, json={"invoice_number": invoice}, headers=_actor(actor)
        )
    _say(
        lang,
        f"Maksu {p['payment_id']} ({text.money(p['amount'], lang)}) kohdistettu laskulle {invoice}"
        f" (id {p['invoice_id']}).",
        f"Payment {p['payment_id']} ({text.money(p['amount'], lang)}) allocated to invoice {invoice}"
        f" (id {p['invoice_id']}).",
    )
