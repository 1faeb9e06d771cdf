"""A small HTTP client for the services' APIs (base URL and token from the environment)."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import typer


class ServiceClient(httpx.Client):
    """An HTTP client that knows which service it talks to, for the error messages."""

    def __init__(self, service: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service


def client(service: str, default_port: int) -> httpx.Client:
    base = os.environ.get(f"BILLING_{service.upper()}_URL", f"http://127.0.0.1:{default_port}")
    token = os.environ.get("BILLING_API_TOKEN", "")
    return ServiceClient(service, base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60.0)


def unreachable(c: httpx.Client, exc: Exception, lang: str) -> str:
    """The service did not answer (refused, timed out, name unknown): which one, where,
    and what to do about it, in the clerk's language."""
    service = getattr(c, "service", None) or "the service"
    base = str(c.base_url).rstrip("/")
    why = type(exc).__name__
    if lang == "fi":
        return f"Palveluun {service} ei saada yhteyttä ({base}, {why}): onko se käynnissä? Käynnistä: make demo"
    return f"cannot reach {service} at {base} ({why}): is it running? Start it: make demo"


def token_rejected(c: httpx.Client, lang: str) -> str:
    """A 401: the API token is missing or not the one the service was started with."""
    service = getattr(c, "service", None) or "the service"
    missing = not os.environ.get("BILLING_API_TOKEN")
    if lang == "fi":
        what = "API-avain puuttuu" if missing else "API-avain hylättiin"
        return (
            f"{what} ({service}, HTTP 401): aseta BILLING_API_TOKEN palvelun avaimeksi"
            " (paikallisesti bin/billing lukee sen tiedostosta .local/secrets/api-token)"
        )
    what = "API token missing" if missing else "API token rejected"
    return (
        f"{what} ({service}, HTTP 401): set BILLING_API_TOKEN to the service's token"
        " (locally, bin/billing reads it from .local/secrets/api-token)"
    )


def call(c: httpx.Client, method: str, path: str, lang: str = "fi", **kwargs: Any) -> Any:
    """One API call: the JSON answer, or the error printed (stderr) and the command ended:
    exit 2 when the service cannot be reached, 1 when it refused (401 included)."""
    try:
        response = c.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        typer.echo(unreachable(c, exc, lang), err=True)
        raise typer.Exit(2) from None
    if response.status_code == 401:
        typer.echo(token_rejected(c, lang), err=True)
        raise typer.Exit(1)
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
