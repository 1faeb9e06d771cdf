"""A small HTTP client for the services' APIs (base URL and token from the environment)."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import typer


def client(service: str, default_port: int) -> httpx.Client:
    base = os.environ.get(f"BILLING_{service.upper()}_URL", f"http://127.0.0.1:{default_port}")
    token = os.environ.get("BILLING_API_TOKEN", "")
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60.0)


def call(c: httpx.Client, method: str, path: str, lang: str = "fi", **kwargs: Any) -> Any:
    try:
        response = c.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach {c.base_url}: {type(exc).__name__}", err=True)
        raise typer.Exit(2) from None
    if response.status_code >= 400:
        typer.echo(describe_error(response, lang), err=True)
        raise typer.Exit(1)
    return response.json()


def describe_error(response: httpx.Response, lang: str) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, dict) and f"message_{lang}" in detail:
        return f"HTTP {response.status_code}: {detail[f'message_{lang}']}"
    if isinstance(detail, list) and all(isinstance(e, dict) and "loc" in e for e in detail):
        # a 422: each field path with its message in the clerk's language
        parts = []
        for e in detail:
            message = e.get("msg_fi") if lang == "fi" and e.get("msg_fi") else e.get("msg")
            parts.append(f"{'.'.join(str(p) for p in e['loc'])}: {message}")
        return f"HTTP {response.status_code}: " + "; ".join(parts)
    return f"HTTP {response.status_code}: {json.dumps(detail, ensure_ascii=False)}"


def dump(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
