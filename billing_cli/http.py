"""A small HTTP client for the services' APIs (base URL and token from the environment).

The token is the ops user's own credential, ``BILLING_TOKEN`` (``bin/billing`` reads the
local stack's from ``.local/secrets/auth/token-ops``); the services record its name as
who acted. ``BILLING_API_TOKEN``, the one shared token of before, is still read for one
release when ``BILLING_TOKEN`` is not set, with a warning.
"""

from __future__ import annotations

import json
import os
import re
from typing import Annotated, Any

import httpx
import typer


class ServiceClient(httpx.Client):
    """An HTTP client that knows which service it talks to, for the error messages."""

    def __init__(self, service: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service


TOKEN_ENV = "BILLING_TOKEN"  # noqa: S105 (a variable's name)
DEPRECATED_TOKEN_ENV = "BILLING_API_TOKEN"  # noqa: S105
LOCAL_TOKEN_FILE = ".local/secrets/auth/token-ops"  # noqa: S105 (where bin/billing finds the local one)
_warned: list[bool] = []


def token() -> str:
    """The caller's own credential: ``BILLING_TOKEN``, else (deprecated, warned once on
    stderr) ``BILLING_API_TOKEN``; empty when neither is set."""
    own = os.environ.get(TOKEN_ENV, "")
    if own:
        return own
    old = os.environ.get(DEPRECATED_TOKEN_ENV, "")
    if old and not _warned:
        _warned.append(True)
        typer.echo(
            f"warning: {DEPRECATED_TOKEN_ENV} is deprecated and will be ignored in the next release;"
            f" set {TOKEN_ENV} to your own credential's token",
            err=True,
        )
    return old


def client(service: str, default_port: int) -> httpx.Client:
    base = os.environ.get(f"BILLING_{service.upper()}_URL", f"http://127.0.0.1:{default_port}")
    return ServiceClient(service, base_url=base, headers={"Authorization": f"Bearer {token()}"}, timeout=60.0)


Actor = Annotated[
    str | None,
    typer.Option(
        "--actor",
        help="deprecated: the services record your credential's name as who acted; if given, it must be that name",
    ),
]


def actor_header(actor: str | None) -> dict[str, str]:
    """``X-Actor`` only when ``--actor`` was given: the services take who acted from the
    credential and refuse (403) a header naming anyone else."""
    return {"X-Actor": actor} if actor else {}


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
    """A 401: no token, or one the services do not know (unknown, expired, revoked)."""
    service = getattr(c, "service", None) or "the service"
    missing = not (os.environ.get(TOKEN_ENV) or os.environ.get(DEPRECATED_TOKEN_ENV))
    if lang == "fi":
        what = "Tunnus puuttuu" if missing else "Tunnus hylättiin (tuntematon, vanhentunut tai peruttu)"
        return (
            f"{what} ({service}, HTTP 401): aseta {TOKEN_ENV} omaksi tunnukseksesi"
            " (ylläpito tekee sen: billing credentials create NIMI --kind person --scopes …;"
            f" paikallisesti bin/billing lukee sen tiedostosta {LOCAL_TOKEN_FILE})"
        )
    what = "Credential missing" if missing else "Credential rejected (unknown, expired or revoked)"
    return (
        f"{what} ({service}, HTTP 401): set {TOKEN_ENV} to your own credential's token"
        " (an operator makes one: billing credentials create NAME --kind person --scopes …;"
        f" locally, bin/billing reads it from {LOCAL_TOKEN_FILE})"
    )


_SCOPE = re.compile(r"\b((?:customers|invoicing|reminders|dispatch):[a-z]+|metrics|act-for-clerks)\b")


def forbidden(response: httpx.Response, c: httpx.Client, lang: str) -> str | None:
    """A 403 about the credential (a missing scope, an ``X-Actor`` naming someone else):
    what is missing and what to do; None for any other 403 (the service's own message)."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return None
    code = detail.get("code") if isinstance(detail, dict) else None
    service = getattr(c, "service", None) or "the service"
    if code == "forbidden":
        found = _SCOPE.search(str(detail.get("message_en") or ""))
        scope = found.group(1) if found else "?"
        if lang == "fi":
            return (
                f"Ei oikeutta ({service}, HTTP 403): tunnukseltasi puuttuu oikeus {scope}."
                f" Pyydä ylläpitoa lisäämään se tunnukseesi tai käytä tunnusta, jolla se on."
            )
        return (
            f"Not allowed ({service}, HTTP 403): your credential lacks the scope {scope}."
            " Ask an operator to add it to your credential, or use one that has it."
        )
    if code == "actor-header-refused":
        if lang == "fi":
            return (
                f"--actor hylättiin ({service}, HTTP 403): palvelut kirjaavat tekijäksi tunnuksesi nimen;"
                " jätä --actor pois"
            )
        return (
            f"--actor refused ({service}, HTTP 403): the services record your credential's name as"
            " who acted; leave --actor out"
        )
    return None


def call(c: httpx.Client, method: str, path: str, lang: str = "fi", *, json_errors: bool = False, **kwargs: Any) -> Any:
    """One API call: the JSON answer, or the error printed (stderr) and the command ended:
    exit 2 when the service cannot be reached, 1 when it refused (401 included).

    ``json_errors`` (a command's ``--json``): a refusal with a JSON body prints that body
    as the API gave it, on stdout like any ``--json`` answer, still exit 1; one without a
    JSON body (and an unreachable service) is the text on stderr as without it."""
    try:
        response = c.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        typer.echo(unreachable(c, exc, lang), err=True)
        raise typer.Exit(2) from None
    if json_errors and response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        if body is not None:
            dump(body)
            raise typer.Exit(1)
    if response.status_code == 401:
        typer.echo(token_rejected(c, lang), err=True)
        raise typer.Exit(1)
    if response.status_code == 403 and (message := forbidden(response, c, lang)) is not None:
        typer.echo(message, err=True)
        raise typer.Exit(1)
    if response.status_code >= 400:
        typer.echo(describe_error(response, lang), err=True)
        raise typer.Exit(1)
    return response.json()


_LINE = re.compile(r"^line (\d+)(.*)$", re.DOTALL)


def where_in(where: str, lang: str) -> str:
    """Where in a bank file the service found it wrong: ``line 3`` is ``rivi 3`` in
    Finnish (as the console says it); an element path is the file's own words."""
    found = _LINE.match(where)
    return f"rivi {found.group(1)}{found.group(2)}" if found and lang == "fi" else where


def describe_error(response: httpx.Response, lang: str) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, dict) and f"message_{lang}" in detail:
        where = f"{where_in(detail['where'], lang)}: " if isinstance(detail.get("where"), str) else ""
        return f"HTTP {response.status_code}: {where}{detail[f'message_{lang}']}"
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
