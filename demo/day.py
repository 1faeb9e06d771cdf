"""The clerk's day (ARCHITECTURE §6, the seed's 25 steps) walked through the CLI.

Each step runs the real ``bin/billing`` command as a subprocess, so what is printed is
exactly what a clerk typing it sees, and every command shown can be typed again as
printed. Python rather than bash for the walk: the counts per step are read from the
APIs (JSON) between the commands, the waits for the services to take a fix are the
same Kafka consumer-group checks as the load's, and the final report is assembled from
both.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from billing_cli.customers import _parse_sets
from demo.kafka import caught_up
from demo.load import REPO, STATE_FILE, api, bootstrap, request
from shared.events import topics

CLI = "bin/billing"
SHOWN_FIXES = 3
"""Broken cards fixed by typing the command (the rest the same way, over the API)."""


class Walk:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.t0 = time.monotonic()
        self.counts: list[tuple[str, str]] = []

    @staticmethod
    def bold(text: str) -> str:
        """Bold on a terminal; plain text in a log file or a pipe."""
        return f"\033[1m{text}\033[0m" if sys.stdout.isatty() else text

    def heading(self, text: str) -> None:
        print(f"\n{self.bold(text)}", flush=True)

    def step(self, numbers: str, text: str) -> None:
        print(f"\n{self.bold(f'{numbers}. {text}')}   [{time.monotonic() - self.t0:.0f} s]", flush=True)

    def cli(self, *args: str, check: bool = True) -> None:
        """Run ``bin/billing ARGS`` as the clerk would type it, showing its output."""
        print(f"$ {CLI} {shlex.join(args)}", flush=True)
        done = subprocess.run([str(REPO / CLI), *args], check=False)  # noqa: S603 (our own CLI, our arguments)
        if check and done.returncode != 0:
            raise SystemExit(f"`{CLI} {shlex.join(args)}` failed (exit {done.returncode})")

    def count(self, what: str, value: Any) -> None:
        self.counts.append((what, str(value)))


def _here(path: Path) -> str:
    """A path for a command run here (the walk's commands run in the repository)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path.resolve())


def _rel(path: Path) -> str:
    """A path as the user can use it where they typed ``make demo``: relative when below."""
    where = Path(os.environ.get("DEMO_CALLER_DIR") or Path.cwd()).resolve()
    try:
        return str(path.resolve().relative_to(where))
    except ValueError:
        return str(path.resolve())


def _reminders(w: Walk, level: int) -> None:
    n = "2–5" if level == 1 else "6"
    w.step(n, f"Payment reminder #{level}: fetch the candidates, select all, create")
    with api("reminders") as c:
        page = request(c, "GET", "/reminders/candidates", params={"level": level, "limit": 1})
    w.cli("reminders", "candidates", "--level", str(level), "--limit", "5")
    w.cli("reminders", "create", "--level", str(level), "--all")
    w.count(f"reminder #{level} candidates (all selected)", page["totals"]["candidates"])


def _requests_total(kind: str, state: str | None = None) -> int:
    with api("invoicing") as c:
        params: dict[str, Any] = {"kind": kind, "limit": 1}
        if state:
            params["state"] = state
        return int(request(c, "GET", "/billing-requests", params=params)["total"])


def _fix_cards(w: Walk, broken: list[dict[str, Any]]) -> None:
    w.step("10–11", "Open each erroneous customer's card and fix the missing data")
    w.cli("customers", "invalid", "--limit", "5")
    for card in broken[:SHOWN_FIXES]:
        w.cli("customers", "update", card["number"], *[a for pair in card["fix"] for a in ("--set", pair)])
    rest = broken[SHOWN_FIXES:]
    with api("customers") as c:
        for card in rest:
            request(c, "PATCH", f"/customers/{card['number']}", json=_parse_sets(card["fix"]))
    print(f"… and {len(rest)} more cards fixed the same way (PATCH /customers/N, as `customers update` does)")
    asyncio.run(caught_up(bootstrap(), "invoicing-profiles", topics.BILLING_PROFILES.name, transactional=True))
    w.cli("customers", "invalid", "--limit", "5")
    w.count("cards fixed", len(broken))


def _billing(w: Walk, kind: str, first: bool, today: str) -> None:
    label = "subscription" if kind == "subscription" else "notice (ad)"
    pdf = w.out / "pdf" / f"{kind}-run-{today}.pdf"
    if first:
        w.step("7–9", f"Fetch the {label} billing requests: the red error notice, rows marked virhe")
    else:
        w.step("17", "Notice management: the same for notice (ad) invoices")
    w.cli("invoicing", "requests", "--kind", kind, "--limit", "5")
    errors = _requests_total(kind, "error")
    if errors:
        w.cli("invoicing", "requests", "--kind", kind, "--state", "error", "--limit", "3")
    w.count(
        f"{label} requests ready / error / cancelled",
        f"{_requests_total(kind, 'ready')} / {errors} / {_requests_total(kind, 'cancelled')}",
    )
    return_pdf = pdf
    if first:
        state = json.loads((w.out / STATE_FILE).read_text())
        _fix_cards(w, state["broken"])
        w.step("12", "Fetch again: the error notice is gone")
        w.cli("invoicing", "requests", "--kind", kind, "--limit", "3")
        w.step("13–14", "Select all, preview on: the invoices as they would be created")
    before = _invoices(kind)
    w.cli("invoicing", "run", "--kind", kind, "--mode", "preview", "--all")
    if first:
        w.step("15–16", "Preview off: run the billing run; the summary, downloaded as PDF")
    w.cli("invoicing", "run", "--kind", kind, "--mode", "confirm", "--all", "--pdf", _here(return_pdf))
    w.count(f"{label} invoices created", _invoices(kind) - before)


def _invoices(kind: str) -> int:
    with api("invoicing") as c:
        page = request(c, "GET", "/invoices", params={"kind": kind, "status": "confirmed", "limit": 1})
    return int(page["total"])


def _send(w: Walk) -> None:
    w.heading("Tab Sending (Lähetys)")
    w.cli("dispatch", "summary")
    for i, channel in enumerate(("email", "einvoice", "print")):
        w.step("18–24" if i == 0 else "25", f"Channel {channel}: the waiting documents, select all, send")
        w.cli("dispatch", "waiting", "--channel", channel, "--limit", "3")
        w.cli("dispatch", "send", "--channel", channel, "--all")
    w.step("–", "Every document delivered: the channels' counts")
    w.cli("dispatch", "summary")


def _files(folder: Path, pattern: str) -> int:
    return sum(1 for p in folder.glob(pattern) if p.is_file()) if folder.exists() else 0


def _report(w: Walk, started_s: float) -> None:
    out = w.out
    state = json.loads((out / STATE_FILE).read_text())
    day_s = time.monotonic() - w.t0
    w.heading("== The demo's report ==")
    print(f"output: {_rel(out)}")
    print(f"  e-mails (.eml, with the PDF invoice attached): {_rel(out / 'mail')}   {_files(out / 'mail', '*.eml')}")
    print(
        f"  Finvoice files:                                {_rel(out / 'einvoice')}   "
        f"{_files(out / 'einvoice', '*.xml')}"
    )
    print(
        f"  print batches (PDF + JSON + CSV per batch):    {_rel(out / 'print')}   {_files(out / 'print', '*.pdf')} PDF"
    )
    print(f"  billing-run summary PDFs:                      {_rel(out / 'pdf')}   {_files(out / 'pdf', '*.pdf')}")
    print(
        f"  the earlier months' deliveries:                {_rel(out / 'history')}   "
        f"{_files(out / 'history' / 'mail', '*.eml')} e-mails, {_files(out / 'history' / 'einvoice', '*.xml')}"
        " Finvoice"
    )
    c = state["counts"]
    print("loaded:")
    print(
        f"  customers {c['customers']} ({c['customers.broken']} broken), earlier invoices {c['history.invoices']}"
        f" (paid {c.get('history.paid', 0)}, partly {c.get('history.partial', 0)}, unpaid"
        f" {c.get('history.unpaid', 0)}), bank payments {state['payments']}, today's requests"
        f" {c.get('requests.subscription', 0)} subscriptions + {c.get('requests.notice', 0)} notices"
        f" ({c.get('requests.cancelled-orders', 0)} cancelled)"
    )
    print("the day:")
    for what, value in w.counts:
        print(f"  {what:<52} {value}")
    total = started_s + state["load_s"] + day_s
    print(
        f"duration: {total:.0f} s in all (reset and start {started_s:.0f} s, load {state['load_s']:.0f} s,"
        f" the day {day_s:.0f} s)"
    )
    print("\nEverything is still running. Try:")
    for cmd in next_commands(Path(os.environ.get("DEMO_CALLER_DIR") or Path.cwd())):
        print(f"  {cmd}")


NEXT = (
    "bin/billing dispatch summary",
    "bin/billing reminders candidates --level 2",
    "bin/billing invoicing invoices --payment-status open --limit 10",
    "bin/billing invoicing payments",
    "bin/billing invoicing runs",
    "bin/billing customers invalid",
    "bin/billing customers search Virtanen",
    "bin/billing jobs list --service invoicing",
    "bin/billing --help",
    "make demo-down",
)
"""What the report suggests, as typed in the repository (tests/unit/test_newcomer_path.py
checks that each runs as printed)."""


def next_commands(where: Path) -> list[str]:
    """:data:`NEXT` as the user can type them where they are: from another folder, the
    repository's ``bin/billing`` by its full path and ``make -C <repo>``."""
    if where.resolve() == REPO:
        return list(NEXT)
    return [
        c.replace("bin/billing", str(REPO / "bin" / "billing"), 1)
        if c.startswith("bin/")
        else f"make -C {REPO}" + c[4:]
        for c in NEXT
    ]


def run(out: Path, started_s: float) -> None:
    w = Walk(out)
    state = json.loads((out / STATE_FILE).read_text())
    w.heading(f"== The clerk's day, {state['today']} (ARCHITECTURE §6) ==")
    w.heading("Tab Invoices (Laskut)")
    w.step("1", "Start from the Invoices tab")
    _reminders(w, 1)
    _reminders(w, 2)
    w.heading("Tab Billing (Laskutus)")
    _billing(w, "subscription", True, state["today"])
    _billing(w, "notice", False, state["today"])
    asyncio.run(caught_up(bootstrap(), "dispatch", topics.INVOICES.name, transactional=True))
    asyncio.run(caught_up(bootstrap(), "dispatch", topics.REMINDERS.name, transactional=True))
    _send(w)
    _report(w, started_s)
    sys.stdout.flush()
