"""``billing invoicing invoices`` / ``show`` / ``edit-line`` / ``remove-line`` / ``delete`` /
``confirm`` / ``corrective``: drafts and invoices (seed 004's life cycle). Confirm is one-way."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer

from billing_cli.http import Actor, actor_header, call, dump
from billing_cli.invoicing import text
from billing_cli.invoicing.common import (
    InvoiceId,
    Json,
    Lang,
    OptionalKind,
    app,
    echo_lines,
    invoicing_client,
    say,
)
from billing_cli.invoicing.words import WORDS


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
    with invoicing_client() as c:
        page = call(c, "GET", "/invoices", lang, params=params)
    if as_json:
        dump(page)
        return
    say(lang, f"{page['total']} laskua", f"{page['total']} invoice(s)")
    if page["items"]:
        echo_lines(text.invoice_rows(page["items"], lang))


@app.command()
def show(invoice_id: InvoiceId, lang: Lang = "fi", as_json: Json = False) -> None:
    """One invoice: lines, VAT, references as printed, payments, corrective invoices."""
    with invoicing_client() as c:
        inv = call(c, "GET", f"/invoices/{invoice_id}", lang)
    dump(inv) if as_json else echo_lines(text.invoice_lines(inv, lang))


@app.command("edit-line")
def edit_line(
    invoice_id: InvoiceId,
    line_no: Annotated[int, typer.Argument(min=1, help="the line's number (Nro)")],
    *,
    quantity: Annotated[
        str | None,
        typer.Option(
            "--quantity",
            help="the new quantity (corrective draft: 0 = reverse the line, above the original bills the difference)",
        ),
    ] = None,
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
    with invoicing_client() as c:
        inv = call(c, "PATCH", f"/invoices/{invoice_id}/lines/{line_no}", lang, json=body, headers=actor_header(actor))
    echo_lines(text.invoice_lines(inv, lang))


@app.command("remove-line")
def remove_line(
    invoice_id: InvoiceId,
    line_no: Annotated[int, typer.Argument(min=1, help="the line's number (Nro)")],
    *,
    lang: Lang = "fi",
    actor: Actor = None,
) -> None:
    """Remove a line that needs no correction from a corrective draft (the invoice keeps
    it as billed)."""
    with invoicing_client() as c:
        inv = call(c, "DELETE", f"/invoices/{invoice_id}/lines/{line_no}", lang, headers=actor_header(actor))
    echo_lines(text.invoice_lines(inv, lang))


@app.command()
def delete(invoice_id: InvoiceId, lang: Lang = "fi", actor: Actor = None) -> None:
    """Delete a draft; its billing requests return to ready."""
    with invoicing_client() as c:
        out = call(c, "DELETE", f"/invoices/{invoice_id}", lang, headers=actor_header(actor))
    n = out["requests_released"]
    say(
        lang,
        f"Luonnos {out['deleted']} poistettu; {n} laskutuspyyntöä palasi valmiiksi.",
        f"Draft {out['deleted']} deleted; {n} billing request(s) back to ready.",
    )


def _issued(inv: dict[str, Any], lang: str) -> str:
    w = WORDS[lang]
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
    with invoicing_client() as c:
        if invoice_ids and len(invoice_ids) == 1:
            inv = call(c, "POST", f"/invoices/{invoice_ids[0]}/confirm", lang, headers=actor_header(actor))
            typer.echo(_issued(inv, lang))
            if inv.get("dropped"):
                typer.echo("  " + inv["dropped"][f"message_{lang}"])
            return
        body: dict[str, Any] = {"ids": invoice_ids} if invoice_ids else {"all_of_kind": all_of_kind}
        out = call(c, "POST", "/invoices/confirm", lang, json=body, headers=actor_header(actor))
    say(
        lang,
        f"Vahvistettu {out['confirmed']}, veloituksettomia {out['non_chargeable']}, hylätty {len(out['refused'])}",
        f"Confirmed {out['confirmed']}, non-chargeable {out['non_chargeable']}, refused {len(out['refused'])}",
    )
    for inv in out["invoices"]:
        typer.echo("  " + _issued(inv, lang))
    for dropped in out.get("dropped", []):
        typer.echo("  " + dropped[f"message_{lang}"])
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
    """A corrective draft (hyvityslasku) of a confirmed invoice (seed 004).

    It holds every line of the invoice at quantity 0, the original quantity beside it:
    as it is, it reverses the whole invoice. `remove-line` the lines needing no
    correction, set new quantities with `edit-line` (less or more than the original;
    more bills the difference), then `confirm` it."""
    with invoicing_client() as c:
        draft = call(
            c,
            "POST",
            f"/invoices/{invoice_id}/corrective",
            lang,
            json={"return_mode": return_mode},
            headers=actor_header(actor),
        )
    echo_lines(text.invoice_lines(draft, lang))
    d = draft["id"]
    say(
        lang,
        f"Kaikki määrät ovat 0: sellaisenaan luonnos hyvittää koko laskun."
        f" Poista rivit, joita ei korjata: bin/billing invoicing remove-line {d} RIVI;"
        f" aseta uusi määrä: bin/billing invoicing edit-line {d} RIVI --quantity MÄÄRÄ"
        f" (alkuperäistä suurempi laskuttaa erotuksen); sitten: bin/billing invoicing confirm {d}",
        f"Every quantity is 0: as it is, the draft credits the whole invoice."
        f" Remove the lines needing no correction: bin/billing invoicing remove-line {d} LINE;"
        f" set a new quantity: bin/billing invoicing edit-line {d} LINE --quantity Q"
        f" (above the original bills the difference); then: bin/billing invoicing confirm {d}",
    )
