"""Builders for customer upserts as the CRM would publish them."""

from __future__ import annotations

from typing import Any

from shared.events.customers import CustomerUpserted

UPSERT_TYPE = CustomerUpserted.EVENT_TYPE


def valid_company(**overrides: Any) -> dict[str, Any]:
    customer: dict[str, Any] = {
        "customer_type": "company",
        "name": "Kustannus Oy Esimerkki",
        "business_id": "0737546-2",
        "address": {"street_lines": ["Mannerheimintie 1"], "postal_code": "00100", "city": "Helsinki", "country": "FI"},
        "email": "laskut@example.fi",
        "delivery_channel": "email",
        "language": "fi",
    }
    customer.update(overrides)
    return customer


def upsert(number: str, **overrides: Any) -> dict[str, Any]:
    return {"customer_number": number, "customer": valid_company(**overrides)}
