"""Paging of the console's lists: a list never just stops at its page size; it says
"Näytetään 501–1 000 / 2 456" and links the other pages (``partials/pager.html``).

Two kinds of lists: those the service pages by offset (dead letters, the sending lists,
drafts) and those it pages by a cursor, the last id shown (the reminder and collection
candidates: ``after``); for a cursor the pager can go on and back to the start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query

from console.urls import safe_url

MAX_PAGE = 100_000
Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1 = the first page")]
"""A list's ``page`` in a query: a page number that is none is the clerk's 422, not page 1."""


@dataclass(frozen=True)
class Pager:
    """What ``partials/pager.html`` shows: rows ``first``..``last`` of ``total`` and the
    links (``previous``, ``next``, ``start``) to the other pages. ``target``: the element
    a link replaces with htmx (a list inside a tab), or None for a plain link (a page)."""

    first: int
    last: int
    total: int
    links: list[tuple[str, str]] = field(default_factory=list)
    target: str | None = None


def offset_of(page: int, limit: int) -> int:
    return (page - 1) * limit


def _url(path: str, params: Mapping[str, object]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None and v != ""}, doseq=True)
    # the values came from the query: the link goes through the one safe-URL check
    return safe_url(f"{path}?{query}" if query else path, path)


def by_offset(
    path: str,
    params: Mapping[str, object],
    *,
    page: int,
    limit: int,
    shown: int,
    total: int,
    name: str = "page",
) -> Pager | None:
    """The pager of an offset-paged list, or None when every row is on this page."""
    if page == 1 and shown >= total:
        return None
    first = offset_of(page, limit) + 1
    links = []
    if page > 1:
        links.append(("previous", _url(path, {**params, name: page - 1})))
    if offset_of(page, limit) + shown < total:
        links.append(("next", _url(path, {**params, name: page + 1})))
    return Pager(first=first if shown else 0, last=first + shown - 1 if shown else 0, total=total, links=links)


def by_cursor(
    path: str,
    params: Mapping[str, object],
    *,
    start: int,
    shown: int,
    total: int,
    next_after: str | None,
    target: str,
) -> Pager | None:
    """The pager of a cursor-paged list (``after`` the last id shown); ``start``: how
    many rows the pages before this one showed. None when every row is on this page."""
    if start == 0 and next_after is None:
        return None
    links = []
    if start > 0:
        links.append(("start", _url(path, params)))
    if next_after is not None:
        links.append(("next", _url(path, {**params, "after": next_after, "start": start + shown})))
    first = start + 1 if shown else start
    return Pager(first=first, last=start + shown, total=total, links=links, target=target)
