"""What the *Laskujen lähetys / Sending* tab shows, worked out from the dispatch
service's answers.

Pure functions, unit-tested: the channel cards (how many wait), the body a *Lähetä*
button sends, and the confirmation's counts once the send job has ended.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CHANNELS = ("email", "einvoice", "print")
"""The seed's order: e-mail first (step 19), then the others (step 25)."""
ON_THE_WAY = ("queued", "sending", "staged", "retry")
MAX_SELECTION = 10_000
LIST_LIMIT = 500
"""Rows shown in one waiting list; *Valitse kaikki* reaches the rest too."""
_DOCUMENT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class SendError(ValueError):
    """The clerk's send cannot go out as asked; ``key`` names the message."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_channel(value: str) -> str:
    if value not in CHANNELS:
        raise SendError("sending.error.channel")
    return value


@dataclass(frozen=True)
class ChannelCard:
    channel: str
    waiting: int
    on_the_way: int
    delivered: int
    failed: int
    auto_send: bool


def channel_cards(summary: Sequence[Mapping[str, Any]]) -> list[ChannelCard]:
    """One card per channel in the seed's order, whatever order the API answers in;
    a channel the API leaves out shows zeros rather than disappearing."""
    by_channel = {str(row["channel"]): row for row in summary}
    cards = []
    for channel in CHANNELS:
        row = by_channel.get(channel, {})
        cards.append(
            ChannelCard(
                channel=channel,
                waiting=int(row.get("waiting", 0)),
                on_the_way=sum(int(row.get(s, 0)) for s in ON_THE_WAY),
                delivered=int(row.get("delivered", 0)),
                failed=int(row.get("failed", 0)),
                auto_send=bool(row.get("auto_send", False)),
            )
        )
    return cards


def send_body(
    select_all: bool,
    document_ids: Iterable[str],
    *,
    preview: bool,
    resend_failed: bool = False,
    beyond_shown: bool = False,
) -> dict[str, Any]:
    """The body of ``POST /sending/{channel}/send``: the ticked ids; *Valitse kaikki*
    on a list longer than the rows shown sends ``all`` (every waiting document, also
    those not shown)."""
    body: dict[str, Any] = {"preview": preview, "resend_failed": resend_failed}
    if select_all and beyond_shown:
        return {**body, "all": True}
    ids = list(dict.fromkeys(i.strip() for i in document_ids if i.strip()))
    if not ids:
        raise SendError("sending.error.nothing_selected")
    if len(ids) > MAX_SELECTION:
        raise SendError("sending.error.too_many")
    if not all(_DOCUMENT_ID.match(i) for i in ids):
        raise SendError("sending.error.bad_id")
    return {**body, "document_ids": ids}


def checked(value: str | None) -> bool:
    """An HTML checkbox or switch: present and not "0"/"off" means on."""
    return value not in (None, "", "0", "off", "false")


@dataclass(frozen=True)
class SendOutcome:
    """A finished send (or preview) job as the confirmation says it."""

    channel: str
    preview: bool
    state: str
    delivered: int
    failed: int
    queued: int
    rendered: int
    problems: int

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")


def send_outcome(job: Mapping[str, Any]) -> SendOutcome:
    """Counts from the job's result: a send counts ``queued``, ``delivered`` and
    ``failed``; a preview ``rendered`` and ``problems``."""
    result = job.get("result") or {}
    params = job.get("params") or {}
    selection = params.get("selection") or {}
    return SendOutcome(
        channel=str(selection.get("channel", "")),
        preview=bool(params.get("preview", False)),
        state=str(job.get("state", "")),
        delivered=int(result.get("delivered", 0)),
        failed=int(result.get("failed", 0)),
        queued=int(result.get("queued", 0)),
        rendered=int(result.get("rendered", 0)),
        problems=int(result.get("problems", 0)),
    )


def plural(key: str, n: int) -> str:
    """``key.one`` for exactly one, ``key.many`` otherwise (0 too: "0 laskua")."""
    return f"{key}.one" if n == 1 else f"{key}.many"


def sample_kind(content_type: str | None) -> str:
    """What a preview sample is, for its link: PDF, Finvoice XML or an e-mail."""
    if not content_type:
        return "file"
    if "pdf" in content_type:
        return "pdf"
    if "xml" in content_type:
        return "xml"
    if "rfc822" in content_type:
        return "eml"
    return "file"
