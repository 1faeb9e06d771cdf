"""Field ownership on real Kafka and PostgreSQL (issue 6, items 3 and 8): a clerk's
fix survives CRM upserts that do not change that field, the CRM wins a field it does
change, the correction is published for the CRM, and an upsert older than the last
one applied changes nothing and leaves a trace."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.customers.app import http_app
from services.customers.tables import CustomersUnitOfWork
from shared.events.customers import BillingProfileChanged, CustomerCorrected
from shared.events.topics import BILLING_PROFILES, CUSTOMER_CORRECTIONS, CUSTOMER_UPSERTS
from shared.runtime import Runtime
from tests.support.credentials import as_clerk
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.isolation import API_TOKEN, Sandbox
from tests.support.kafka import Publisher, read_topic, wait_for

pytestmark = pytest.mark.integration

BAD_EMAIL = "laskut@@example.fi"


@pytest.fixture
async def api(customers: Runtime[CustomersUnitOfWork]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=http_app(customers, title="customers (test)"))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://customers", headers={"Authorization": f"Bearer {API_TOKEN}"}
    ) as client:
        yield client


def headers_at(time: str, source: str = "urn:test:crm") -> list[tuple[str, bytes]]:
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(uuid.uuid4()).encode()),
        ("ce_source", source.encode()),
        ("ce_type", UPSERT_TYPE.encode()),
        ("ce_time", time.encode()),
        ("content-type", b"application/json"),
    ]


async def publish_at(sandbox: Sandbox, time: str, body: dict[str, Any]) -> None:
    async with Publisher(sandbox.bootstrap) as pub:
        await pub.send(
            sandbox.topic(CUSTOMER_UPSERTS.name), body, key=str(body["customer_number"]), headers=headers_at(time)
        )


async def version_is(sandbox: Sandbox, number: str, version: int) -> bool:
    return await sandbox.has(f"SELECT version FROM customers WHERE customer_number = '{number}'", version)


async def test_clerk_fix_survives_crm_upserts_that_leave_the_field_alone_and_crm_wins_when_it_changes_it(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], api: httpx.AsyncClient
) -> None:
    await publish_at(sandbox, "2026-11-23T10:00:00+02:00", upsert("C-1", email=BAD_EMAIL))
    await wait_for(lambda: version_is(sandbox, "C-1", 1))
    fixed = await api.patch("/customers/C-1", json={"email": "laskut@example.fi"}, headers=as_clerk("clerk-7"))
    assert fixed.status_code == 200
    assert fixed.json()["valid"] is True

    # seed step 10 then the CRM's next upsert: it still has the bad e-mail, changes the name
    await publish_at(sandbox, "2026-11-23T10:05:00+02:00", upsert("C-1", email=BAD_EMAIL, name="Esimerkki Oyj"))
    await wait_for(lambda: version_is(sandbox, "C-1", 3))
    card = (await api.get("/customers/C-1")).json()
    assert card["data"]["email"] == "laskut@example.fi"  # the clerk's fix stays
    assert card["data"]["name"] == "Esimerkki Oyj"  # the CRM's change is applied
    assert card["valid"] is True

    # the same upsert again (the CRM re-sends): nothing to apply, no version
    await publish_at(sandbox, "2026-11-23T10:06:00+02:00", upsert("C-1", email=BAD_EMAIL, name="Esimerkki Oyj"))
    await wait_for(lambda: customers.consumer_stats[0].handled == 3)
    assert (await api.get("/customers/C-1")).json()["version"] == 3

    # the CRM changes the e-mail itself: it wins that field
    await publish_at(sandbox, "2026-11-23T10:10:00+02:00", upsert("C-1", email="uusi@example.fi", name="Esimerkki Oyj"))
    await wait_for(lambda: version_is(sandbox, "C-1", 4))
    assert (await api.get("/customers/C-1")).json()["data"]["email"] == "uusi@example.fi"

    history = (await api.get("/customers/C-1/history")).json()
    assert [(h["version"], h["actor"], sorted(h["changes"])) for h in history[1:]] == [
        (2, "clerk-7", ["email"]),
        (3, "event:urn:test:crm", ["name"]),
        (4, "event:urn:test:crm", ["email"]),
    ]
    records = await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=4)
    assert [BillingProfileChanged.model_validate_json(r.value).version for r in records] == [1, 2, 3, 4]


async def test_clerk_correction_is_published_for_the_crm_keyed_by_customer_number(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], api: httpx.AsyncClient
) -> None:
    await publish_at(sandbox, "2026-11-23T10:00:00+02:00", upsert("C-2", email=BAD_EMAIL))
    await wait_for(lambda: version_is(sandbox, "C-2", 1))
    response = await api.patch(
        "/customers/C-2",
        json={"email": "laskut@example.fi", "address": {"city": "Espoo"}},
        headers=as_clerk("clerk-7"),
    )
    assert response.status_code == 200

    (record,) = await read_topic(sandbox.bootstrap, sandbox.topic(CUSTOMER_CORRECTIONS.name), expect=1)
    assert record.key == b"C-2"
    assert dict(record.headers)["ce_type"].decode() == CustomerCorrected.EVENT_TYPE
    event = CustomerCorrected.model_validate_json(record.value)
    assert (event.customer_number, event.version, event.actor) == ("C-2", 2, "clerk-7")
    by_field = {c.field: (c.old, c.new) for c in event.changes}
    assert by_field["email"] == (BAD_EMAIL, "laskut@example.fi")
    old_address, new_address = by_field["address"]
    assert isinstance(old_address, dict) and isinstance(new_address, dict)
    assert (old_address["city"], new_address["city"]) == ("Helsinki", "Espoo")
    assert set(by_field) == {"email", "address"}
    assert event.card.email == "laskut@example.fi"


async def test_upsert_older_than_the_last_applied_changes_nothing_and_is_recorded_and_counted(
    sandbox: Sandbox,
    customers: Runtime[CustomersUnitOfWork],
    api: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    await publish_at(sandbox, "2026-11-23T10:00:00+02:00", upsert("C-3", name="Uusi Nimi Oy"))
    await wait_for(lambda: version_is(sandbox, "C-3", 1))

    # a replay of an older upsert (e.g. a CRM outbox re-sent from an old offset)
    await publish_at(sandbox, "2026-11-23T09:00:00+02:00", upsert("C-3", name="Vanha Nimi Oy"))
    await wait_for(lambda: customers.consumer_stats[0].handled == 2)

    card = (await api.get("/customers/C-3")).json()
    assert (card["version"], card["data"]["name"]) == (1, "Uusi Nimi Oy")
    history = (await api.get("/customers/C-3/history")).json()
    assert [(h["version"], h["actor"], h["changes"].get("ignored")) for h in history] == [
        (1, "event:urn:test:crm", None),
        (None, "event:urn:test:crm", "stale"),
    ]
    assert history[1]["event_id"]
    assert customers.metrics.registry.get_sample_value("billing_customers_stale_upserts_total") == 1
    assert b"billing_customers_stale_upserts_total 1.0" in customers.metrics.exposition()
    assert "Vanha Nimi" not in caplog.text

    # the same ce_time as the last applied is not older: applied
    await publish_at(sandbox, "2026-11-23T10:00:00+02:00", upsert("C-3", name="Kolmas Nimi Oy"))
    await wait_for(lambda: version_is(sandbox, "C-3", 2))
    records = await read_topic(sandbox.bootstrap, sandbox.topic(BILLING_PROFILES.name), expect=2)
    assert [BillingProfileChanged.model_validate_json(r.value).snapshot.name for r in records] == [
        "Uusi Nimi Oy",
        "Kolmas Nimi Oy",
    ]
