"""Customers service against real Kafka and PostgreSQL: the clerk's fix of a card
(seed steps 9-12) and what the other services see of it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.customers.tables import CustomersUnitOfWork
from shared.events.customers import BillingProfileChanged
from shared.events.topics import BILLING_PROFILES, CUSTOMER_UPSERTS
from shared.runtime import Runtime
from tests.support.credentials import as_clerk
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, ce_headers, read_topic, wait_for

pytestmark = pytest.mark.integration


async def profiles(sandbox: Sandbox, expect: int, settle: float = 1.0) -> list[BillingProfileChanged]:
    records = await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=expect, settle=settle)
    return [BillingProfileChanged.model_validate_json(r.value) for r in records]


async def publish(sandbox: Sandbox, *bodies: dict[str, object]) -> None:
    async with Publisher(sandbox.bootstrap) as pub:
        for body in bodies:
            number = str(body["customer_number"])
            await pub.send(sandbox.topic(CUSTOMER_UPSERTS.name), body, key=number, headers=ce_headers(UPSERT_TYPE))


async def test_fixed_card_publishes_a_new_valid_profile(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], customers_api: httpx.AsyncClient
) -> None:
    await publish(
        sandbox,
        upsert(
            "C-1", delivery_channel="print", address={"street_lines": ["Kotikatu 1"], "postal_code": "331", "city": ""}
        ),
    )
    (first,) = await profiles(sandbox, expect=1)
    assert not first.valid
    assert [(e.code, e.field) for e in first.errors] == [
        ("postal_code_invalid", "address.postal_code"),
        ("city_missing", "address.city"),
    ]
    invalid = (await customers_api.get("/customers/invalid")).json()
    assert invalid["total"] == 1
    assert invalid["items"][0]["customer_number"] == "C-1"

    response = await customers_api.patch(
        "/customers/C-1", json={"address": {"postal_code": "33100", "city": "Tampere"}}, headers=as_clerk("clerk-7")
    )
    assert response.status_code == 200
    assert response.json()["valid"] is True
    assert response.json()["data"]["address"]["street_lines"] == ["Kotikatu 1"]  # the rest kept

    later = await profiles(sandbox, expect=2)
    assert [(p.version, p.valid) for p in later] == [(1, False), (2, True)]
    assert later[1].snapshot.address is not None and later[1].snapshot.address.city == "Tampere"
    assert (await customers_api.get("/customers/invalid")).json()["total"] == 0
    history = (await customers_api.get("/customers/C-1/history")).json()
    assert [(h["version"], h["actor"]) for h in history] == [(1, "event:urn:test:crm"), (2, "clerk-7")]
    assert history[1]["changes"]["address"][1]["postal_code"] == "33100"


async def test_same_content_under_new_event_ids_makes_one_version(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork]
) -> None:
    await publish(sandbox, upsert("C-2"), upsert("C-2"), upsert("C-2"))
    await wait_for(lambda: customers.consumer_stats[0].records == 3)
    assert [p.version for p in await profiles(sandbox, expect=1, settle=2.0)] == [1]
    assert await sandbox.scalar("SELECT version FROM customers WHERE customer_number = 'C-2'") == 1


async def test_upsert_failing_the_contract_is_dead_lettered_with_the_field_and_next_one_processed(
    sandbox: Sandbox,
    customers: Runtime[CustomersUnitOfWork],
    customers_api: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    bad = {"customer_number": "C-3", "customer": {"customer_type": "alien", "name": "Maija Meikäläinen"}}
    await publish(sandbox, bad, upsert("C-4"))
    dlq = await read_topic(sandbox.bootstrap, sandbox.topic(CUSTOMER_UPSERTS.dead_letter), expect=1, settle=2.0)
    assert len(dlq) == 1
    reason = dict(dlq[0].headers)["dlq_reason"].decode()
    assert "customer.customer_type" in reason
    assert "Maija" not in reason
    assert [p.customer_number for p in await profiles(sandbox, expect=1)] == ["C-4"]
    assert (await customers_api.get("/customers/C-3")).status_code == 404
    listed = (await customers_api.get("/dead-letters")).json()
    assert [d["error_code"] for d in listed["items"]] == ["invalid-data"]
    assert "dead letter" in caplog.text  # it was logged ...
    assert "Maija" not in caplog.text  # ... without the personal data in it
    assert "laskut@example.fi" not in caplog.text


async def test_api_refuses_missing_token_and_malformed_requests_with_field_errors(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], customers_api: httpx.AsyncClient
) -> None:
    await publish(sandbox, upsert("C-5"))
    await wait_for(lambda: sandbox.scalar("SELECT count(*) FROM customers"))

    no_token = await customers_api.get("/customers/C-5", headers={"Authorization": ""})
    assert no_token.status_code == 401
    wrong_token = await customers_api.get("/customers/C-5", headers={"Authorization": "Bearer nope"})
    assert wrong_token.status_code == 401

    unknown_field = await customers_api.patch("/customers/C-5", json={"shoe_size": 44})
    assert unknown_field.status_code == 422
    assert unknown_field.json()["detail"][0]["loc"] == ["body", "shoe_size"]
    bad_channel = await customers_api.patch("/customers/C-5", json={"delivery_channel": "fax"})
    assert bad_channel.status_code == 422
    assert bad_channel.json()["detail"][0]["loc"] == ["body", "delivery_channel"]
    empty = await customers_api.patch("/customers/C-5", json={})
    assert empty.status_code == 422
    missing = await customers_api.patch("/customers/C-404", json={"name": "X"})
    assert missing.status_code == 404
    assert missing.json()["detail"]["message_fi"].startswith("Asiakasta C-404")
    assert (await customers_api.get("/customers/C-5")).json()["version"] == 1  # nothing changed


async def test_search_by_name_and_number(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], customers_api: httpx.AsyncClient
) -> None:
    await publish(sandbox, upsert("C-6", name="Lehtitalo Oy"), upsert("C-7", name="Painotalo Ab"))
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM customers", 2))
    assert [c["customer_number"] for c in (await customers_api.get("/customers", params={"q": "TALO"})).json()] == [
        "C-6",
        "C-7",
    ]
    assert [c["customer_number"] for c in (await customers_api.get("/customers", params={"q": "C-7"})).json()] == [
        "C-7"
    ]


async def finished_job(api: httpx.AsyncClient, started: httpx.Response) -> dict[str, Any]:
    """Follow a job a route started (202 + Location) until it is done or failed."""
    assert started.status_code == 202, started.text
    url = started.headers["Location"]
    assert url == started.json()["url"]

    async def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = (await api.get(url)).json()
        return job if job["state"] in ("done", "failed") else None

    return await wait_for(finished)


async def test_republish_sends_every_profile_again_at_its_version(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], customers_api: httpx.AsyncClient
) -> None:
    await publish(sandbox, upsert("C-8"), upsert("C-9", name=None))
    await profiles(sandbox, expect=2)
    job = await finished_job(customers_api, await customers_api.post("/customers/republish-profiles"))
    assert (job["kind"], job["state"], job["done"], job["total"]) == ("customers.republish-profiles", "done", 2, 2)
    assert job["result"] == {"published": 2, "revalidated": 0}
    assert job["actor"] == "tests"  # the system credential acts as itself (no clerk, no header)
    again = await profiles(sandbox, expect=4)
    assert sorted((p.customer_number, p.version, p.valid) for p in again) == [
        ("C-8", 1, True),
        ("C-8", 1, True),
        ("C-9", 1, False),
        ("C-9", 1, False),
    ]


async def test_republish_after_a_rule_change_gives_changed_cards_a_new_version(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], customers_api: httpx.AsyncClient
) -> None:
    await publish(sandbox, upsert("C-10", name=None), upsert("C-11"))
    await profiles(sandbox, expect=2)
    # what the stored verdict would be had C-10 been checked by an older, laxer rule set
    await sandbox.fetch("UPDATE customers SET valid = true, errors = '[]' WHERE customer_number = 'C-10'")

    started = await customers_api.post("/customers/republish-profiles", headers=as_clerk("clerk-3"))
    job = await finished_job(customers_api, started)

    assert (job["state"], job["actor"]) == ("done", "clerk-3")
    assert job["result"] == {"published": 2, "revalidated": 1}
    latest = {p.customer_number: p for p in await profiles(sandbox, expect=4)}
    assert (latest["C-10"].version, latest["C-10"].valid) == (2, False)
    assert (latest["C-11"].version, latest["C-11"].valid) == (1, True)
    history = (await customers_api.get("/customers/C-10/history")).json()
    assert [h["actor"] for h in history] == ["event:urn:test:crm", "revalidation"]


async def test_jobs_api_shows_a_job_lists_them_and_refuses_bad_queries(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], customers_api: httpx.AsyncClient
) -> None:
    job = await finished_job(customers_api, await customers_api.post("/customers/republish-profiles"))

    listed = (await customers_api.get("/jobs", params={"kind": "customers.republish-profiles", "state": "done"})).json()
    assert [j["id"] for j in listed] == [job["id"]]
    assert (await customers_api.get("/jobs", params={"state": "queued"})).json() == []
    assert (await customers_api.get("/jobs", params={"limit": 0})).status_code == 422
    assert (await customers_api.get("/jobs", params={"limit": 501})).status_code == 422
    assert (await customers_api.get("/jobs", params={"state": "paused"})).status_code == 422
    missing = await customers_api.get("/jobs/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["detail"]["code"] == "job_not_found"
    assert (await customers_api.get("/jobs/not-a-uuid")).status_code == 422
    no_token = await customers_api.get(job["url"], headers={"Authorization": ""})
    assert no_token.status_code == 401
