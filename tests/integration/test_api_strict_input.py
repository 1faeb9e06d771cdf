"""Every service's API against outside input it used to take wrongly (issue 16,
"Every service's API"), on real Kafka and PostgreSQL:

- a NUL in a query filter answered 500 (PostgreSQL SQLSTATE 22021), and so did one in a
  JSON string of a body; now 422 with the parameter's path, like any other bad value;
- request bodies took strings for numbers and flags: ``{"level": "1", "all": "yes"}``
  started a reminders job for every candidate; now 422 and no job;
- an IBAN written as people write it (``FI21 1234 5600 0007 85``) was refused as a
  person's e-invoice address; now accepted and stored in its machine form.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.customers.tables import CustomersUnitOfWork
from shared.events.customers import BillingProfileChanged
from shared.events.topics import BILLING_PROFILES, CUSTOMER_UPSERTS
from shared.runtime import Runtime
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, ce_headers, read_topic, wait_for
from tests.support.reminders_runtime import api_client, finished_job, running

pytestmark = pytest.mark.integration


@pytest.fixture
async def reminders_api(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with running(sandbox) as runtime, api_client(runtime) as client:
        yield client


def assert_422_at(response: httpx.Response, loc: list[str | int], what: str) -> dict[str, Any]:
    assert response.status_code == 422, f"{what}: {response.status_code} {response.text[:300]}"
    body = response.json()
    assert set(body) == {"detail"}, what
    assert all({"loc", "msg", "msg_fi", "type"} <= set(item) for item in body["detail"]), what
    found = [item for item in body["detail"] if item["loc"] == loc]
    assert found, f"{what}: {body['detail']}"
    assert "\x00" not in response.text and "\\u0000" not in response.text, f"{what}: the value echoed"
    return dict(found[0])


QUERIES = [
    ("/dead-letters", {"error_code": "\x00"}, ["query", "error_code"]),
    ("/dead-letters", {"topic": "a\x00b"}, ["query", "topic"]),
    ("/jobs", {"kind": "\x00"}, ["query", "kind"]),
    ("/jobs", {"kind": "reminders\x1bcreate"}, ["query", "kind"]),
    ("/reminders/candidates", {"level": 1, "after": "\x00"}, ["query", "after"]),
]


async def test_a_nul_in_a_query_filter_answers_422_naming_the_parameter(reminders_api: httpx.AsyncClient) -> None:
    for path, params, loc in QUERIES:
        error = assert_422_at(await reminders_api.get(path, params=params), loc, f"GET {path} {params!r}")
        assert error["type"] == "invalid_character"
        assert error["msg_fi"] and error["msg"]
    # the same filters without the NUL still answer
    assert (await reminders_api.get("/dead-letters", params={"error_code": "x", "topic": "ab"})).status_code == 200
    assert (await reminders_api.get("/jobs", params={"kind": "x"})).status_code == 200


BODIES: list[tuple[str, bytes, list[str | int]]] = [
    ("/dead-letters/replay", b'{"topic": "a\\u0000b"}', ["body", "topic"]),
    ("/dead-letters/replay", b'{"error_code": "\\ud800"}', ["body", "error_code"]),
    ("/dead-letters/replay", b'{"topic": "t", "error_code": "\\u0007"}', ["body", "error_code"]),
    ("/reminders/create", b'{"level": 1, "invoice_ids": ["I-1", "I\\u0000"]}', ["body", "invoice_ids", 1]),
    ("/reminders/create", b'{"level": 1, "all": true, "\\u0000": 1}', ["body", "\ufffd"]),
]


async def test_a_nul_or_a_lone_surrogate_in_a_json_string_answers_422_and_reaches_no_table(
    sandbox: Sandbox, reminders_api: httpx.AsyncClient
) -> None:
    for path, raw, loc in BODIES:
        response = await reminders_api.post(path, content=raw, headers={"Content-Type": "application/json"})
        assert_422_at(response, loc, f"POST {path} {raw!r}")
    nul_header = await reminders_api.post("/dead-letters/replay", json={"ids": [1]}, headers={"X-Comment": "clerk\x00"})
    assert_422_at(nul_header, ["header", "x-comment"], "a header with a NUL")
    assert await sandbox.scalar("SELECT count(*) FROM jobs WHERE kind = 'reminders.create'") == 0


STRINGS_FOR_NUMBERS_AND_FLAGS: list[tuple[str, dict[str, Any], list[str | int]]] = [
    ("/reminders/create", {"level": "1", "all": "yes"}, ["body", "level"]),
    ("/reminders/create", {"level": "1", "all": "yes"}, ["body", "all"]),
    ("/reminders/create", {"level": 1, "all": 1}, ["body", "all"]),
    ("/reminders/create", {"level": 1.0, "all": True}, ["body", "level"]),
    ("/reminders/create", {"level": 1, "all": True, "dry_run": True}, ["body", "dry_run"]),
    ("/collection/handover", {"all": "true"}, ["body", "all"]),
    ("/dead-letters/replay", {"ids": ["1"]}, ["body", "ids", 0]),
    ("/dead-letters/replay", {"topic": "t", "include_replayed": "yes"}, ["body", "include_replayed"]),
]


async def test_strings_for_numbers_and_flags_answer_422_and_start_no_job(
    sandbox: Sandbox, reminders_api: httpx.AsyncClient
) -> None:
    for path, body, loc in STRINGS_FOR_NUMBERS_AND_FLAGS:
        assert_422_at(await reminders_api.post(path, json=body), loc, f"POST {path} {body!r}")
    assert await sandbox.scalar("SELECT count(*) FROM jobs WHERE kind = 'reminders.create'") == 0
    assert (await reminders_api.get("/jobs", params={"kind": "reminders.create"})).json() == []
    # JSON's own types still start the job, a date as its ISO string
    started = await reminders_api.post("/reminders/create", json={"level": 1, "all": True, "date": "2026-12-01"})
    await finished_job(reminders_api, started)  # 202, and it ends (nothing open: nothing made)
    assert await sandbox.scalar("SELECT count(*) FROM jobs WHERE kind = 'reminders.create'") == 1


PRINTED_IBAN = "FI21 1234 5600 0007 85"
MACHINE_IBAN = "FI2112345600000785"


def person(**overrides: Any) -> dict[str, Any]:
    return {
        "customer_type": "person",
        "name": "Maija Meikäläinen",
        "business_id": None,
        "delivery_channel": "einvoice",
        "einvoice_operator": "NDEAFIHH",
        **overrides,
    }


async def profiles(sandbox: Sandbox, expect: int) -> list[BillingProfileChanged]:
    records = await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=expect, settle=1.0)
    return [BillingProfileChanged.model_validate_json(r.value) for r in records]


async def test_a_printed_iban_is_a_persons_einvoice_address_stored_in_machine_form(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], customers_api: httpx.AsyncClient
) -> None:
    async with Publisher(sandbox.bootstrap) as pub:
        # the CRM writes it in lower case with spaces, as a person gave it
        body = upsert("P-1", **person(einvoice_address="fi21 1234 5600 0007 85", einvoice_operator="ndeafihh"))
        await pub.send(sandbox.topic(CUSTOMER_UPSERTS.name), body, key="P-1", headers=ce_headers(UPSERT_TYPE))
        body = upsert("P-2", **person(einvoice_address=None, delivery_channel="print"))
        await pub.send(sandbox.topic(CUSTOMER_UPSERTS.name), body, key="P-2", headers=ce_headers(UPSERT_TYPE))
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM customers", 2))

    from_crm = (await customers_api.get("/customers/P-1")).json()
    assert from_crm["errors"] == []
    assert from_crm["valid"] is True
    assert from_crm["data"]["einvoice_address"] == MACHINE_IBAN
    assert from_crm["data"]["einvoice_operator"] == "NDEAFIHH"

    # a clerk types it as printed on the bank's letter
    fixed = await customers_api.patch(
        "/customers/P-2", json={"delivery_channel": "einvoice", "einvoice_address": PRINTED_IBAN}
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["valid"] is True
    assert fixed.json()["data"]["einvoice_address"] == MACHINE_IBAN

    published = {p.customer_number: p for p in await profiles(sandbox, expect=3)}
    assert published["P-1"].valid and published["P-1"].snapshot.einvoice_address == MACHINE_IBAN
    assert published["P-2"].valid and published["P-2"].snapshot.einvoice_address == MACHINE_IBAN

    # a wrong check digit in print form stays an error the clerk sees (and is kept as given)
    wrong = await customers_api.patch("/customers/P-2", json={"einvoice_address": "FI21 1234 5600 0007 86"})
    assert wrong.status_code == 200
    assert [e["code"] for e in wrong.json()["errors"]] == ["einvoice_address_invalid"]
    assert wrong.json()["data"]["einvoice_address"] == "FI21 1234 5600 0007 86"


async def test_republish_stores_a_printed_iban_kept_before_in_machine_form(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], customers_api: httpx.AsyncClient
) -> None:
    async with Publisher(sandbox.bootstrap) as pub:
        body = upsert("P-3", **person(einvoice_address=MACHINE_IBAN))
        await pub.send(sandbox.topic(CUSTOMER_UPSERTS.name), body, key="P-3", headers=ce_headers(UPSERT_TYPE))
    await profiles(sandbox, expect=1)
    # a card stored by an earlier version, which kept the address as printed (and flagged it)
    await sandbox.fetch(
        "UPDATE customers SET data = jsonb_set(data, '{einvoice_address}', to_jsonb($1::text)), valid = false"
        " WHERE customer_number = 'P-3'",
        PRINTED_IBAN,
    )
    started = await customers_api.post("/customers/republish-profiles")
    assert started.status_code == 202, started.text

    async def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = (await customers_api.get(started.headers["Location"])).json()
        return job if job["state"] in ("done", "failed") else None

    job = await wait_for(finished)
    assert job["result"] == {"published": 1, "revalidated": 1}
    card = (await customers_api.get("/customers/P-3")).json()
    assert (card["version"], card["valid"], card["data"]["einvoice_address"]) == (2, True, MACHINE_IBAN)
    latest = (await profiles(sandbox, expect=2))[-1]
    assert (latest.version, latest.snapshot.einvoice_address) == (2, MACHINE_IBAN)
