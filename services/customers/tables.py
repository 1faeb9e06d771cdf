"""The customers service's tables and the queries its handlers need."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    any_,
    bindparam,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from services.customers.domain.cards import Card, Change
from shared.db.uow import UnitOfWork
from shared.events.customers import CustomerData, ProfileError
from shared.jobs.tables import jobs_table
from shared.messaging.tables import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)
jobs = jobs_table(metadata)

customers = Table(
    "customers",
    metadata,
    Column("customer_number", Text, primary_key=True),
    Column("name", Text, nullable=True),
    Column("data", JSONB, nullable=False),
    Column("version", Integer, nullable=False),
    Column("valid", Boolean, nullable=False),
    Column("errors", JSONB, nullable=False),
    Column("crm_data", JSONB, nullable=True),
    # What the CRM last sent (its own view of the card): an upsert applies only the
    # fields that differ from it, so a clerk's fix survives upserts that leave it alone.
    # NULL: the same as ``data`` (the common case, stored once); a clerk's change
    # first copies the card's data here, so the CRM's view is kept.
    Column("crm_time", DateTime(timezone=True), nullable=True),
    # ce_time of the last upsert applied: an older one changes nothing.
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("erased_at", DateTime(timezone=True), nullable=True),
    # an erasure request anonymised the card: upserts of it are ignored from then on
    Index("ix_customers_invalid", "customer_number", postgresql_where=text("NOT valid")),
)
Index("ix_customers_name_lower", func.lower(customers.c.name))

customer_changes = Table(
    "customer_changes",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("customer_number", Text, ForeignKey("customers.customer_number"), nullable=False),
    Column("version", Integer, nullable=True),
    # None: the row records an event that changed nothing (a stale upsert, ignored).
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", Text, nullable=False),
    Column("event_id", Text, nullable=True),
    Column("changes", JSONB, nullable=False),
    UniqueConstraint("customer_number", "version", name="uq_customer_changes_version"),
)


@dataclass(frozen=True)
class AuditEntry:
    customer_number: str
    version: int | None
    actor: str
    changes: dict[str, Any]
    event_id: str | None = None


@dataclass(frozen=True)
class TrackedCard:
    """A card with what the CRM last sent and when (for the next upsert)."""

    card: Card
    crm: CustomerData | None
    crm_time: datetime | None
    erased: bool = False
    """An erasure request anonymised the card: upserts of it are ignored."""


@dataclass(frozen=True)
class CrmSeen:
    """The upsert just applied to a card: the CRM's data and its ``ce_time``."""

    data: CustomerData
    time: datetime


@dataclass(frozen=True)
class StoredCard:
    card: Card
    valid: bool
    errors: list[ProfileError]
    updated_at: datetime
    erased_at: datetime | None = None


def _stored(row: Any) -> StoredCard:
    card = Card(row.customer_number, CustomerData.model_validate(row.data), row.version)
    errors = [ProfileError.model_validate(e) for e in row.errors]
    return StoredCard(card=card, valid=row.valid, errors=errors, updated_at=row.updated_at, erased_at=row.erased_at)


class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, customer_number: str) -> StoredCard | None:
        row = (await self._s.execute(select(customers).where(customers.c.customer_number == customer_number))).first()
        return _stored(row) if row else None

    async def get_many(self, numbers: Iterable[str], *, lock: bool = True) -> dict[str, Card]:
        stmt = select(customers.c.customer_number, customers.c.data, customers.c.version).where(
            customers.c.customer_number.in_(list(numbers))
        )
        if lock:
            stmt = stmt.with_for_update()
        rows = await self._s.execute(stmt)
        return {
            r.customer_number: Card(r.customer_number, CustomerData.model_validate(r.data), r.version) for r in rows
        }

    async def get_for_upsert(self, numbers: Iterable[str]) -> dict[str, TrackedCard]:
        """Cards with the CRM's last data and time, locked until the transaction ends."""
        rows = await self._s.execute(
            select(
                customers.c.customer_number,
                customers.c.data,
                customers.c.version,
                customers.c.crm_data,
                customers.c.crm_time,
                customers.c.erased_at,
            )
            # one array parameter, not an IN list of one parameter per number
            .where(customers.c.customer_number == any_(bindparam(None, list(numbers), type_=ARRAY(Text))))
            .with_for_update()
        )
        out: dict[str, TrackedCard] = {}
        for r in rows:
            data = CustomerData.model_validate(r.data)
            crm = data if r.crm_data is None else CustomerData.model_validate(r.crm_data)
            card = Card(r.customer_number, data, r.version)
            out[r.customer_number] = TrackedCard(card, crm, r.crm_time, erased=r.erased_at is not None)
        return out

    async def save(self, changes: Sequence[Change], crm: Mapping[str, CrmSeen] | None = None) -> None:
        """New versions of cards; ``crm``: the upserts that made them (kept per card)."""
        if changes:
            await self._s.execute(_UPSERT, _save_params(changes, crm or {}))

    async def save_crm_seen(self, seen: Mapping[str, CrmSeen]) -> None:
        """Upserts applied without a new version: remember what the CRM sent, and when."""
        if seen:
            await self._s.execute(_CRM_SEEN, _seen_params(seen))

    async def add_audit(self, entries: Sequence[AuditEntry]) -> None:
        if entries:
            await self._s.execute(_AUDIT, _audit_params(entries))

    async def save_upserts(
        self,
        changes: Sequence[Change],
        crm: Mapping[str, CrmSeen],
        seen: Mapping[str, CrmSeen],
        audit: Sequence[AuditEntry],
    ) -> None:
        """:meth:`save` (``changes`` made by the upserts ``crm``), :meth:`save_crm_seen`
        (``seen``: cards none of ``changes`` touches) and :meth:`add_audit` in one
        statement: one round trip for a batch of upserts instead of three."""
        if not (changes or seen or audit):
            return
        params = {
            **{f"c_{k}": v for k, v in _save_params(changes, crm).items()},
            **{f"s_{k}": v for k, v in _seen_params(seen).items()},
            **{f"a_{k}": v for k, v in _audit_params(audit).items()},
        }
        await self._s.execute(_SAVE_UPSERTS, params)

    async def search(self, query: str, limit: int = 50) -> list[StoredCard]:
        # contains(autoescape): a % or _ in the query is a character, not a wildcard
        name_matches = func.lower(customers.c.name).contains(query.lower(), autoescape=True)
        rows = await self._s.execute(
            select(customers)
            .where(or_(customers.c.customer_number == query, name_matches))
            .order_by(customers.c.customer_number)
            .limit(limit)
        )
        return [_stored(r) for r in rows]

    async def list_invalid(self, limit: int = 100, offset: int = 0) -> tuple[int, list[StoredCard]]:
        total = await self._s.scalar(select(func.count()).select_from(customers).where(~customers.c.valid))
        rows = await self._s.execute(
            select(customers)
            .where(~customers.c.valid)
            .order_by(customers.c.customer_number)
            .limit(limit)
            .offset(offset)
        )
        return int(total or 0), [_stored(r) for r in rows]

    async def history(self, customer_number: str) -> list[dict[str, Any]]:
        rows = await self._s.execute(
            select(customer_changes)
            .where(customer_changes.c.customer_number == customer_number)
            .order_by(customer_changes.c.id)
        )
        return [dict(r._mapping) for r in rows]

    async def count(self) -> int:
        return int(await self._s.scalar(select(func.count()).select_from(customers)) or 0)

    async def all_numbers_after(self, after: str, limit: int) -> list[str]:
        rows = await self._s.execute(
            select(customers.c.customer_number)
            .where(customers.c.customer_number > after)
            .order_by(customers.c.customer_number)
            .limit(limit)
        )
        return [r[0] for r in rows]

    async def stored_many(self, numbers: Sequence[str]) -> list[StoredCard]:
        rows = await self._s.execute(
            select(customers).where(customers.c.customer_number.in_(list(numbers))).with_for_update()
        )
        return [_stored(r) for r in rows]


def _errors_json(errors: Sequence[ProfileError]) -> str:
    return json.dumps([e.model_dump() for e in errors])


def _save_params(changes: Sequence[Change], crm: Mapping[str, CrmSeen]) -> dict[str, list[Any]]:
    seen = [crm.get(c.card.customer_number) for c in changes]
    same = [
        s is not None and (s.data is c.card.data or s.data == c.card.data) for s, c in zip(seen, changes, strict=True)
    ]
    return {
        "numbers": [c.card.customer_number for c in changes],
        "names": [c.card.data.name for c in changes],
        "data": [c.card.data.model_dump_json() for c in changes],
        "versions": [c.card.version for c in changes],
        "valid": [not c.errors for c in changes],
        "errors": [_errors_json(c.errors) for c in changes],
        # what the CRM sent is mostly the card itself: then a flag, not a copy
        "crm_same": same,
        "crm_data": [None if s is None or m else s.data.model_dump_json() for s, m in zip(seen, same, strict=True)],
        "crm_times": [None if s is None else s.time for s in seen],
    }


def _seen_params(seen: Mapping[str, CrmSeen]) -> dict[str, list[Any]]:
    return {
        "numbers": list(seen),
        "crm_data": [s.data.model_dump_json() for s in seen.values()],
        "crm_times": [s.time for s in seen.values()],
    }


def _audit_params(entries: Sequence[AuditEntry]) -> dict[str, list[Any]]:
    return {
        "numbers": [e.customer_number for e in entries],
        "versions": [e.version for e in entries],
        "actors": [e.actor for e in entries],
        "event_ids": [e.event_id for e in entries],
        "changes": [json.dumps(e.changes) for e in entries],
    }


# Bulk writes as one statement with array parameters each: compiled once, no per-row
# parameter processing (a batch of 500 upserts is one round trip per table).
_UPSERT_SQL = """
    INSERT INTO customers (customer_number, name, data, version, valid, errors, crm_data, crm_time)
    SELECT n, nm, CAST(d AS jsonb), v, ok, CAST(e AS jsonb), CASE WHEN same THEN NULL ELSE CAST(cd AS jsonb) END, ct
    FROM unnest(CAST(:numbers AS text[]), CAST(:names AS text[]), CAST(:data AS text[]),
                CAST(:versions AS int[]), CAST(:valid AS boolean[]), CAST(:errors AS text[]),
                CAST(:crm_same AS boolean[]), CAST(:crm_data AS text[]), CAST(:crm_times AS timestamptz[]))
         AS r(n, nm, d, v, ok, e, same, cd, ct)
    ON CONFLICT (customer_number) DO UPDATE SET
        name = excluded.name, data = excluded.data, version = excluded.version,
        valid = excluded.valid, errors = excluded.errors, updated_at = now(),
        -- an upsert (it has a time) says what the CRM sent (NULL: this very data); a
        -- clerk's change (no time) keeps the CRM's view, copying it out of the old data
        -- when it was "the same as data"
        crm_data = CASE WHEN excluded.crm_time IS NOT NULL THEN excluded.crm_data
                        ELSE COALESCE(customers.crm_data, customers.data) END,
        crm_time = COALESCE(excluded.crm_time, customers.crm_time)
    """

_CRM_SEEN_SQL = """
    UPDATE customers SET crm_data = CAST(r.cd AS jsonb), crm_time = r.ct
    FROM unnest(CAST(:numbers AS text[]), CAST(:crm_data AS text[]), CAST(:crm_times AS timestamptz[])) AS r(n, cd, ct)
    WHERE customers.customer_number = r.n
    """

_AUDIT_SQL = """
    INSERT INTO customer_changes (customer_number, version, actor, event_id, changes)
    SELECT n, v, a, i, CAST(c AS jsonb)
    FROM unnest(CAST(:numbers AS text[]), CAST(:versions AS int[]), CAST(:actors AS text[]),
                CAST(:event_ids AS text[]), CAST(:changes AS text[])) AS r(n, v, a, i, c)
    """
_UPSERT = text(_UPSERT_SQL)
_CRM_SEEN = text(_CRM_SEEN_SQL)
_AUDIT = text(_AUDIT_SQL)


def _prefixed(sql: str, prefix: str) -> str:
    return re.sub(r"(?<![:\w]):(\w+)", rf":{prefix}\1", sql)


# The three in one statement (data-modifying CTEs run to completion whether read or
# not; the cards updated for what the CRM sent are never the ones upserted, and the
# audit rows' foreign key is checked at the end of the statement, new cards included).
_SAVE_UPSERTS = text(
    f"""
    WITH cards AS ({_prefixed(_UPSERT_SQL, "c_")}),
         seen AS ({_prefixed(_CRM_SEEN_SQL, "s_")}),
         audit AS ({_prefixed(_AUDIT_SQL, "a_")})
    SELECT 1
    """
)


class CustomersUnitOfWork(UnitOfWork):
    customers: CustomerRepository

    def _open(self) -> None:
        self.customers = CustomerRepository(self.session)
