"""The compose test's outside world: the CRM and an order system publishing to our
inbound topics exactly per our AsyncAPI (CloudEvents Kafka binding, binary mode: the
value is the event data as JSON, attributes as ``ce_*`` headers), and the clerk calling
the services' HTTP APIs as the CLI does. Nothing here imports the system's code: it
knows the system only by its published contract."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx

from billing_testkit import contract, kafka

UPSERTED = "fi.billing.crm.customer-upserted.v1"
REQUEST_SUBMITTED = "fi.billing.sales.billing-request-submitted.v1"
CHANNELS = ("email", "einvoice", "print")

T = TypeVar("T")


def today() -> str:
    """The services' calendar day (they count days in Europe/Helsinki)."""
    return datetime.now(ZoneInfo("Europe/Helsinki")).date().isoformat()


def _address(street: str) -> dict[str, Any]:
    return {"street_lines": [street], "postal_code": "33100", "city": "Tampere", "country": "FI"}


def person(number: str, channel: str) -> dict[str, Any]:
    return {
        "customer_type": "person",
        "name": f"Testi Henkilö {number}",
        "address": _address(f"Kotikatu {number[1:]}"),
        "email": f"{number.lower()}@example.com",
        "delivery_channel": channel,
        "language": "fi",
    }


def company(number: str, k: int) -> dict[str, Any]:
    """A company on e-invoice. Y-tunnus 200000k-c: weights 7,9,10,5,8,4,2 give 14 + 2k,
    r = that mod 11, check 11 - r (0 when r = 0): k=1 -> 6, k=2 -> 4."""
    ytunnus = {1: "2000001-6", 2: "2000002-4"}[k]
    return {
        "customer_type": "company",
        "name": f"Testiyhtiö {number} Oy",
        "business_id": ytunnus,
        "address": _address(f"Teollisuustie {k}"),
        "einvoice_address": "0037" + ytunnus.replace("-", ""),
        "einvoice_operator": "003721291126",
        "delivery_channel": "einvoice",
        "language": "fi",
    }


CUSTOMERS: dict[str, dict[str, Any]] = {
    **{n: person(n, "email") for n in ("E1", "E2", "E3", "E4")},
    "F1": company("F1", 1),
    "F2": company("F2", 2),
    **{n: person(n, "print") for n in ("P1", "P2")},
}
BY_CHANNEL = {ch: sorted(n for n, c in CUSTOMERS.items() if c["delivery_channel"] == ch) for ch in CHANNELS}


def billing_request(customer: str, tag: str) -> dict[str, Any]:
    """One month of a newspaper: 1 x 30.00 at 10 % VAT."""
    return {
        "request_id": f"CT-{tag}-{customer}",
        "kind": "subscription",
        "customer_number": customer,
        "order_id": f"O-{tag}-{customer}",
        "invoice_date": today(),
        "payment_terms_days": 14,
        "lines": [
            {
                "product_code": "HS-1KK",
                "description": "Helsingin Sanomat 1 kk",
                "quantity": "1",
                "unit": "kpl",
                "unit_price": "30.00",
                "vat_rate": "10",
            }
        ],
    }


def publish(bootstrap: str, ce_type: str, source: str, events: list[tuple[str, Any]]) -> None:
    """Publish ``(key, data)`` pairs through the test kit: each is checked against the
    AsyncAPI contract (its topic and CloudEvents headers from there), then every
    acknowledgement is awaited."""
    kafka.publish(bootstrap, [contract.event(ce_type, key, data, source=source) for key, data in events])


async def upsert_customers(bootstrap: str, numbers: list[str]) -> None:
    events = [(n, {"customer_number": n, "customer": CUSTOMERS[n]}) for n in numbers]
    await asyncio.to_thread(publish, bootstrap, UPSERTED, "urn:compose-test:crm", events)


async def submit_requests(bootstrap: str, customers: list[str], tag: str) -> None:
    events = [(n, billing_request(n, tag)) for n in customers]
    await asyncio.to_thread(publish, bootstrap, REQUEST_SUBMITTED, "urn:compose-test:orders", events)


async def wait_for(what: str, probe: Callable[[], Awaitable[T | None]], timeout: float = 120) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            found = await probe()
        except (httpx.HTTPError, AssertionError, KeyError) as exc:
            found, last = None, exc
        if found is not None and found is not False:
            return found
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:500]}"
    )
    return response.json()


class Clerk:
    """The clerk's calls (the CLI's): the services' APIs with the clerk's own credential
    (made by :meth:`tests.compose.stack.Compose.create_credential`, as the README says)."""

    def __init__(self, urls: dict[str, str], token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        self.api = {s: httpx.AsyncClient(base_url=u, headers=headers, timeout=30) for s, u in urls.items()}

    async def close(self) -> None:
        for client in self.api.values():
            await client.aclose()

    async def job(self, service: str, started: httpx.Response, timeout: float = 180) -> dict[str, Any]:
        """Follow a job a POST started (202) to its end, as the CLI's progress bar does."""
        body = ok(started, 202)
        job = body.get("job", body)
        url = job["url"]
        api = self.api[service]

        async def finished() -> dict[str, Any] | None:
            now: dict[str, Any] = ok(await api.get(url))
            assert now["state"] != "failed", now
            return now if now["state"] == "done" else None

        return await wait_for(f"{service} job {job['kind']}", finished, timeout)

    async def cards(self, numbers: list[str]) -> int:
        """How many of these customers have a card (the customers service took the upsert)."""
        found = [(await self.api["customers"].get(f"/customers/{n}")).status_code == 200 for n in numbers]
        return sum(found)

    async def requests(self) -> dict[str, Any]:
        page: dict[str, Any] = ok(
            await self.api["invoicing"].get("/billing-requests", params={"kind": "subscription", "limit": 1})
        )
        return page

    async def billing_run(self, mode: str) -> dict[str, Any]:
        """Select all ready subscription requests and run (preview or confirm): the run's summary."""
        api = self.api["invoicing"]
        job = await self.job("invoicing", await api.post("/billing-runs", json={"kind": "subscription", "mode": mode}))
        run: dict[str, Any] = ok(await api.get(f"/billing-runs/{job['id']}"))
        return run

    async def invoices(self) -> list[dict[str, Any]]:
        page = ok(await self.api["invoicing"].get("/invoices", params={"status": "confirmed", "limit": 500}))
        assert page["total"] == len(page["items"])
        items: list[dict[str, Any]] = page["items"]
        return items

    async def sending(self) -> dict[str, dict[str, Any]]:
        rows = ok(await self.api["dispatch"].get("/sending"))
        return {r["channel"]: r for r in rows}

    async def send(self, channel: str) -> dict[str, Any]:
        """Select all waiting documents of the channel and send them; the finished job."""
        api = self.api["dispatch"]
        started = await api.post(f"/sending/{channel}/send", json={"all": True})
        return await self.job("dispatch", started)


def day_of(invoices: list[dict[str, Any]]) -> date:
    return date.fromisoformat(invoices[0]["invoice_date"])
