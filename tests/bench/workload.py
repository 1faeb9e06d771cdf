"""The whole pipeline's workload and the clerk's steps, shared by ``make bench``
(tests/bench/pipeline.py) and ``make chaos`` (tests/bench/chaos.py).

Input, published as the outside systems do:

- ``customers`` customer upserts (CRM): channel by ``i % 20``: 0-11 e-mail (60 %),
  12-16 e-invoice (25 %), 17-19 print (15 %); persons, companies on e-invoice (valid
  Y-tunnus, OVT address, operator); every e-mail customer with ``i % 25 == 1`` has a
  broken address (``rikki@``): 3 of every 100 customers (i = 1, 26, 51 mod 100; 76 is on
  e-invoice), their requests in error;
- ``requests`` billing requests, request ``j`` for customer ``j % customers`` (two each at
  the default ratio), one subscription line each (alternating 30.00 @ 10 % and 2 x 12.10
  @ 25.5 %);
- the order of every request with ``j % 97 == 5`` cancelled right after it (~1 %).

The expected outcome is computed here from those rules alone (``Expected``), not read
from the system: what the checks compare against.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from shared.events.customers import CustomerUpserted
from shared.events.sales import BillingRequestSubmitted, OrderCancelled
from shared.events.topics import BILLING_REQUESTS, CUSTOMER_UPSERTS
from tests.support.sales import request
from tests.support.system import System

LINES = (
    ("HS-1KK", "Helsingin Sanomat 1 kk", "1", "30.00", "10", ("2026-11-01", "2026-11-30")),
    ("KUVA", "Kuvaliite", "2", "12.10", "25.5", None),
)
INVOICE_DATE = "2026-11-23"
TERMS_DAYS = 14  # due 2026-12-07


def channel_of(i: int) -> str:
    k = i % 20
    return "email" if k < 12 else "einvoice" if k < 17 else "print"


def broken(i: int) -> bool:
    return channel_of(i) == "email" and i % 25 == 1


def cancelled(j: int) -> bool:
    return j % 97 == 5


def customer_number(i: int) -> str:
    return f"P{i:07d}"


def upsert_body(i: int) -> dict[str, Any]:
    channel = channel_of(i)
    company = channel == "einvoice"
    customer: dict[str, Any] = {
        "customer_type": "company" if company else "person",
        "name": f"Asiakas {i}",
        "business_id": "0112038-9" if company else None,
        "address": {"street_lines": [f"Katu {i % 200}"], "postal_code": f"{i % 99999:05d}", "city": "Helsinki"},
        "email": "rikki@" if broken(i) else f"asiakas{i}@example.fi",
        "delivery_channel": channel,
        "einvoice_address": "003701120389" if company else None,
        "einvoice_operator": "003721291126" if company else None,
        "language": "fi" if i % 7 else "sv",
    }
    return {"customer_number": customer_number(i), "customer": customer}


def request_body(j: int, customers: int) -> dict[str, Any]:
    return request(
        f"BR-{j}", customer_number(j % customers), invoice_date=INVOICE_DATE, terms=TERMS_DAYS, lines=(LINES[j % 2],)
    )


@dataclass(frozen=True)
class Expected:
    requests: int
    customers: int
    cancelled: int
    error: int
    invoiced: int
    invoices: int
    invoices_per_channel: dict[str, int]

    @classmethod
    def of(cls, requests: int, customers: int) -> Expected:
        cancelled_n = error = 0
        billed: set[int] = set()
        for j in range(requests):
            i = j % customers
            if cancelled(j):
                cancelled_n += 1
            elif broken(i):
                error += 1
            else:
                billed.add(i)
        per_channel = {c: 0 for c in ("email", "einvoice", "print")}
        for i in billed:
            per_channel[channel_of(i)] += 1
        return cls(requests, customers, cancelled_n, error, requests - cancelled_n - error, len(billed), per_channel)


def _headers(event_type: str, source: str) -> list[tuple[str, bytes]]:
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(uuid.uuid4()).encode()),
        ("ce_source", source.encode()),
        ("ce_type", event_type.encode()),
        ("ce_time", b"2026-11-23T08:00:00+02:00"),
        ("content-type", b"application/json"),
    ]


@dataclass
class Published:
    started: float
    finished: float
    records: int
    request_at: dict[str, float] = field(default_factory=dict)
    """Customer number -> when its last billing request was published (epoch seconds)."""


async def publish(bootstrap: str, prefix: str, requests: int, customers: int) -> Published:
    """Every upsert, then the requests (a cancellation right after its request), with an
    idempotent acks=all producer; when each customer's last request went out."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20)
    await producer.start()
    out = Published(time.time(), 0.0, 0)
    pending: list[Any] = []

    async def send(topic: str, key: str, body: dict[str, Any], event_type: str, source: str) -> None:
        pending.append(
            await producer.send(
                prefix + topic, json.dumps(body).encode(), key=key.encode(), headers=_headers(event_type, source)
            )
        )
        out.records += 1
        if len(pending) >= 5000:
            await asyncio.gather(*pending)
            pending.clear()

    try:
        for i in range(customers):
            await send(
                CUSTOMER_UPSERTS.name, customer_number(i), upsert_body(i), CustomerUpserted.EVENT_TYPE, "urn:bench:crm"
            )
        for j in range(requests):
            body = request_body(j, customers)
            number = body["customer_number"]
            await send(BILLING_REQUESTS.name, number, body, BillingRequestSubmitted.EVENT_TYPE, "urn:bench:orders")
            out.request_at[number] = time.time()
            if cancelled(j):
                cancel = {"order_id": body["order_id"], "customer_number": number, "reason": "asiakas perui"}
                await send(BILLING_REQUESTS.name, number, cancel, OrderCancelled.EVENT_TYPE, "urn:bench:orders")
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    out.finished = time.time()
    return out


class Clerk:
    """The clerk's API calls, retried while a service does not answer (killed, starting
    up) or answers 5xx; a 4xx is the caller's mistake and raises at once."""

    def __init__(self, system: System, patience: float = 900.0) -> None:
        self.system = system
        self.patience = patience
        self.client = httpx.AsyncClient(headers=system.headers, timeout=30)
        self.retries = 0

    async def close(self) -> None:
        await self.client.aclose()

    async def call(self, method: str, service: str, path: str, body: Any = None) -> httpx.Response:
        deadline = time.monotonic() + self.patience
        while True:
            try:
                response = await self.client.request(method, self.system.url(service) + path, json=body)
                if response.status_code < 500:
                    if response.status_code >= 400:
                        raise RuntimeError(f"{method} {service}{path}: {response.status_code} {response.text[:300]}")
                    return response
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{method} {service}{path}: no answer in {self.patience:.0f}s")
            self.retries += 1
            await asyncio.sleep(0.5)

    async def follow(self, service: str, job_url: str) -> dict[str, Any]:
        """Poll a job until it is done or failed (across restarts: jobs live in the database)."""
        while True:
            job: dict[str, Any] = (await self.call("GET", service, job_url)).json()
            if job["state"] in ("done", "failed"):
                return job
            await asyncio.sleep(0.5)

    async def billing_run(self) -> dict[str, Any]:
        """A confirmed subscription run over every ready request. Started once: when the
        answer to the POST is lost, the run the service did start is looked up first."""
        body = {"kind": "subscription", "mode": "confirm"}
        while True:
            runs = (await self.call("GET", "invoicing", "/billing-runs?kind=subscription")).json()
            if runs["items"]:
                return await self.follow("invoicing", runs["items"][0]["job_url"])
            try:
                response = await self.client.post(self.system.url("invoicing") + "/billing-runs", json=body)
                if response.status_code == 202:
                    return await self.follow("invoicing", response.headers["Location"])
            except httpx.TransportError:
                pass
            self.retries += 1
            await asyncio.sleep(1)

    async def send(self, channel: str) -> dict[str, Any]:
        """Send every waiting document of ``channel``; a repeated send finds fewer waiting."""
        answer = await self.call("POST", "dispatch", f"/sending/{channel}/send", {"all": True})
        return await self.follow("dispatch", answer.headers["Location"])

    async def remind(self, level: int) -> dict[str, Any]:
        """Create reminder #``level`` for every candidate (one per invoice and level, however
        often it is asked)."""
        answer = await self.call("POST", "reminders", "/reminders/create", {"level": level, "all": True})
        return await self.follow("reminders", answer.headers["Location"])
