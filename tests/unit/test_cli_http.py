"""The CLI's answer when a service is down or refuses the API token: which service,
where, and what to do, in the clerk's language (fi / en), and the exit code."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
import typer

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
    monkeypatch.setenv("BILLING_API_TOKEN", "t")
    with client("invoicing", 8002) as c:
        code, err = _run(c, lang, capsys)
    assert code == 2
    assert err == expected.format(url=url)


def _refusing(request: httpx.Request) -> httpx.Response:
    # what shared.http answers to a wrong token: 401 with a coded detail
    assert request.headers["Authorization"] == "Bearer wrong-token"
    return httpx.Response(401, json={"detail": {"code": "unauthorized", "message_fi": "x", "message_en": "x"}})


@pytest.mark.parametrize(
    ("lang", "token", "expected"),
    [
        (
            "en",
            "wrong-token",
            "API token rejected (reminders, HTTP 401): set BILLING_API_TOKEN to the service's token"
            " (locally, bin/billing reads it from .local/secrets/api-token)",
        ),
        (
            "fi",
            "wrong-token",
            "API-avain hylättiin (reminders, HTTP 401): aseta BILLING_API_TOKEN palvelun avaimeksi"
            " (paikallisesti bin/billing lukee sen tiedostosta .local/secrets/api-token)",
        ),
    ],
)
def test_a_rejected_token_says_so_and_where_the_token_comes_from(
    lang: str, token: str, expected: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BILLING_API_TOKEN", token)
    kwargs: dict[str, Any] = {"base_url": "http://reminders.test", "headers": {"Authorization": f"Bearer {token}"}}
    with ServiceClient("reminders", transport=httpx.MockTransport(_refusing), **kwargs) as c:
        code, err = _run(c, lang, capsys)
    assert code == 1
    assert err == expected


def test_no_token_at_all_is_called_missing(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("BILLING_API_TOKEN", raising=False)
    transport = httpx.MockTransport(lambda request: httpx.Response(401, json={"detail": {"code": "unauthorized"}}))
    with ServiceClient("customers", base_url="http://customers.test", transport=transport) as c:
        code, err = _run(c, "en", capsys)
    assert code == 1
    assert err.startswith("API token missing (customers, HTTP 401)")
