"""``docker compose ps --format json`` read back: Compose v2 prints one JSON array, later
versions one object a line; both become a list of rows."""

from __future__ import annotations

import json
from typing import Any


def parse_ps(out: str) -> list[dict[str, Any]]:
    out = out.strip()
    if not out:
        return []
    if out.startswith("["):
        rows: list[dict[str, Any]] = json.loads(out)
        return rows
    return [json.loads(line) for line in out.splitlines() if line.strip()]
