"""What the *Pankin aineistot / Bank files* page shows and checks before it calls the
invoicing service: pure functions, unit-tested.

- :func:`check_upload`: an empty file or one over the size limit is refused here, with a
  message in the clerk's language, before anything is sent on.
- :func:`file_name_of`: the name the browser gave, cut to a plain file name.
- :func:`outcomes`: a preview's entries counted by what will happen to them.
- :func:`refusal`: where in the file the service found it malformed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from console import i18n

ACCEPT = ".xml,.txt,.dat"
"""The file picker's filter: camt.054 is XML, the reference-payment record file is text
(banks name it .txt or .dat). Only a hint: the service reads the format from the content."""
OUTCOMES = ("matched", "unmatched", "reversal", "repeated")
MAX_NAME = 255
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
_LINE = re.compile(r"^line (\d+)(.*)$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class UploadRefused(ValueError):
    """The upload is not sent on; ``key`` names the message, ``values`` fill it."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)


def size_text(size: int, lang: str) -> str:
    """``size`` bytes as the limit is told to the clerk: MiB to a tenth (``1,5 Mt``),
    or whole KiB under one MiB (``512 kt``)."""
    if size >= 1024 * 1024:
        mib = (Decimal(size) / (1024 * 1024)).quantize(Decimal("0.1"), ROUND_DOWN)
        return i18n.translate(lang, "bank_files.mb", size=i18n.format_number(mib, lang))
    return i18n.translate(lang, "bank_files.kb", size=size // 1024)


def check_upload(data: bytes, max_bytes: int, lang: str) -> str:
    """The SHA-256 (hex) of an upload the service may see; :class:`UploadRefused` for
    an empty one or one over ``max_bytes`` (``data`` may hold one byte more than the
    limit: the route reads no further)."""
    if not data:
        raise UploadRefused("bank_files.error.empty")
    if len(data) > max_bytes:
        raise UploadRefused("bank_files.error.too_big", {"limit": size_text(max_bytes, lang)})
    return hashlib.sha256(data).hexdigest()


def file_name_of(name: str | None) -> str:
    """The last part of the name the browser sent (some send a whole Windows path),
    without control characters, at most :data:`MAX_NAME` characters; never empty."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _UNSAFE.sub("", base).strip()
    return base[:MAX_NAME] or "bank-file"


def outcomes(entries: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many entries of a preview each outcome has (every outcome named, zeros too;
    an outcome the console does not know is counted under its own name)."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for entry in entries:
        outcome = str(entry.get("outcome") or "")
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def refusal(extra: Mapping[str, Any], lang: str) -> str | None:
    """Where the service found the file malformed, in ``lang``, or None when it did not
    say. The parser names a line (``line 4``) or an element path (kept as it is: it
    names the file's own XML elements)."""
    where = extra.get("where")
    if where is None or where in ("", "file"):  # "file": the file as a whole
        return None
    if isinstance(where, int) and not isinstance(where, bool):
        return i18n.translate(lang, "bank_files.line", line=where)
    text = _UNSAFE.sub("", str(where))[:500]
    if found := _LINE.match(text):
        return i18n.translate(lang, "bank_files.line", line=found.group(1)) + found.group(2)
    return text
