"""``billing invoicing run`` / ``summary`` / ``runs``: billing runs (seed steps 13-17)
as jobs followed with a progress bar, their summaries and summary PDFs."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import typer

from billing_cli.http import Actor, actor_header, call, describe_error, dump
from billing_cli.invoicing import text
from billing_cli.invoicing.common import (
    MAX_SELECTION,
    Json,
    Kind,
    Lang,
    OptionalKind,
    Pdf,
    app,
    echo_lines,
    invoicing_client,
    iso_day,
    say,
)
from billing_cli.jobs import started


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
    say(
        lang,
        f"PDF tallennettu: {dest} ({len(response.content)} tavua)",
        f"PDF saved: {dest} ({len(response.content)} bytes)",
    )


def _print_summary(c: httpx.Client, run_id: str, lang: str, pdf: Path | None) -> None:
    run_ = call(c, "GET", f"/billing-runs/{run_id}", lang)
    if run_["summary"] is None:
        say(
            lang,
            f"Laskutusajo {run_id} on kesken. Seuraa: bin/billing jobs show {run_id} --service invoicing --wait",
            f"Billing run {run_id} has not finished. Follow it:"
            f" bin/billing jobs show {run_id} --service invoicing --wait",
        )
        raise typer.Exit(1)
    echo_lines(text.summary_lines(run_, lang))
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
    if (day := iso_day(up_to)) is not None:
        body["up_to"] = day
    with invoicing_client() as c:
        job = call(c, "POST", "/billing-runs", lang, json=body, headers=actor_header(actor))
        started(c, job, lang, wait=wait)
        if not wait:
            say(
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
    with invoicing_client() as c:
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
    with invoicing_client() as c:
        page = call(c, "GET", "/billing-runs", lang, params=params)
    if as_json:
        dump(page)
        return
    echo_lines(text.run_rows(page["items"], lang))
