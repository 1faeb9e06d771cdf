"""Bad input from outside, over HTTP (issue 6, item 9): every malformed path, query or
body answers 4xx with the field path, never 500, and stores nothing. Each row answered
500, or was accepted and stored, before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.customers.app import http_app
from services.customers.tables import CustomersUnitOfWork
from shared.events.topics import CUSTOMER_UPSERTS
from shared.runtime import Runtime
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.isolation import API_TOKEN, Sandbox
from tests.support.kafka import Publisher, ce_headers, wait_for

pytestmark = pytest.mark.integration

BODIES: list[tuple[dict[str, Any], list[str | int]]] = [
    ({"customer_type": None}, ["body", "customer_type"]),
    ({"delivery_channel": None}, ["body", "delivery_channel"]),
    ({"language": None}, ["body", "language"]),
    ({"no_reminders": None}, ["body", "no_reminders"]),
    ({"no_reminders": "yes"}, ["body", "no_reminders"]),
    ({"consumer": 1}, ["body", "consumer"]),
    ({"consumer": "true"}, ["body", "consumer"]),
    ({"name": "Maija\x00Meikäläinen"}, ["body", "name"]),
    ({"name": "x" * 201}, ["body", "name"]),
    ({"email": "a\x00@example.fi"}, ["body", "email"]),
    ({"business_id": "٠١١٢٠٣٨-٩"}, ["body", "business_id"]),
    ({"business_id": " 0112038-9"}, ["body", "business_id"]),
    ({"business_id": 1120389}, ["body", "business_id"]),
    ({"einvoice_address": "003701120389\n"}, ["body", "einvoice_address"]),
    ({"address": "Mannerheimintie 1"}, ["body", "address"]),
    ({"address": {"street_lines": None}}, ["body", "address", "street_lines"]),
    ({"address": {"street_lines": ["1", "2", "3", "4", "5"]}}, ["body", "address", "street_lines"]),
    ({"address": {"country": None}}, ["body", "address", "country"]),
    ({"address": {"postal_code": 100}}, ["body", "address", "postal_code"]),
    ({"address": {"postal_code": "٠٠١٠٠"}}, ["body", "address", "postal_code"]),
    ({}, ["body"]),
]

QUERIES: list[tuple[str, dict[str, Any], list[str | int]]] = [
    ("/customers", {"q": "Oy\x00"}, ["query", "q"]),
    ("/customers", {"q": "Oy", "limit": -1}, ["query", "limit"]),
    ("/customers", {"q": "Oy", "limit": 0}, ["query", "limit"]),
    ("/customers/invalid", {"offset": -1}, ["query", "offset"]),
    ("/customers/invalid", {"offset": 10**20}, ["query", "offset"]),
    ("/customers/invalid", {"limit": "many"}, ["query", "limit"]),
    ("/customers/C%00", {}, ["path", "customer_number"]),
    ("/customers/C%C3%A4", {}, ["path", "customer_number"]),
    ("/customers/C-1%20", {}, ["path", "customer_number"]),
    ("/customers/" + "9" * 33, {}, ["path", "customer_number"]),
    ("/customers/C%00/history", {}, ["path", "customer_number"]),
]


@pytest.fixture
async def api(customers: Runtime[CustomersUnitOfWork]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=http_app(customers, title="customers (test)"))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://customers", headers={"Authorization": f"Bearer {API_TOKEN}"}
    ) as client:
        yield client


def assert_validation_error(response: httpx.Response, loc: list[str | int], what: str) -> None:
    assert response.status_code == 422, f"{what}: {response.status_code} {response.text[:200]}"
    body = response.json()
    # FastAPI's HTTPValidationError, as every route's OpenAPI document declares it
    assert set(body) == {"detail"}, what
    assert all({"loc", "msg", "type"} <= set(item) for item in body["detail"]), what
    assert loc in [item["loc"] for item in body["detail"]], f"{what}: {body['detail']}"


async def test_malformed_requests_answer_422_with_the_field_path_and_change_nothing(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], api: httpx.AsyncClient
) -> None:
    async with Publisher(sandbox.bootstrap) as pub:
        await pub.send(sandbox.topic(CUSTOMER_UPSERTS.name), upsert("C-1"), key="C-1", headers=ce_headers(UPSERT_TYPE))
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM customers", 1))

    for body, loc in BODIES:
        assert_validation_error(await api.patch("/customers/C-1", json=body), loc, f"PATCH {body!r:.60}")
    for path, params, loc in QUERIES:
        assert_validation_error(await api.get(path, params=params), loc, f"GET {path} {params}")
    bad_header = await api.patch("/customers/C-1", json={"name": "X"}, headers={"X-Comment": "clerk\x01"})
    assert_validation_error(bad_header, ["header", "x-comment"], "a header with a control character")
    other_actor = await api.patch("/customers/C-1", json={"name": "X"}, headers={"X-Actor": "clerk-1"})
    assert other_actor.status_code == 403 and other_actor.json()["detail"]["code"] == "actor-header-refused"
    not_json = await api.patch("/customers/C-1", content=b'{"name": "X"', headers={"Content-Type": "application/json"})
    assert_validation_error(not_json, ["body", 12], "truncated JSON")

    card = (await api.get("/customers/C-1")).json()
    assert card["version"] == 1
    assert card["data"]["no_reminders"] is False
    assert await sandbox.scalar("SELECT count(*) FROM customer_changes") == 1


async def test_name_search_treats_percent_and_underscore_as_characters(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], api: httpx.AsyncClient
) -> None:
    async with Publisher(sandbox.bootstrap) as pub:
        for number, name in (("C-1", "Lehti 100% Oy"), ("C-2", "Lehti 1000 Oy")):
            await pub.send(
                sandbox.topic(CUSTOMER_UPSERTS.name),
                upsert(number, name=name),
                key=number,
                headers=ce_headers(UPSERT_TYPE),
            )
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM customers", 2))
    found = (await api.get("/customers", params={"q": "100%"})).json()
    assert [c["customer_number"] for c in found] == ["C-1"]
    assert (await api.get("/customers", params={"q": "_"})).json() == []
