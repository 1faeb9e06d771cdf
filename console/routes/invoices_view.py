"""What the *Laskut / Invoices* tab shows, worked out from the services' answers.

Pure functions (no HTTP, no templates) so the rules a clerk relies on are unit-tested:
which selection a *Luo maksumuistutus* button sends, what the confirmation counts,
which search filters reach the invoicing API, and how "sent by which channel and when"
is read from the dispatch service's documents and attempts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

LEVELS = (1, 2)
"""The reminder levels the tab offers (the reminders API allows 1..9; the seed uses two)."""
MAX_SELECTION = 10_000
"""The reminders API takes at most this many invoice ids in one call."""
LIST_LIMIT = 1000
"""Rows shown in one candidate list; *Valitse kaikki* reaches every candidate beyond it."""

_INVOICE_ID = re.compile(r"^[!-~]{1,40}$")
_CUSTOMER = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_NUMBER = re.compile(r"^[0-9]{1,10}$")
SEARCH_CHOICES: dict[str, tuple[str, ...]] = {
    "status": ("draft", "confirmed"),
    "kind": ("subscription", "notice"),
    "document_type": ("invoice", "corrective", "credit-note"),
    "payment_status": ("open", "partially-paid", "paid", "overpaid", "credited"),
}


class SelectionError(ValueError):
    """The clerk's selection cannot be sent; ``key`` names the message in the locale."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_level(value: str | None) -> int:
    """The level of a button or link; anything else is refused (not silently #1)."""
    try:
        level = int(value or "")
    except ValueError:
        raise SelectionError("invoices.error.level") from None
    if level not in LEVELS:
        raise SelectionError("invoices.error.level")
    return level


def selection_body(select_all: bool, invoice_ids: Iterable[str], *, beyond_shown: bool = False) -> dict[str, Any]:
    """The part of a create / hand-over body that says which invoices.

    The ticked ids, in order, each once. *Valitse kaikki* on a list longer than the
    rows shown sends ``all`` instead (every candidate on the service's date, also
    those not shown); on a complete list it is exactly the ticked rows, so the
    confirmation counts what the clerk saw, not the near ones left out. Nothing ticked
    is the clerk's mistake, said so, rather than an empty call."""
    if select_all and beyond_shown:
        return {"all": True}
    ids = list(dict.fromkeys(i.strip() for i in invoice_ids if i.strip()))
    if not ids:
        raise SelectionError("invoices.error.nothing_selected")
    if len(ids) > MAX_SELECTION:
        raise SelectionError("invoices.error.too_many")
    if not all(_INVOICE_ID.match(i) for i in ids):
        raise SelectionError("invoices.error.bad_id")
    return {"invoice_ids": ids}


@dataclass(frozen=True)
class Listing:
    """A candidate list split as the clerk reads it: who gets a reminder (with what
    it would charge) and who is left out (with why)."""

    candidates: list[dict[str, Any]]
    excluded: list[dict[str, Any]]
    totals: dict[str, Any]
    more: bool
    """More candidates than shown: *Valitse kaikki* still takes them all."""


def split_listing(listing: Mapping[str, Any]) -> Listing:
    rows = list(listing.get("items", []))
    return Listing(
        candidates=[r for r in rows if r.get("candidate")],
        excluded=[r for r in rows if not r.get("candidate")],
        totals=dict(listing.get("totals", {})),
        more=listing.get("next_after") is not None,
    )


@dataclass(frozen=True)
class Skipped:
    reason: str
    count: int
    message_fi: str
    message_en: str


@dataclass(frozen=True)
class Outcome:
    """What a finished create job did for one level: the confirmation's numbers."""

    level: int
    created: int
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def skipped_count(self) -> int:
        return sum(s.count for s in self.skipped)


def reminder_outcome(summary: Mapping[str, Any], level: int) -> Outcome:
    """The confirmation of *Luo maksumuistutus #level* from the job's summary
    (``/reminders/jobs/{id}/summary``). A level the summary does not mention created
    nothing and skipped nothing (the job had no candidates)."""
    for entry in summary.get("levels", []):
        if int(entry["level"]) == level:
            return Outcome(
                level=level,
                created=int(entry["created"]),
                skipped=[
                    Skipped(str(s["reason"]), int(s["count"]), str(s["message_fi"]), str(s["message_en"]))
                    for s in entry.get("skipped", [])
                ],
            )
    return Outcome(level=level, created=0)


def search_params(query: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The invoicing search's query from the search form: only filters the API
    accepts, and the names of the ones the clerk typed wrong (shown, not sent)."""
    params: dict[str, str] = {}
    wrong: list[str] = []
    number = (query.get("number") or "").strip().replace(" ", "")
    if number:
        if _NUMBER.match(number) and int(number) >= 1:
            params["number"] = str(int(number))
        else:
            wrong.append("number")
    customer = (query.get("customer_number") or "").strip()
    if customer:
        if _CUSTOMER.match(customer):
            params["customer_number"] = customer
        else:
            wrong.append("customer_number")
    for name, allowed in SEARCH_CHOICES.items():
        value = (query.get(name) or "").strip()
        if value:
            if value in allowed:
                params[name] = value
            else:
                wrong.append(name)
    return params, wrong


def page_offset(value: str | None, limit: int) -> int:
    """A page number from the query as the API's offset (page 1 = offset 0)."""
    try:
        page = int(value or "1")
    except ValueError:
        page = 1
    return (min(max(page, 1), 10_000) - 1) * limit


@dataclass(frozen=True)
class Delivery:
    """One document about an invoice as the dispatch service holds it: by which
    channel, in what state, when it was delivered, and each attempt."""

    document_id: str
    channel: str
    kind: str
    reminder_level: int | None
    state: str
    delivered_at: datetime | None
    last_attempt_at: datetime | None
    error_reason: str | None
    receipt: str | None
    attempts: list[dict[str, Any]]


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def deliveries(documents: Sequence[Mapping[str, Any]]) -> list[Delivery]:
    """The invoice page's "sent by which channel and when", oldest first.

    ``documents`` are the dispatch service's document details (``/documents/{id}``,
    with ``attempts_made``). A document that has not been delivered shows its last
    attempt's time (or none: still waiting)."""
    out: list[Delivery] = []
    for doc in documents:
        attempts = sorted(doc.get("attempts_made") or [], key=lambda a: int(a["attempt"]))
        last = attempts[-1] if attempts else None
        out.append(
            Delivery(
                document_id=str(doc["id"]),
                channel=str(doc["channel"]),
                kind=str(doc["kind"]),
                reminder_level=doc.get("reminder_level"),
                state=str(doc["state"]),
                delivered_at=_when(doc.get("delivered_at")),
                last_attempt_at=_when((last or {}).get("finished_at") or (last or {}).get("started_at")),
                error_reason=doc.get("error_reason"),
                receipt=doc.get("receipt"),
                attempts=attempts,
            )
        )

    def order(d: Delivery) -> tuple[int, str]:
        when = d.delivered_at or d.last_attempt_at
        return (0, when.isoformat()) if when else (1, d.document_id)

    return sorted(out, key=order)
