"""The one place a URL that came from outside (a query, a form, a header) becomes a
redirect or a link: :func:`safe_url` lets through a path on this console and nothing else.

The rule: a local path, i.e. printable ASCII only (no control character, no whitespace:
browsers drop TAB, CR and LF inside a URL, so ``/<TAB>/evil.example`` would become
``//evil.example``), no backslash (browsers read ``\\`` as ``/``), no scheme, no host,
not ``//``, no ``.``/``..`` segment, at most :data:`MAX_LENGTH` characters; and the path
once percent-decoded (repeatedly, so ``%252F`` counts as ``/``) must pass the same test,
so a server or proxy that decodes it cannot turn it into another host either.

:func:`same_origin_path` turns a full URL a browser sent about this console (``Referer``,
htmx's ``HX-Current-URL``) into such a path, or None when it names another origin.
"""

from __future__ import annotations

from typing import overload
from urllib.parse import unquote, urlsplit

MAX_LENGTH = 2000
"""Longer targets are refused (no page of the console needs more)."""

_DECODE_ROUNDS = 4


def _printable_ascii(text: str) -> bool:
    return all("!" <= ch <= "~" for ch in text)


def _safe_path(path: str) -> bool:
    """``path`` (already split off the query) is an absolute path on this host."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return False
    return not any(segment in (".", "..") for segment in path.split("/"))


def is_safe(target: str) -> bool:
    """True when ``target`` is a path on this console (see the module's rule)."""
    if not target or len(target) > MAX_LENGTH or not _printable_ascii(target) or "\\" in target:
        return False
    if not target.startswith("/") or target.startswith("//"):  # urlsplit reads ///x as the path /x
        return False
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not _safe_path(parts.path):
        return False
    decoded = parts.path
    for _ in range(_DECODE_ROUNDS):
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
        # a decoded space or non-ASCII letter is a harmless path character; a decoded
        # control character, backslash or leading // is not
        if any(ch < " " or ch == "\x7f" for ch in decoded) or not _safe_path(decoded):
            return False
    else:
        return False  # still encoded after several rounds: nobody needs that
    return True


@overload
def safe_url(target: str | None) -> str: ...
@overload
def safe_url(target: str | None, default: str) -> str: ...
@overload
def safe_url(target: str | None, default: None) -> str | None: ...


def safe_url(target: str | None, default: str | None = "/billing") -> str | None:
    """``target`` when it is a path on this console, else ``default`` (the Billing tab;
    None for an optional link, which the template then leaves out). Every redirect and
    every link built from input goes through here."""
    if target is not None and is_safe(target):
        return target
    return default


def same_origin_path(url: str | None, base_url: str) -> str | None:
    """The path (and query) of ``url`` when it is on the origin of ``base_url`` (the
    console's own, e.g. ``str(request.base_url)``) and safe; else None."""
    if not url or len(url) > MAX_LENGTH or not _printable_ascii(url):
        return None
    parts, base = urlsplit(url), urlsplit(base_url)
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or not parts.scheme:
        return None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return safe_url(path, None)
