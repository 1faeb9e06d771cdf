"""Billing profiles as the customers service last published them (a projection)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.tables import billing_profiles
from shared.events.customers import BillingProfileChanged, CustomerData


@dataclass(frozen=True)
class Profile:
    customer_number: str
    version: int
    valid: bool
    errors: list[dict[str, Any]]
    data: dict[str, Any]
    """The billing data as stored (JSON): copied into documents as it is."""
    consumer: bool

    @property
    def snapshot(self) -> CustomerData:
        return CustomerData.model_validate(self.data)


_UPSERT = text(
    """
    INSERT INTO billing_profiles (customer_number, version, valid, errors, snapshot, consumer)
    SELECT customer_number, version, valid, CAST(errors AS jsonb), CAST(snapshot AS jsonb), consumer
    FROM unnest(CAST(:customer_number AS text[]), CAST(:version AS int[]), CAST(:valid AS boolean[]),
                CAST(:errors AS text[]), CAST(:snapshot AS text[]), CAST(:consumer AS boolean[]))
         AS p(customer_number, version, valid, errors, snapshot, consumer)
    ON CONFLICT (customer_number) DO UPDATE
       SET version = EXCLUDED.version, valid = EXCLUDED.valid, errors = EXCLUDED.errors,
           snapshot = EXCLUDED.snapshot, consumer = EXCLUDED.consumer, updated_at = EXCLUDED.updated_at
     -- an erased customer's copy stays erased (a later profile is a replay)
     WHERE billing_profiles.version < EXCLUDED.version AND billing_profiles.erased_at IS NULL
    """
)


class ProfileStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, profiles: Sequence[BillingProfileChanged]) -> int:
        """Keep the highest version per customer; returns how many rows changed."""
        latest: dict[str, BillingProfileChanged] = {}
        for p in profiles:
            if p.customer_number not in latest or p.version > latest[p.customer_number].version:
                latest[p.customer_number] = p
        if not latest:
            return 0
        # One statement with array parameters (compiled once, whatever the batch size);
        # JSON made by pydantic's serializer, stored as jsonb (the same value).
        rows = list(latest.values())
        result = await self.session.execute(
            _UPSERT,
            {
                "customer_number": [p.customer_number for p in rows],
                "version": [p.version for p in rows],
                "valid": [p.valid for p in rows],
                "errors": ["[" + ",".join(e.model_dump_json() for e in p.errors) + "]" for p in rows],
                "snapshot": [p.snapshot.model_dump_json() for p in rows],
                "consumer": [p.consumer for p in rows],
            },
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def get_many(self, numbers: Iterable[str]) -> dict[str, Profile]:
        rows = await self.session.execute(
            select(billing_profiles).where(billing_profiles.c.customer_number.in_(list(set(numbers))))
        )
        return {r.customer_number: to_profile(r) for r in rows}


def to_profile(r: Any) -> Profile:
    return Profile(
        customer_number=r.customer_number,
        version=r.version,
        valid=r.valid,
        errors=list(r.errors),
        data=r.snapshot,
        consumer=r.consumer,
    )
