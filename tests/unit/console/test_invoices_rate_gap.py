"""The Invoices tab warns where reminders are made when a half-year has no reference
rate: the reminders service's warning (fi/en) with the row ops add, and nothing when
the table covers today. The reminders service is a stand-in answering as its
``GET /reminders/reference-rates`` does (the real answer is tested in
``tests/integration/test_reminders_rate_gap.py``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from console.app import create_app
from console.auth import hash_password
from console.config import ConsoleSettings

PASSWORD = "salasana ei ole tämä"
FILE = "services/reminders/domain/data/reference_rates.toml"
GAP = {
    "start": "2026-07-01",
    "end": "2026-12-31",
    "half_year": "2026 H2",
    "file": FILE,
    "row": '[[rate]]\nstart = 2026-07-01\nend = 2026-12-31\nreference = "…"\nbasis = "announced"\n',
    "setting": """REMINDERS_EXTRA_REFERENCE_RATES='{"2026-07-01": "…"}'""",
    "message_fi": "Viitekorko puuttuu ajalta 1.7.–31.12.2026: 23.11.2026 tehtävät maksumuistutukset eivät peri.",
    "message_en": "No reference rate for 2026-07-01..2026-12-31 (2026 H2): reminders made on 2026-11-23 do not.",
}


def _console(missing: list[dict[str, Any]] | None) -> TestClient:
    """A console whose reminders service answers ``missing`` (None: it is down)."""

    def reminders(request: httpx.Request) -> httpx.Response:
        if missing is None:
            return httpx.Response(503, json={"detail": "down"})
        assert request.url.path == "/reminders/reference-rates"
        return httpx.Response(200, json={"date": "2026-11-23", "covered_until": "2026-06-30", "missing": missing})

    settings = ConsoleSettings(users=[f"anna:{hash_password(PASSWORD)}"], login_delay_s=0)
    return TestClient(create_app(settings, transports={"reminders": httpx.MockTransport(reminders)}))


def _signed_in(client: TestClient) -> TestClient:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    client.post("/login", data={"username": "anna", "password": PASSWORD, "csrf_token": token.group(1)})
    return client


@pytest.fixture
def with_gap() -> Iterator[TestClient]:
    with _console([GAP]) as client:
        yield _signed_in(client)


def test_the_tab_warns_of_the_missing_half_year_in_finnish_with_the_row_for_ops(with_gap: TestClient) -> None:
    html = with_gap.get("/invoices").text
    warning = html[html.index('data-rate-gap="2026 H2"') :]
    warning = warning[: warning.index("</div>")]
    assert "Viitekorko puuttuu (2026 H2): viivästyskorkoa ei peritä" in warning
    assert "Viitekorko puuttuu ajalta 1.7.–31.12.2026: 23.11.2026 tehtävät maksumuistutukset" in warning
    assert f"Ylläpidolle: lisättävä rivi tiedostoon {FILE}" in warning
    assert "start = 2026-07-01\nend = 2026-12-31" in warning  # the row, as it is to be added
    # where reminders are made: in the reminders card, before the buttons that fetch them
    assert html.index('id="reminders"') < html.index("data-rate-gap") < html.index("data-fetch-level")


def test_the_same_warning_in_english(with_gap: TestClient) -> None:
    with_gap.get("/lang/en?next=/invoices")
    html = with_gap.get("/invoices").text
    assert "Reference rate missing (2026 H2): no penalty interest charged" in html
    assert "No reference rate for 2026-07-01..2026-12-31 (2026 H2): reminders made on 2026-11-23" in html
    assert f"For ops: the row to add to {FILE}" in html


@pytest.mark.parametrize("missing", [[], None], ids=["covered", "service-down"])
def test_no_warning_when_the_table_covers_today_or_the_service_does_not_answer(
    missing: list[dict[str, Any]] | None,
) -> None:
    with _console(missing) as client:
        answer = _signed_in(client).get("/invoices")
    assert answer.status_code == 200
    assert "data-rate-gap" not in answer.text
    assert "data-fetch-level" in answer.text  # the tab itself is there
