"""Erasure of a customer in a service that keeps a copy of the billing profiles (a
projection of ``customers.billing-profiles.v1``): what a profile tombstone does there.

The copy is anonymised, not deleted: its row stays, marked ``erased_at``, with only the
fields that do not name or reach the person (:data:`~shared.events.customers.KEPT_WHEN_ERASED`),
``valid`` false and the ``erased`` error where the table has errors. Kept marked, so a
profile of the customer that arrives later (a replay, a redelivery) changes nothing:
every upsert of the copy skips an erased row. A tombstone for a customer the service
never saw leaves an erased row too, for the same reason.

The service's dead letters of that customer's profile records go as well: they are the
personal data the tombstone erases, and replaying one would change nothing now.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.customers import KEPT_WHEN_ERASED, erased_error

COPIES = frozenset({"billing_profiles", "customer_flags"})
"""The tables that hold a copy of the profiles (invoicing and dispatch; reminders)."""

PLACEHOLDER = json.dumps({"customer_type": "person"})
"""The snapshot of a copy made by a tombstone alone (nothing known of the customer)."""


async def erase_profile_copies(
    session: AsyncSession,
    table: str,
    numbers: Sequence[str],
    *,
    dead_letter_topic: str,
    insert_defaults: Mapping[str, str] | None = None,
    with_errors: bool = True,
) -> tuple[int, int]:
    """Anonymise the copies of ``numbers`` in ``table`` (a name from code, never from
    input) and delete their dead letters on ``dead_letter_topic``. ``insert_defaults``:
    SQL values of the table's other NOT NULL columns for a row the tombstone creates.
    Returns (copies erased, dead letters deleted)."""
    if table not in COPIES:
        raise ValueError(f"not a profile copy: {table!r}")
    numbers = sorted(set(numbers))
    if not numbers:
        return 0, 0
    extra = dict(insert_defaults or {})
    if with_errors:
        extra["errors"] = "CAST(:errors AS jsonb)"
    columns = "".join(f", {c}" for c in extra)
    values = "".join(f", {v}" for v in extra.values())
    errors_set = ", errors = CAST(:errors AS jsonb)" if with_errors else ""
    # table and columns from COPIES and code, never from input
    statement = text(
        f"""
        INSERT INTO {table} AS t (customer_number, version, valid, snapshot, erased_at{columns})
        SELECT n, 0, false, CAST(:placeholder AS jsonb), now(){values}
        FROM unnest(CAST(:numbers AS text[])) AS n
        ON CONFLICT (customer_number) DO UPDATE
        SET valid = false,
            snapshot = COALESCE(
                (SELECT jsonb_object_agg(k, v) FROM jsonb_each(t.snapshot) AS e(k, v)
                 WHERE k = ANY(CAST(:kept AS text[]))),
                CAST(:placeholder AS jsonb)),
            erased_at = COALESCE(t.erased_at, now()), updated_at = now(){errors_set}
        """  # noqa: S608
    )
    params: dict[str, object] = {"numbers": numbers, "kept": list(KEPT_WHEN_ERASED), "placeholder": PLACEHOLDER}
    if with_errors:
        params["errors"] = json.dumps([erased_error().model_dump(mode="json")])
    copies = (await session.execute(statement, params)).rowcount  # type: ignore[attr-defined]
    dead = (
        await session.execute(
            text("DELETE FROM dead_letters WHERE topic = :topic AND key = ANY(CAST(:numbers AS text[]))"),
            {"topic": dead_letter_topic, "numbers": numbers},
        )
    ).rowcount  # type: ignore[attr-defined]
    return int(copies or 0), int(dead or 0)
