"""Erasure of a customer on real Kafka and PostgreSQL, every service in this process on
its own database (as in production): the customers service anonymises the card, its
history and its dead letters and writes a tombstone to the compacted profiles topic;
invoicing, reminders and dispatch anonymise their copies of the profile without
dead-lettering anything; the invoice issued before stays as it was; a second erasure
changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.customers import api as customers_api_module
from services.customers.app import build as build_customers
from services.customers.config import Settings as CustomersSettings
from services.dispatch.app import build as build_dispatch
from services.dispatch.config import Settings as DispatchSettings
from services.invoicing.app import build as build_invoicing
from services.invoicing.app import http_app as invoicing_http_app
from services.invoicing.config import Settings as InvoicingSettings
from services.reminders.app import build as build_reminders
from services.reminders.config import Settings as RemindersSettings
from shared.events import topics
from shared.events.customers import BillingProfileChanged, BillingProfileErased, CustomerUpserted
from shared.runtime import Runtime
from tests.support.customers import upsert
from tests.support.dispatch import dispatch_settings
from tests.support.isolation import API_TOKEN, Sandbox
from tests.support.kafka import Publisher, ce_headers, read_topic, wait_for
from tests.support.sales import Inbound, request

pytestmark = pytest.mark.integration

NUMBER = "C-1"
OTHER = "C-2"
# every personal value of C-1 the test puts anywhere: none may be left after the erasure
NAME, NEW_NAME = "Maija Meikäläinen", "Maija Mallikas"
EMAIL, NEW_EMAIL = "maija.meikalainen@example.fi", "maija.m@example.fi"
STREET, POSTAL = "Kotikatu 7 B 12", "00970"
PERSONAL = (NAME, NEW_NAME, EMAIL, NEW_EMAIL, STREET, "Meikäläinen", "Mallikas")
CARD = {
    "customer_type": "person",
    "name": NAME,
    "business_id": None,
    "email": EMAIL,
    "address": {"street_lines": [STREET], "postal_code": POSTAL, "city": "Helsinki", "country": "FI"},
    "delivery_channel": "email",
}
# the tables that hold a copy of the profile, per service
COPIES = {"invoicing": "billing_profiles", "reminders": "customer_flags", "dispatch": "billing_profiles"}


class Services:
    def __init__(self, sandbox: Sandbox, urls: dict[str, str], runtimes: dict[str, Runtime[Any]]) -> None:
        self.sandbox = sandbox
        self.urls = urls
        self.runtimes = runtimes

    async def rows(self, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.urls[service].replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    async def text_of(self, service: str, *tables: str) -> str:
        """Every row of ``tables`` as text (to look for personal values anywhere in them)."""
        lines = []
        for table in tables:
            lines += [str(r[0]) for r in await self.rows(service, f"SELECT t::text FROM {table} AS t")]
        return "\n".join(lines)

    def profile_stats(self, service: str) -> Any:
        name = self.sandbox.topic(topics.BILLING_PROFILES.name)
        return next(s for s in self.runtimes[service].consumer_stats if s.topic == name)


@pytest.fixture
async def system(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Services]:
    urls = {name: await sandbox.own_database(name) for name in ("customers", "invoicing", "reminders", "dispatch")}
    quick = {"jobs_poll_interval_s": 0.2, "consumer_stall_max_s": 2.0}
    runtimes: dict[str, Runtime[Any]] = {
        "customers": build_customers(CustomersSettings(**sandbox.settings_kwargs(database_url=urls["customers"]))),
        "invoicing": build_invoicing(
            InvoicingSettings(
                **sandbox.settings_kwargs(database_url=urls["invoicing"], daily_run_enabled=False, **quick)
            )
        ),
        "reminders": build_reminders(
            RemindersSettings(**sandbox.settings_kwargs(database_url=urls["reminders"], daily_reminders=False, **quick))
        ),
        "dispatch": build_dispatch(
            DispatchSettings(
                **dispatch_settings(sandbox, tmp_path, database_url=urls["dispatch"], auto_send=frozenset())
            )
        ),
    }
    async with AsyncExitStack() as stack:
        for runtime in runtimes.values():
            await runtime.start()
            stack.push_async_callback(runtime.stop)
        yield Services(sandbox, urls, runtimes)


def client(runtime: Runtime[Any], app: Any, name: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=f"http://{name}",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )


async def copies_at(system: Services, number: str, version: int) -> bool:
    for service, table in COPIES.items():
        rows = await system.rows(service, f"SELECT version FROM {table} WHERE customer_number = $1", number)
        if not rows or rows[0]["version"] != version:
            return False
    return True


async def copies_erased(system: Services, number: str) -> bool:
    for service, table in COPIES.items():
        sql = f"SELECT erased_at IS NOT NULL AS erased FROM {table} WHERE customer_number = $1"
        rows = await system.rows(service, sql, number)
        if not rows or not rows[0]["erased"]:
            return False
    return True


async def test_an_erasure_anonymises_every_copy_keeps_the_invoices_and_is_idempotent(
    sandbox: Sandbox, system: Services
) -> None:
    customers = system.runtimes["customers"]
    customers_app = customers.http_app([customers_api_module.router], title="customers (test)")
    invoicing_app = invoicing_http_app(system.runtimes["invoicing"], title="invoicing (test)")
    upserts = sandbox.topic(topics.CUSTOMER_UPSERTS.name)
    profiles_topic = sandbox.topic(topics.BILLING_PROFILES.name)
    async with (
        Publisher(sandbox.bootstrap) as publisher,
        client(customers, customers_app, "customers") as cards,
        client(system.runtimes["invoicing"], invoicing_app, "invoicing") as invoicing,
    ):
        # --- a customer with personal data everywhere --------------------------------
        for number, body in ((NUMBER, upsert(NUMBER, **CARD)), (OTHER, upsert(OTHER))):
            await publisher.send(upserts, body, key=number, headers=ce_headers(CustomerUpserted.EVENT_TYPE))
        await wait_for(lambda: copies_at(system, NUMBER, 1), timeout=60)
        fixed = await cards.patch(f"/customers/{NUMBER}", json={"name": NEW_NAME, "email": NEW_EMAIL})
        assert fixed.status_code == 200, fixed.text
        await wait_for(lambda: copies_at(system, NUMBER, 2), timeout=60)
        # dead letters holding C-1's records: an upsert the contract refuses (keyed by the
        # number, and one under a wrong key naming it in its body), and a malformed
        # profile record in every consumer; C-2's dead letter must stay
        bad = {"customer_number": NUMBER, "customer": {"customer_type": "alien", "name": NAME, "email": EMAIL}}
        for key, body in ((NUMBER, bad), ("wrong-key", bad), (OTHER, {**bad, "customer_number": OTHER})):
            await publisher.send(upserts, body, key=key, headers=ce_headers(CustomerUpserted.EVENT_TYPE))
        bad_profile = {"customer_number": NUMBER, "version": "x", "snapshot": {"name": NAME, "email": EMAIL}}
        await publisher.send(
            profiles_topic, bad_profile, key=NUMBER, headers=ce_headers(BillingProfileChanged.EVENT_TYPE)
        )

        async def dead_letters_in_place() -> bool:
            counts = [len(await system.rows("customers", "SELECT id FROM dead_letters"))]
            counts += [len(await system.rows(s, "SELECT id FROM dead_letters")) for s in COPIES]
            return counts == [3, 1, 1, 1]

        await wait_for(dead_letters_in_place, timeout=60)
        # an invoice issued to C-1 before the erasure (it reaches reminders and dispatch)
        await Inbound(sandbox, publisher).requests(request("R1", NUMBER))
        await wait_for(
            lambda: system.rows("invoicing", "SELECT 1 FROM billing_requests WHERE customer_number = $1", NUMBER),
            timeout=60,
        )
        started = await invoicing.post("/billing-runs", json={"kind": "subscription", "mode": "confirm"})
        assert started.status_code == 202, started.text

        async def run_done() -> bool:
            job = (await invoicing.get(started.headers["Location"])).json()
            assert job["state"] != "failed", job
            return bool(job["state"] == "done")

        await wait_for(run_done, timeout=60)
        invoices_sql = "SELECT * FROM invoices WHERE customer_number = $1 ORDER BY id"
        invoices = [dict(r) for r in await system.rows("invoicing", invoices_sql, NUMBER)]
        assert len(invoices) == 1 and EMAIL not in json.dumps(invoices, default=str)  # issued after the fix
        assert NEW_EMAIL in json.dumps(invoices, default=str)  # the customer's details as issued
        await wait_for(
            lambda: system.rows("reminders", "SELECT 1 FROM open_items WHERE customer_number = $1", NUMBER), timeout=60
        )
        await wait_for(lambda: system.rows("dispatch", "SELECT 1 FROM documents"), timeout=60)
        reminders_items = [dict(r) for r in await system.rows("reminders", "SELECT * FROM open_items ORDER BY 1")]
        documents = [dict(r) for r in await system.rows("dispatch", "SELECT * FROM documents ORDER BY id")]
        dead_before = {s: system.profile_stats(s).dead_lettered for s in COPIES}

        # --- the erasure ----------------------------------------------------------
        erased = await cards.post(f"/customers/{NUMBER}/erasure")
        assert erased.status_code == 200, erased.text
        answer = erased.json()
        assert answer["already_erased"] is False
        assert set(answer["erased_fields"]) == {"name", "email", "address"}
        assert answer["dead_letters"] == 2  # the one under its key and the one naming it in its body
        assert answer["history_rows"] >= 2  # the CRM's creation and the clerk's fix held values
        assert answer["tombstone"] == {"topic": topics.BILLING_PROFILES.name, "key": NUMBER}
        assert any("kirjanpitolaki 1336/1997" in line and "6 years" in line for line in answer["kept"])

        # the customers database holds no personal value of C-1 (C-2's card is untouched)
        everything = await system.text_of("customers", "customers", "customer_changes", "dead_letters", "outbox")
        lines_of_c1 = [line for line in everything.splitlines() if OTHER not in line]
        assert not [v for v in PERSONAL if any(v in line for line in lines_of_c1)]
        assert len(await system.rows("customers", "SELECT 1 FROM dead_letters WHERE key = $1", OTHER)) == 1
        card = (await cards.get(f"/customers/{NUMBER}")).json()
        assert card["valid"] is False and [e["code"] for e in card["errors"]] == ["erased"]
        assert card["data"]["name"] is None and card["data"]["address"] is None
        assert card["data"]["delivery_channel"] == "email"

        # the tombstone is on the compacted topic: the right key, a null value
        tombstones = await read_topic(
            sandbox.bootstrap, profiles_topic, expect=1, where=lambda r: r.value is None, settle=0.2
        )
        assert [(r.key, r.value) for r in tombstones] == [(NUMBER.encode(), None)]
        assert dict(tombstones[0].headers)["ce_type"] == BillingProfileErased.EVENT_TYPE.encode()

        # every consumer anonymised its copy and dead-lettered nothing for it
        await wait_for(lambda: copies_erased(system, NUMBER), timeout=60)
        for service, table in COPIES.items():
            copy_text = await system.text_of(service, table, "dead_letters")
            assert not [v for v in PERSONAL if v in copy_text], service
            assert system.profile_stats(service).dead_lettered == dead_before[service], service
            assert await system.rows(service, "SELECT id FROM dead_letters") == [], service  # its bad profile went
            row = (await system.rows(service, f"SELECT * FROM {table} WHERE customer_number = $1", NUMBER))[0]
            assert row["valid"] is False and json.loads(row["snapshot"])["customer_type"] == "person"

        # the invoice, its open item and its document are as they were
        assert [dict(r) for r in await system.rows("invoicing", invoices_sql, NUMBER)] == invoices
        assert [dict(r) for r in await system.rows("reminders", "SELECT * FROM open_items ORDER BY 1")] == (
            reminders_items
        )
        assert [dict(r) for r in await system.rows("dispatch", "SELECT * FROM documents ORDER BY id")] == documents

        # --- a second erasure changes nothing; a late upsert does not fill the card ----
        history = await system.rows("customers", "SELECT * FROM customer_changes ORDER BY id")
        again = await cards.post(f"/customers/{NUMBER}/erasure")
        assert again.status_code == 200
        assert again.json()["already_erased"] is True and again.json()["erased_at"] == answer["erased_at"]
        assert await system.rows("customers", "SELECT * FROM customer_changes ORDER BY id") == history
        assert await system.rows("customers", "SELECT id FROM outbox") == []
        assert (await cards.patch(f"/customers/{NUMBER}", json={"name": NAME})).status_code == 409
        await publisher.send(
            upserts,
            upsert(NUMBER, **CARD),
            key=NUMBER,
            headers=ce_headers(CustomerUpserted.EVENT_TYPE, time="2030-01-01T00:00:00+02:00"),
        )
        ignored = "SELECT 1 FROM customer_changes WHERE changes->>'ignored' = 'erased'"
        await wait_for(lambda: system.rows("customers", ignored), timeout=60)
        assert (await cards.get(f"/customers/{NUMBER}")).json()["data"]["name"] is None

        # republishing every profile publishes the erased customer's tombstone again, never its data
        republish = await cards.post("/customers/republish-profiles")
        assert republish.status_code == 202

        async def republished() -> bool:
            job = (await cards.get(republish.headers["Location"])).json()
            return bool(job["state"] == "done")

        await wait_for(republished, timeout=60)
        after = await read_topic(
            sandbox.bootstrap, profiles_topic, expect=2, where=lambda r: r.key == NUMBER.encode(), settle=0.5
        )
        erased_from = next(i for i, r in enumerate(after) if r.value is None)  # the erasure's tombstone
        assert [r.value for r in after[erased_from:]] == [None, None]  # then only the republished tombstone
        assert (await cards.post("/customers/C-404/erasure")).status_code == 404
