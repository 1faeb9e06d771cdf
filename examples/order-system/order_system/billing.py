"""The order system's side of billing: an order becomes a billing request, a cancelled
order a cancellation, on the back-office's inbound topic ``sales.billing-requests.v1``
(CloudEvents in Kafka's binary mode, keyed by customer number, per its AsyncAPI)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer

from order_system.orders import Order

TOPIC = "sales.billing-requests.v1"
REQUEST = "fi.billing.sales.billing-request-submitted.v1"
CANCELLED = "fi.billing.sales.order-cancelled.v1"
SOURCE = "urn:order-system"


def request_id(order: Order) -> str:
    """One billing request per order: resending it is harmless (idempotent by id)."""
    return f"ORD-{order.order_id}"


def billing_request(order: Order) -> dict[str, Any]:
    return {
        "request_id": request_id(order),
        "kind": order.kind,
        "customer_number": order.customer_number,
        "order_id": order.order_id,
        "invoice_date": order.ordered_on.isoformat(),
        "payment_terms_days": order.payment_terms_days,
        "lines": [
            {
                "product_code": line.product,
                "description": line.title,
                "quantity": str(line.quantity),
                "unit": line.unit,
                "unit_price": str(line.unit_price),
                "vat_rate": str(line.vat_percent),
                **(
                    {"service_period": {"start": line.period[0].isoformat(), "end": line.period[1].isoformat()}}
                    if line.period
                    else {}
                ),
            }
            for line in order.lines
        ],
    }


def cancellation(order: Order, reason: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"order_id": order.order_id, "customer_number": order.customer_number}
    if reason:
        body["reason"] = reason
    return body


def headers(ce_type: str) -> list[tuple[str, bytes]]:
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(uuid.uuid4()).encode()),
        ("ce_source", SOURCE.encode()),
        ("ce_type", ce_type.encode()),
        ("ce_time", datetime.now(UTC).isoformat().encode()),
        ("content-type", b"application/json"),
    ]


class BillingPublisher:
    """Publishes to the billing back-office; every send waits for Kafka's acknowledgement."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._producer = Producer({"bootstrap.servers": bootstrap_servers, "acks": "all", "enable.idempotence": True})

    def close(self) -> None:
        self._producer.flush(10)
        del self._producer

    def _send(self, ce_type: str, key: str, body: dict[str, Any]) -> None:
        errors: list[Any] = []
        self._producer.produce(
            TOPIC,
            json.dumps(body).encode(),
            key=key.encode(),
            headers=headers(ce_type),
            on_delivery=lambda err, _msg: errors.append(err) if err else None,
        )
        if self._producer.flush(30) or errors:
            raise RuntimeError(f"billing did not get {ce_type}: {errors or 'not acknowledged'}")

    def order_placed(self, order: Order) -> str:
        self._send(REQUEST, order.customer_number, billing_request(order))
        return request_id(order)

    def order_cancelled(self, order: Order, reason: str | None = None) -> None:
        self._send(CANCELLED, order.customer_number, cancellation(order, reason))
