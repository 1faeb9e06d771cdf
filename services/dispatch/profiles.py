"""The customers' current billing data, as dispatch keeps it: a projection of the
customers service's billing profiles (``customers.billing-profiles.v1``, compacted,
key = customer number), one row per customer, the highest version wins (a profile
redelivered or replayed out of order changes nothing).

Why dispatch keeps it, when every document carries the customer's snapshot taken at
issue: a failed document (the mail server refused the address) is re-sent after the
clerk fixes the card, and must go to the fixed address, not again to the refused one;
a document moved to another channel needs the data that channel needs (the postal
address for print). See :mod:`services.dispatch.domain.recipients`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.domain.recipients import Profile
from services.dispatch.tables import billing_profiles
from shared.db.erasure import erase_profile_copies
from shared.events.customers import BillingProfileChanged, BillingProfileErased, CustomerData
from shared.events.envelope import Envelope

_UPSERT = text(
    """
    INSERT INTO billing_profiles (customer_number, version, valid, errors, snapshot)
    SELECT n, v, ok, CAST(e AS jsonb), CAST(s AS jsonb)
    FROM unnest(CAST(:numbers AS text[]), CAST(:versions AS int[]), CAST(:valid AS boolean[]),
                CAST(:errors AS text[]), CAST(:snapshots AS text[]))
         AS r(n, v, ok, e, s)
    ON CONFLICT (customer_number) DO UPDATE
    SET version = excluded.version, valid = excluded.valid, errors = excluded.errors,
        snapshot = excluded.snapshot, updated_at = now()
    WHERE billing_profiles.version < excluded.version AND billing_profiles.erased_at IS NULL
    """
)


class ProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    @property
    def session(self) -> AsyncSession:
        return self._s

    async def upsert(self, profiles: Sequence[BillingProfileChanged]) -> None:
        """Keep the highest version per customer (an older profile changes nothing)."""
        latest: dict[str, BillingProfileChanged] = {}
        for p in profiles:
            if p.customer_number not in latest or p.version > latest[p.customer_number].version:
                latest[p.customer_number] = p
        if not latest:
            return
        rows = list(latest.values())
        await self._s.execute(
            _UPSERT,
            {
                "numbers": [p.customer_number for p in rows],
                "versions": [p.version for p in rows],
                "valid": [p.valid for p in rows],
                "errors": [json.dumps([e.model_dump(mode="json") for e in p.errors]) for p in rows],
                "snapshots": [p.snapshot.model_dump_json() for p in rows],
            },
        )

    async def get_many(self, customer_numbers: Iterable[str]) -> dict[str, Profile]:
        numbers = sorted(set(customer_numbers))
        if not numbers:
            return {}
        p = billing_profiles.c
        rows = await self._s.execute(
            select(p.customer_number, p.version, p.valid, p.errors, p.snapshot).where(p.customer_number.in_(numbers))
        )
        return {
            r.customer_number: Profile(
                r.customer_number, r.version, r.valid, list(r.errors), CustomerData.model_validate(r.snapshot)
            )
            for r in rows
        }

    async def get(self, customer_number: str) -> Profile | None:
        return (await self.get_many([customer_number])).get(customer_number)


async def apply_profiles(events: Sequence[Envelope[Any]], profiles: ProfileRepository, *, topic: str) -> None:
    """Profiles (the highest version wins) and tombstones: an erased customer's copy is
    anonymised and stays so, its profile dead letters on ``topic`` go (the documents
    already issued keep the snapshot they were issued with: invoices, kept by law)."""
    await profiles.upsert([e.data for e in events if isinstance(e.data, BillingProfileChanged)])
    erased = [e.data.customer_number for e in events if isinstance(e.data, BillingProfileErased)]
    if erased:
        await erase_profile_copies(profiles.session, "billing_profiles", erased, dead_letter_topic=topic)
