"""The missing 2026 H2 reference rate, as the reminders service tells its clients (real
Kafka and PostgreSQL): which half-year, what it means for reminders made on the day,
and where ops add the Bank of Finland's figure; the candidate and collection lists
carry the same warning, and the stopgap setting closes the gap.

The service's date is 1.12.2026 (``tests.support.reminders_runtime.TODAY``); the rate
table ends on 30.6.2026, so 1.7.-31.12.2026 has no rate.
"""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from services.reminders.domain.rates import RateDataError, load_rates
from services.reminders.runtime import RemindersRuntime
from tests.support.isolation import Sandbox
from tests.support.reminders_runtime import api_client, running

pytestmark = pytest.mark.integration

FILE = "services/reminders/domain/data/reference_rates.toml"


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with running(sandbox) as runtime, api_client(runtime) as client:
        yield client


async def test_the_missing_half_year_is_named_with_what_ops_add_where(api: httpx.AsyncClient) -> None:
    answer = await api.get("/reminders/reference-rates")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["date"], body["covered_until"]) == ("2026-12-01", "2026-06-30")
    (gap,) = body["missing"]
    assert (gap["start"], gap["end"], gap["half_year"], gap["file"]) == ("2026-07-01", "2026-12-31", "2026 H2", FILE)
    assert gap["message_fi"].startswith(
        "Viitekorko puuttuu ajalta 1.7.–31.12.2026: 1.12.2026 tehtävät maksumuistutukset eivät peri viivästyskorkoa"
    )
    assert (
        f"Ylläpito: lisää Suomen Pankin ilmoittama viitekorko 1.7.–31.12.2026 rivinä tiedostoon {FILE}"
        in (gap["message_fi"])
    )
    assert gap["message_en"].startswith(
        "No reference rate for 2026-07-01..2026-12-31 (2026 H2): reminders made on 2026-12-01 charge no penalty"
    )
    assert f"Bank of Finland's reference rate for 2026 H2 as a row in {FILE}" in gap["message_en"]
    # the row to add is a rate row of the file's own shape, for that half-year...
    (row,) = tomllib.loads(gap["row"])["rate"]
    assert (row["start"], row["end"], row["basis"]) == (date(2026, 7, 1), date(2026, 12, 31), "announced")
    # ...whose figure is left for the Bank of Finland's: as given, the table refuses it (never guessed)
    with pytest.raises(RateDataError):
        load_rates(gap["row"])
    assert gap["setting"] == """REMINDERS_EXTRA_REFERENCE_RATES='{"2026-07-01": "…"}'"""


async def test_no_gap_up_to_a_date_the_table_covers(api: httpx.AsyncClient) -> None:
    body = (await api.get("/reminders/reference-rates", params={"date": "2026-06-30"})).json()
    assert body["missing"] == []
    after = (await api.get("/reminders/reference-rates", params={"date": "2027-01-04"})).json()
    assert [g["half_year"] for g in after["missing"]] == ["2026 H2", "2027 H1"]


async def test_the_candidate_and_collection_lists_carry_the_same_warning(api: httpx.AsyncClient) -> None:
    rates = (await api.get("/reminders/reference-rates")).json()["missing"]
    for level in (1, 2):
        listing = (await api.get("/reminders/candidates", params={"level": level})).json()
        assert listing["reference_rates_missing"] == rates  # also with no candidate at all
    collection = (await api.get("/collection/candidates")).json()
    assert collection["reference_rates_missing"] == rates
    earlier = (await api.get("/reminders/candidates", params={"level": 1, "date": "2026-03-31"})).json()
    assert earlier["reference_rates_missing"] == []


async def test_the_stopgap_setting_closes_the_gap(sandbox: Sandbox) -> None:
    runtime: RemindersRuntime
    async with running(sandbox, extra_reference_rates={"2026-07-01": "2.0"}) as runtime, api_client(runtime) as api:
        body = (await api.get("/reminders/reference-rates")).json()
        assert (body["missing"], body["covered_until"]) == ([], "2026-12-31")
        listing = (await api.get("/reminders/candidates", params={"level": 1})).json()
        assert listing["reference_rates_missing"] == []


async def test_the_missing_rate_is_a_gauge_the_alert_reads(sandbox: Sandbox) -> None:
    metric = 'billing_reminders_reference_rates_missing{service="reminders"}'
    async with running(sandbox) as runtime, api_client(runtime) as api:
        assert f"{metric} 1.0" in (await api.get("/metrics")).text  # 2026 H2
    async with running(sandbox, extra_reference_rates={"2026-07-01": "2.0"}) as runtime, api_client(runtime) as api:
        assert f"{metric} 0.0" in (await api.get("/metrics")).text


async def test_a_bad_date_is_refused(api: httpx.AsyncClient) -> None:
    for bad in ("2026-13-01", "1999-12-31", "x"):
        answer = await api.get("/reminders/reference-rates", params={"date": bad})
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.json()["detail"][0]["loc"] == ["query", "date"]
