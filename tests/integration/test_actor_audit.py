"""The actor in the audit trails is the authenticated caller (issue 19, item 2): the
clerk a console call carries in its signed assertion, or the system credential itself;
never a header. One test per family of routes that record who acted: the customer card
(edit, erasure, republish), dead-letter replay, invoicing (runs), reminders (create,
dispute, hand-over) and dispatch (send). The services run in this process on the
sandbox's real PostgreSQL and Kafka."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.customers.tables import CustomersUnitOfWork
from shared.events.topics import CUSTOMER_UPSERTS
from shared.runtime import Runtime
from tests.support.credentials import as_clerk, credentials
from tests.support.customers import UPSERT_TYPE, upsert
from tests.support.dispatch import dispatch_stack
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, ce_headers, wait_for
from tests.support.reminders_load import copy_open_items, open_item_rows
from tests.support.reminders_runtime import TODAY, api_client, running

pytestmark = pytest.mark.integration


def only(scope: str) -> dict[str, str]:
    """A system credential holding just ``scope`` (it acts as ``only-<service>-<op>``)."""
    return {"Authorization": f"Bearer {credentials().only(scope)}"}


async def job_of(api: httpx.AsyncClient, started: httpx.Response) -> dict[str, Any]:
    assert started.status_code == 202, started.text
    job: dict[str, Any] = (await api.get(started.headers["Location"])).json()
    return job


async def test_customer_card_erasure_and_republish_record_the_clerk_or_the_system(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], customers_api: httpx.AsyncClient
) -> None:
    async with Publisher(sandbox.bootstrap) as pub:
        for number in ("C-1", "C-2"):
            await pub.send(
                sandbox.topic(CUSTOMER_UPSERTS.name), upsert(number), key=number, headers=ce_headers(UPSERT_TYPE)
            )
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM customers", 2))
    api = customers_api

    by_clerk = await api.patch("/customers/C-1", json={"email": "a@example.fi"}, headers=as_clerk("anna"))
    assert by_clerk.status_code == 200, by_clerk.text
    by_system = await api.patch("/customers/C-1", json={"email": "b@example.fi"}, headers=only("customers:write"))
    assert by_system.status_code == 200, by_system.text
    history = (await api.get("/customers/C-1/history")).json()
    assert [h["actor"] for h in history[1:]] == ["anna", "only-customers-write"]

    # the clerk's own scopes narrow the console's: a clerk without write cannot edit
    narrowed = await api.patch("/customers/C-1", json={"email": "c@example.fi"}, headers=as_clerk("anna", ["*:read"]))
    assert narrowed.status_code == 403 and "customers:write" in narrowed.json()["detail"]["message_en"]
    # ... and a clerk is not an operator: erasure needs customers:admin
    clerk_erasure = await api.post("/customers/C-2/erasure", headers=as_clerk("anna", ["customers:write"]))
    assert clerk_erasure.status_code == 403
    erased = await api.post("/customers/C-2/erasure", headers=as_clerk("ops-erkki"))
    assert erased.status_code == 200, erased.text
    assert (
        await sandbox.scalar(
            "SELECT actor FROM customer_changes WHERE customer_number = 'C-2' ORDER BY version DESC LIMIT 1"
        )
        == "ops-erkki"
    )

    job = await job_of(api, await api.post("/customers/republish-profiles", headers=only("customers:admin")))
    assert job["actor"] == "only-customers-admin"
    job = await job_of(api, await api.post("/customers/republish-profiles", headers=as_clerk("ops-erkki")))
    assert job["actor"] == "ops-erkki"


async def test_a_dead_letter_replay_records_who_replayed(
    sandbox: Sandbox, customers: Runtime[CustomersUnitOfWork], customers_api: httpx.AsyncClient
) -> None:
    ids = [
        row["id"]
        for row in await sandbox.fetch(
            """INSERT INTO dead_letters (topic, partition, "offset", key, value, headers, error_code, reason)
               SELECT $1, 0, n, 'k', $2::bytea, '[]'::jsonb, 'test', 'a test record'
               FROM generate_series(1, 2) AS n RETURNING id""",
            sandbox.topic("nobody-reads-this"),
            json.dumps({"x": 1}).encode(),
        )
    ]
    first = await customers_api.post("/dead-letters/replay", json={"ids": [ids[0]]}, headers=as_clerk("ops-anna"))
    second = await customers_api.post("/dead-letters/replay", json={"ids": [ids[1]]}, headers=only("customers:replay"))
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    rows = await sandbox.fetch("SELECT id, replayed_by FROM dead_letters ORDER BY id")
    assert [(r["id"], r["replayed_by"]) for r in rows] == [(ids[0], "ops-anna"), (ids[1], "only-customers-replay")]
    # reading is not replaying
    refused = await customers_api.post("/dead-letters/replay", json={"ids": ids}, headers=only("customers:read"))
    assert refused.status_code == 403


async def test_a_billing_run_records_the_clerk_or_the_system(invoicing_api: httpx.AsyncClient) -> None:
    body = {"kind": "subscription", "mode": "preview"}
    by_clerk = await job_of(
        invoicing_api, await invoicing_api.post("/billing-runs", json=body, headers=as_clerk("anna"))
    )
    by_system = await job_of(
        invoicing_api, await invoicing_api.post("/billing-runs", json=body, headers=only("invoicing:bill"))
    )
    assert (by_clerk["actor"], by_system["actor"]) == ("anna", "only-invoicing-bill")
    # a header cannot put someone else in the trail
    forged = await invoicing_api.post("/billing-runs", json=body, headers={**only("invoicing:bill"), "X-Actor": "anna"})
    assert forged.status_code == 403 and forged.json()["detail"]["code"] == "actor-header-refused"


@pytest.fixture
async def reminders_api(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with running(sandbox) as runtime, api_client(runtime) as api:
        yield api


async def test_reminders_create_dispute_and_handover_record_the_clerk_or_the_system(
    sandbox: Sandbox, reminders_api: httpx.AsyncClient
) -> None:
    api = reminders_api
    create = {"level": 1, "all": True}
    by_clerk = await job_of(api, await api.post("/reminders/create", json=create, headers=as_clerk("anna")))
    by_system = await job_of(api, await api.post("/reminders/create", json=create, headers=only("reminders:remind")))
    assert (by_clerk["actor"], by_system["actor"]) == ("anna", "only-reminders-remind")

    await copy_open_items(sandbox.plain_db_url, open_item_rows(2, due=TODAY - timedelta(days=40)))
    first, second = "inv-2000000001", "inv-2000000002"
    by_clerk = await api.put(f"/invoices/{first}/dispute", json={"disputed": True}, headers=as_clerk("anna"))
    by_system = await api.put(f"/invoices/{second}/dispute", json={"disputed": True}, headers=only("reminders:remind"))
    assert (by_clerk.status_code, by_system.status_code) == (200, 200), (by_clerk.text, by_system.text)
    rows = await sandbox.fetch("SELECT invoice_id, disputed_by FROM open_items ORDER BY invoice_id")
    assert [(r["invoice_id"], r["disputed_by"]) for r in rows] == [(first, "anna"), (second, "only-reminders-remind")]
    narrowed = await api.put(
        f"/invoices/{first}/dispute", json={"disputed": False}, headers=as_clerk("anna", ["*:read"])
    )
    assert narrowed.status_code == 403  # a clerk without remind cannot lift it
    handover = {"invoice_ids": [first]}
    for headers in (as_clerk("anna"), only("reminders:remind")):
        answer = await api.post("/collection/handover", json=handover, headers=headers)
        assert answer.status_code not in (401, 403), answer.text


async def test_a_send_records_the_clerk_or_the_system(sandbox: Sandbox, tmp_path: Path) -> None:
    async with dispatch_stack(sandbox, tmp_path) as stack:
        body = {"all": True}
        by_clerk = await job_of(
            stack.api, await stack.api.post("/sending/email/send", json=body, headers=as_clerk("anna"))
        )
        by_system = await job_of(
            stack.api, await stack.api.post("/sending/print/send", json=body, headers=only("dispatch:send"))
        )
    assert (by_clerk["actor"], by_system["actor"]) == ("anna", "only-dispatch-send")
