"""``billing reminders …``: the Invoices tab (seed steps 1-6) from the command line.

billing reminders candidates --level 1            # Hae maksumuistutettavat #1
billing reminders create --level 1 --all          # Valitse kaikki + Luo maksumuistutus #1
billing reminders create --level 2 --invoice inv-1 --invoice inv-2
billing reminders collection                      # still open after the last reminder
billing reminders handover --all                  # hand them over to collection
billing reminders dispute inv-1 --reason "..."    # no reminders while disputed
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer

from billing_cli.http import Actor, actor_header, call, client, dump
from billing_cli.jobs import follow
from shared.money import format_amount

app = typer.Typer(no_args_is_help=True, help="Payment reminders #1 and #2 (maksumuistutus), disputes, collection.")
PORT = 8003
Lang = Annotated[str, typer.Option("--lang", help="fi | en")]
Json = Annotated[bool, typer.Option("--json", help="print the API's JSON")]
Day = Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: the service's today)")]
Level = Annotated[int, typer.Option("--level", "-l", min=1, max=9, help="1 = reminder #1, 2 = #2")]
Invoices = Annotated[list[str] | None, typer.Option("--invoice", "-i", help="an invoice id; repeatable")]
All = Annotated[bool, typer.Option("--all", help="every candidate (select all)")]


def _money(value: str | None, lang: str) -> str:
    if value is None:
        return "-"
    return format_amount(Decimal(value), lang)


def _day(value: str | None, lang: str) -> str:
    if not value:
        return "-"
    if lang != "fi":
        return value
    y, m, d = value.split("-")
    return f"{int(d)}.{int(m)}.{y}"


def row_line(row: dict[str, Any], lang: str) -> str:
    """One invoice of a list: a candidate with its amounts, or left out with why."""
    name = (row.get("customer_name") or "-")[:24]
    head = f"{row['invoice_number']:<12} {row['customer_number']:<10} {name:<24}"
    due = ("eräp." if lang == "fi" else "due") + f" {_day(row['due_date'], lang):<10}"
    days = f"{row['days_overdue']:>4} {'pv' if lang == 'fi' else 'd'}"
    if not row["candidate"]:
        label = "ei muistuteta" if lang == "fi" else "left out"
        return f"{head} {due} {days}  {label}: {row[f'message_{lang}']}"
    words = (
        ("avoin", "kulu", "korvaus", "korko", "yht.")
        if lang == "fi"
        else ("open", "fee", "compensation", "interest", "total")
    )
    amounts = (row["open_amount"], row["fee"], row["compensation"], row["interest"], row["total_due"])
    shown = [(w, a) for w, a in zip(words, amounts, strict=True) if w not in ("korvaus", "compensation") or Decimal(a)]
    parts = [f"{w} {_money(a, lang)}" for w, a in shown]
    return f"{head} {due} {days}  " + "  ".join(parts)


def rate_gap_lines(page: dict[str, Any], lang: str) -> list[str]:
    """The service's warning about half-years without a reference rate (no interest is
    charged for their days), with the row ops add and where; nothing when there is none."""
    lines: list[str] = []
    for gap in page.get("reference_rates_missing") or []:
        head = "HUOM" if lang == "fi" else "WARNING"
        lines.append(f"{head}: {gap[f'message_{lang}']}")
        where = "lisättävä rivi tiedostoon" if lang == "fi" else "the row to add to"
        lines.append(f"  {where} {gap['file']}:")
        lines.extend(f"    {line}" for line in gap["row"].splitlines())
        meanwhile = "tai väliaikaisesti asetus" if lang == "fi" else "or, meanwhile, the setting"
        lines.append(f"  {meanwhile} {gap['setting']}")
    return lines


def _print_list(page: dict[str, Any], lang: str) -> None:
    for row in page["items"]:
        typer.echo(row_line(row, lang))
    totals = page["totals"]
    if totals["excluded_by_reason"]:
        label = "ei muistuteta" if lang == "fi" else "left out"
        typer.echo(f"{label}: " + ", ".join(f"{x['reason']} {x['count']}" for x in totals["excluded_by_reason"]))
    if page["next_after"]:
        more = "lisää: --after" if lang == "fi" else "more: --after"
        typer.echo(f"{more} {page['next_after']}")
    typer.echo(page[f"message_{lang}"])
    for line in rate_gap_lines(page, lang):  # last, where the eye is when the list ends
        typer.echo(line)


@app.command()
def candidates(
    *,
    level: Level = 1,
    on: Day = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 1000,
    after: Annotated[str, typer.Option(help="page after this invoice id")] = "",
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """Candidates for reminder #LEVEL, with what each would be charged, and the near
    invoices left out with why (Hae maksumuistutettavat)."""
    params: dict[str, Any] = {"level": level, "limit": limit, "after": after}
    if on:
        params["date"] = on
    with client("reminders", PORT) as c:
        page = call(c, "GET", "/reminders/candidates", lang, params=params)
    dump(page) if as_json else _print_list(page, lang)


@app.command()
def create(
    *,
    level: Level = 1,
    select_all: All = False,
    invoices: Invoices = None,
    on: Day = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="follow the job until it ends")] = True,
    actor: Actor = None,
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """Create reminder #LEVEL for every candidate (--all) or the given invoices (Luo
    maksumuistutus). A job: shows its progress, then how many were created and skipped."""
    if select_all == bool(invoices):
        raise typer.BadParameter("--all tai --invoice (--all or --invoice)")
    body: dict[str, Any] = {"level": level}
    if select_all:
        body["all"] = True
    else:
        body["invoice_ids"] = invoices
    if on:
        body["date"] = on
    with client("reminders", PORT) as c:
        job = call(c, "POST", "/reminders/create", lang, json=body, headers=actor_header(actor))
        typer.echo(f"{c.base_url.join(job['url'])}")
        if not wait:
            return
        follow(c, job["url"], lang)
        result = call(c, "GET", f"/reminders{job['url']}/summary", lang)
    if as_json:
        dump(result)
        return
    typer.echo(result[f"message_{lang}"])


@app.command()
def summary(job_id: str, lang: Lang = "fi", as_json: Json = False) -> None:
    """What a create job did: created, skipped and why."""
    with client("reminders", PORT) as c:
        result = call(c, "GET", f"/reminders/jobs/{job_id}/summary", lang)
    if as_json:
        dump(result)
        return
    for level in result["levels"]:
        typer.echo(level[f"message_{lang}"])
        for s in level["skipped"]:
            typer.echo(f"  {s['reason']:<24} {s['count']:>6}  {s[f'message_{lang}']}")


@app.command()
def show(invoice_id: str, lang: Lang = "fi", as_json: Json = False) -> None:
    """One open item: what is open, its reminders, the dispute flag."""
    with client("reminders", PORT) as c:
        item = call(c, "GET", f"/invoices/{invoice_id}", lang)
    if as_json:
        dump(item)
        return
    typer.echo(
        f"{item['invoice_number']} {item['customer_number']}  {item['status']}  "
        f"{'avoin' if lang == 'fi' else 'open'} {_money(item['open_amount'], lang)}"
        + ("  " + ("RIITAUTETTU" if lang == "fi" else "DISPUTED") if item["disputed"] else "")
    )
    for r in item["reminders"]:
        typer.echo(
            f"  #{r['level']} {_day(r['reminder_date'], lang)} -> {_day(r['due_date'], lang)}  "
            f"{_money(r['total_due'], lang)}  ({r['actor']})"
        )


@app.command()
def dispute(
    invoice_id: str,
    reason: Annotated[str | None, typer.Option(help="why (shown to other clerks)")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="the dispute is over")] = False,
    actor: Actor = None,
    lang: Lang = "fi",
) -> None:
    """Mark an invoice disputed (no reminders, no hand-over) or clear it."""
    body = {"disputed": not clear, "reason": None if clear else reason}
    with client("reminders", PORT) as c:
        item = call(c, "PUT", f"/invoices/{invoice_id}/dispute", lang, json=body, headers=actor_header(actor))
    state = (
        ("riitautettu" if item["disputed"] else "ei riitaa")
        if lang == "fi"
        else ("disputed" if item["disputed"] else "not disputed")
    )
    typer.echo(f"{item['invoice_number']}: {state}")


@app.command()
def collection(
    *,
    on: Day = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 1000,
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """Invoices still open after the last reminder, with their whole claim."""
    params: dict[str, Any] = {"limit": limit}
    if on:
        params["date"] = on
    with client("reminders", PORT) as c:
        page = call(c, "GET", "/collection/candidates", lang, params=params)
    dump(page) if as_json else _print_list(page, lang)


@app.command()
def handover(
    *,
    select_all: All = False,
    invoices: Invoices = None,
    on: Day = None,
    agency: Annotated[str | None, typer.Option(help="collection agency code")] = None,
    actor: Actor = None,
    lang: Lang = "fi",
    as_json: Json = False,
) -> None:
    """Hand collection candidates over (all, or the given invoices)."""
    if select_all == bool(invoices):
        raise typer.BadParameter("--all tai --invoice (--all or --invoice)")
    body: dict[str, Any] = {"all": True} if select_all else {"invoice_ids": invoices}
    if on:
        body["date"] = on
    if agency:
        body["agency"] = agency
    with client("reminders", PORT) as c:
        result = call(c, "POST", "/collection/handover", lang, json=body, headers=actor_header(actor))
    dump(result) if as_json else typer.echo(result[f"message_{lang}"])
