"""Billing profiles as the customers service last published them (a projection)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
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
        rows = [
            {
                "customer_number": p.customer_number,
                "version": p.version,
                "valid": p.valid,
                "errors": [e.model_dump(mode="json") for e in p.errors],
                "snapshot": p.snapshot.model_dump(mode="json"),
                "consumer": p.consumer,
            }
            for p in latest.values()
        ]
        stmt = insert(billing_profiles).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=["customer_number"],
            set_={
                "version": stmt.excluded.version,
                "valid": stmt.excluded.valid,
                "errors": stmt.excluded.errors,
                "snapshot": stmt.excluded.snapshot,
                "consumer": stmt.excluded.consumer,
                "updated_at": stmt.excluded.updated_at,
            },
            # an erased customer's copy stays erased (a later profile is a replay)
            where=(billing_profiles.c.version < stmt.excluded.version) & billing_profiles.c.erased_at.is_(None),
        )
        result = await self.session.execute(stmt)
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
