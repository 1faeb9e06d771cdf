"""Events other systems publish to the invoicing service, built as they would send
them: billing requests and cancellations (order systems), billing profiles (as the
customers service publishes them), reference payments (the bank import)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from services.invoicing.handlers.bank_imports import reference_key
from shared.events import topics
from shared.events.bank import ReferencePaymentReceived, ReferencePaymentReversed
from shared.events.customers import BillingProfileChanged, ProfileError
from shared.events.sales import BillingRequestSubmitted, OrderCancelled
from tests.support.documents import COMPANY, PERSON
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, ce_headers

# (product, description, quantity, unit price, VAT %, (service start, end) or None)
SUBSCRIPTION_LINE = ("HS-1KK", "Helsingin Sanomat 1 kk", "1", "30.00", "10", ("2026-11-01", "2026-11-30"))
NOTICE_LINE = ("ILM-1", "Ilmoitus 2x50 mm", "2", "12.10", "25.5", None)


def request(
    request_id: str,
    customer: str,
    *,
    kind: str = "subscription",
    order_id: str | None = None,
    invoice_date: str = "2026-11-23",
    terms: int = 14,
    lines: Sequence[tuple[str, str, str, str, str, tuple[str, str] | None]] = (SUBSCRIPTION_LINE,),
) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "kind": kind,
        "customer_number": customer,
        "order_id": order_id or f"O-{request_id}",
        "invoice_date": invoice_date,
        "payment_terms_days": terms,
        "lines": [
            {
                "product_code": code,
                "description": text,
                "quantity": qty,
                "unit": "kpl",
                "unit_price": price,
                "vat_rate": rate,
                **({"service_period": {"start": period[0], "end": period[1]}} if period else {}),
            }
            for code, text, qty, price, rate, period in lines
        ],
    }


def profile(
    customer: str, *, version: int = 1, valid: bool = True, company: bool = False, channel: str | None = None
) -> dict[str, Any]:
    data = (COMPANY if company else PERSON).model_copy()
    if channel is not None:
        data = data.model_copy(update={"delivery_channel": channel})
    errors = (
        []
        if valid
        else [
            ProfileError(
                code="address-missing",
                field="address",
                message_fi="Osoite puuttuu.",
                message_en="The address is missing.",
            )
        ]
    )
    return BillingProfileChanged(
        customer_number=customer,
        version=version,
        valid=valid,
        errors=errors,
        snapshot=data.model_copy(update={"name": f"Asiakas {customer}"}),
        consumer=not company,
    ).model_dump(mode="json")


def cancellation(order_id: str, customer: str) -> dict[str, Any]:
    return {"order_id": order_id, "customer_number": customer, "reason": "asiakas perui"}


def payment(payment_id: str, reference: str, amount: str, on: str = "2026-12-01") -> dict[str, Any]:
    return {
        "payment_id": payment_id,
        "reference": reference,
        "amount": amount,
        "payment_date": on,
        "payer_name": "Maksaja",
    }


def reversal(
    payment_id: str, reference: str, amount: str, *, reverses: str | None = None, on: str = "2026-12-02"
) -> dict[str, Any]:
    body: dict[str, Any] = {"payment_id": payment_id, "reference": reference, "amount": amount, "payment_date": on}
    if reverses is not None:
        body["reverses_payment_id"] = reverses
    return body


class Inbound:
    """Publishes to a sandbox's topics like the outside systems do."""

    def __init__(self, sandbox: Sandbox, publisher: Publisher) -> None:
        self.sandbox = sandbox
        self.publisher = publisher

    async def _send(self, topic: str, key: str, event_type: str, body: dict[str, Any] | bytes, source: str) -> None:
        value = body if isinstance(body, bytes) else json.dumps(body).encode()
        await self.publisher.send(
            self.sandbox.topic(topic), value, key=key, headers=ce_headers(event_type, str(uuid.uuid4()), source)
        )

    async def requests(self, *bodies: dict[str, Any]) -> None:
        for b in bodies:
            await self._send(
                topics.BILLING_REQUESTS.name,
                b["customer_number"],
                BillingRequestSubmitted.EVENT_TYPE,
                b,
                "urn:test:orders",
            )

    async def cancel(self, order_id: str, customer: str) -> None:
        await self._send(
            topics.BILLING_REQUESTS.name,
            customer,
            OrderCancelled.EVENT_TYPE,
            cancellation(order_id, customer),
            "urn:test:orders",
        )

    async def profiles(self, *bodies: dict[str, Any]) -> None:
        for b in bodies:
            await self._send(
                topics.BILLING_PROFILES.name,
                b["customer_number"],
                BillingProfileChanged.EVENT_TYPE,
                b,
                "urn:test:customers",
            )

    async def payment(self, body: dict[str, Any]) -> None:
        await self._send(
            topics.REFERENCE_PAYMENTS.name,
            reference_key(body["reference"]),
            ReferencePaymentReceived.EVENT_TYPE,
            body,
            "urn:test:bank",
        )

    async def reversal(self, body: dict[str, Any]) -> None:
        await self._send(
            topics.REFERENCE_PAYMENTS.name,
            reference_key(body["reference"]),
            ReferencePaymentReversed.EVENT_TYPE,
            body,
            "urn:test:bank",
        )


def today() -> date:
    return date(2026, 11, 23)


async def seed_ready(
    sandbox: Sandbox, customers: int, *, kind: str = "subscription", invoice_date: date | None = None, prefix: str = "S"
) -> None:
    """``customers`` customers with a valid profile and one ready request each
    (1 x 30.00 @ 10 % = 33.00 gross), written straight into the invoicing tables as the
    intake would store them (for tests about runs, not about intake)."""
    day = invoice_date or today()
    snapshot = PERSON.model_dump_json()
    line = json.dumps(
        [
            {
                "product_code": "HS-1KK",
                "description": "Helsingin Sanomat 1 kk",
                "quantity": "1",
                "unit": "kpl",
                "unit_price": "30.00",
                "vat_rate": "10",
                "vat_category": None,
                "service_period": None,
            }
        ]
    )
    await sandbox.fetch(
        """
        INSERT INTO billing_profiles (customer_number, version, valid, errors, snapshot, consumer)
        SELECT $1 || '-' || lpad(i::text, 6, '0'), 1, true, '[]'::jsonb, CAST($2 AS jsonb), true
        FROM generate_series(1, $3) AS i
        ON CONFLICT DO NOTHING
        """,
        prefix,
        snapshot,
        customers,
    )
    await sandbox.fetch(
        """
        INSERT INTO billing_requests (request_id, kind, customer_number, order_id, invoice_date, payment_terms_days,
                                      lines, line_count, net, content_hash, status, source)
        SELECT $1 || '-R' || $4 || '-' || i, $4, $1 || '-' || lpad(i::text, 6, '0'), 'O-' || i, $5, 14,
               CAST($2 AS jsonb), 1, 30.00, 'seed', 'open', 'test'
        FROM generate_series(1, $3) AS i
        """,
        prefix,
        line,
        customers,
        kind,
        day,
    )
