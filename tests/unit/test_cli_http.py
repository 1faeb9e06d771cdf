"""The CLI's answer when a service is down or refuses the credential: which service,
where, and what to do (a 403 names the missing scope), in the clerk's language (fi / en),
and the exit code. The token is the caller's own (``BILLING_TOKEN``)."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest
import typer

from billing_cli import http
from billing_cli.http import ServiceClient, call, client


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # released on close: nothing listens there


def _run(c: httpx.Client, lang: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(typer.Exit) as exited:
        call(c, "GET", "/invoices", lang)
    return exited.value.exit_code, capsys.readouterr().err.strip()


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "cannot reach invoicing at {url} (ConnectError): is it running? Start it: make demo"),
        ("fi", "Palveluun invoicing ei saada yhteyttä ({url}, ConnectError): onko se käynnissä? Käynnistä: make demo"),
    ],
)
def test_a_service_that_is_down_is_named_with_its_address_and_the_command_to_start_it(
    lang: str, expected: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("BILLING_INVOICING_URL", url)
    monkeypatch.setenv("BILLING_TOKEN", "t")
    with client("invoicing", 8002) as c:
        code, err = _run(c, lang, capsys)
    assert code == 2
    assert err == expected.format(url=url)


def _refusing(request: httpx.Request) -> httpx.Response:
    # what shared.auth answers to an unknown token: 401 with a coded detail
    assert request.headers["Authorization"] == "Bearer wrong-token"
    return httpx.Response(401, json={"detail": {"code": "unauthorized", "message_fi": "x", "message_en": "x"}})


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "en",
            "Credential rejected (unknown, expired or revoked) (reminders, HTTP 401): set BILLING_TOKEN to your own"
            " credential's token (an operator makes one: billing credentials create NAME --kind person --scopes …;"
            " locally, bin/billing reads it from .local/secrets/auth/token-ops)",
        ),
        (
            "fi",
            "Tunnus hylättiin (tuntematon, vanhentunut tai peruttu) (reminders, HTTP 401): aseta BILLING_TOKEN"
            " omaksi tunnukseksesi (ylläpito tekee sen: billing credentials create NIMI --kind person --scopes …;"
            " paikallisesti bin/billing lukee sen tiedostosta .local/secrets/auth/token-ops)",
        ),
    ],
)
def test_a_rejected_token_says_so_and_where_the_token_comes_from(
    lang: str, expected: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BILLING_TOKEN", "wrong-token")
    kwargs: dict[str, Any] = {
        "base_url": "http://reminders.test",
        "headers": {"Authorization": f"Bearer {http.token()}"},
    }
    with ServiceClient("reminders", transport=httpx.MockTransport(_refusing), **kwargs) as c:
        code, err = _run(c, lang, capsys)
    assert code == 1
    assert err == expected


def test_no_token_at_all_is_called_missing(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("BILLING_TOKEN", raising=False)
    monkeypatch.delenv("BILLING_API_TOKEN", raising=False)
    transport = httpx.MockTransport(lambda request: httpx.Response(401, json={"detail": {"code": "unauthorized"}}))
    with ServiceClient("customers", base_url="http://customers.test", transport=transport) as c:
        code, err = _run(c, "en", capsys)
    assert code == 1
    assert err.startswith("Credential missing (customers, HTTP 401)")


def _forbidding(request: httpx.Request) -> httpx.Response:
    # what shared.auth answers when a route's scope is missing
    detail = {
        "code": "forbidden",
        "message_fi": "Tunnukselta puuttuu oikeus invoicing:bill.",
        "message_en": "The credential lacks the scope invoicing:bill.",
    }
    return httpx.Response(403, json={"detail": detail})


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "en",
            "Not allowed (invoicing, HTTP 403): your credential lacks the scope invoicing:bill."
            " Ask an operator to add it to your credential, or use one that has it.",
        ),
        (
            "fi",
            "Ei oikeutta (invoicing, HTTP 403): tunnukseltasi puuttuu oikeus invoicing:bill."
            " Pyydä ylläpitoa lisäämään se tunnukseesi tai käytä tunnusta, jolla se on.",
        ),
    ],
)
def test_a_missing_scope_is_named_from_the_services_answer(
    lang: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with ServiceClient("invoicing", base_url="http://i.test", transport=httpx.MockTransport(_forbidding)) as c:
        code, err = _run(c, lang, capsys)
    assert (code, err) == (1, expected)


def test_another_403_keeps_the_services_own_message(capsys: pytest.CaptureFixture[str]) -> None:
    detail = {"code": "invoice-locked", "message_fi": "Lasku on lukittu.", "message_en": "The invoice is locked."}
    transport = httpx.MockTransport(lambda request: httpx.Response(403, json={"detail": detail}))
    with ServiceClient("invoicing", base_url="http://i.test", transport=transport) as c:
        assert _run(c, "en", capsys) == (1, "HTTP 403: The invoice is locked.")


def test_the_own_token_wins_and_the_old_shared_one_is_read_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(http, "_warned", [])
    monkeypatch.delenv("BILLING_TOKEN", raising=False)
    monkeypatch.setenv("BILLING_API_TOKEN", "old")
    assert http.token() == "old"
    assert http.token() == "old"
    err = capsys.readouterr().err
    assert err.count("BILLING_API_TOKEN is deprecated") == 1 and "BILLING_TOKEN" in err  # warned once
    monkeypatch.setenv("BILLING_TOKEN", "mine")
    assert http.token() == "mine"
    assert capsys.readouterr().err == ""
    with client("customers", 8001) as c:
        assert c.headers["Authorization"] == "Bearer mine"


def test_actor_is_sent_only_when_given() -> None:
    assert http.actor_header(None) == {}
    assert http.actor_header("ops-anna") == {"X-Actor": "ops-anna"}


def test_json_errors_print_the_apis_json_body_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    body = {"detail": {"code": "bank-file-invalid", "message_fi": "Summatietue ei täsmää.",
                       "message_en": "The sum record does not match.", "where": "line 3"}}  # fmt: skip

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json=body)

    with ServiceClient("invoicing", transport=httpx.MockTransport(answer), base_url="http://x") as c:
        with pytest.raises(typer.Exit) as exited:
            call(c, "POST", "/payments/files/preview", "fi", json_errors=True)
        assert exited.value.exit_code == 1
        out = capsys.readouterr()
        assert json.loads(out.out) == body  # the body as the API gave it: code, both languages, where
        assert out.err == ""
        with pytest.raises(typer.Exit) as exited:
            call(c, "POST", "/payments/files/preview", "fi")  # without --json: one language, the where
        assert exited.value.exit_code == 1
        assert capsys.readouterr().err.strip() == "HTTP 422: rivi 3: Summatietue ei täsmää."
        with pytest.raises(typer.Exit):
            call(c, "POST", "/payments/files/preview", "en")
        assert capsys.readouterr().err.strip() == "HTTP 422: line 3: The sum record does not match."
