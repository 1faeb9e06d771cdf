"""``billing invoicing payments`` / ``allocate``: payments from the bank, the unmatched
ones allocated to an invoice by hand."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer

from billing_cli.http import Actor, actor_header, call, dump
from billing_cli.invoicing import text
from billing_cli.invoicing.common import Json, Lang, app, echo_lines, invoicing_client, say


@app.command()
def payments(
    *,
    unmatched: Annotated[bool, typer.Option("--unmatched", help="only those waiting for a clerk")] = False,
    status: Annotated[
        Literal["matched", "unmatched", "allocated", "reversed", "reversal"] | None, typer.Option()
    ] = None,
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
    with invoicing_client() as c:
        page = call(c, "GET", "/payments", lang, params=params)
    if as_json:
        dump(page)
        return
    say(lang, f"{page['total']} maksua", f"{page['total']} payment(s)")
    if page["items"]:
        echo_lines(text.payment_rows(page["items"], lang))


@app.command()
def allocate(
    payment_id: Annotated[str, typer.Argument(help="the bank's payment id")],
    invoice: Annotated[int, typer.Option("--invoice", min=1, help="the invoice's number")],
    lang: Lang = "fi",
    actor: Actor = None,
) -> None:
    """Allocate an unmatched payment to an invoice by hand."""
    with invoicing_client() as c:
        p = call(
            c,
            "POST",
            f"/payments/{payment_id}/allocate",
            lang,
            json={"invoice_number": invoice},
            headers=actor_header(actor),
        )
    say(
        lang,
        f"Maksu {p['payment_id']} ({text.money(p['amount'], lang)}) kohdistettu laskulle {invoice}"
        f" (id {p['invoice_id']}).",
        f"Payment {p['payment_id']} ({text.money(p['amount'], lang)}) allocated to invoice {invoice}"
        f" (id {p['invoice_id']}).",
    )


@app.command("apply-reversal")
def apply_reversal(
    reversal_id: Annotated[str, typer.Argument(help="the bank reversal's id (status unmatched, reversal-unknown)")],
    payment: Annotated[str, typer.Option("--payment", help="the payment id it took back")],
    lang: Lang = "fi",
    actor: Actor = None,
) -> None:
    """Apply a bank reversal whose payment was not known to the payment it took back."""
    with invoicing_client() as c:
        p = call(
            c,
            "POST",
            f"/payments/{reversal_id}/apply",
            lang,
            json={"payment_id": payment},
            headers=actor_header(actor),
        )
    say(
        lang,
        f"Peruutus {p['payment_id']} ({text.money(p['amount'], lang)}) kohdistettu maksuun {payment}.",
        f"Reversal {p['payment_id']} ({text.money(p['amount'], lang)}) applied to payment {payment}.",
    )
