"""The reminders service's tables, and the values its repositories exchange with them.

- ``open_items``: the projection of every issued invoice (and positive corrective
  invoice) with what is still open on it, kept from the invoicing service's events,
  plus the clerk's dispute flag and where the invoice is in the reminder process
  (``last_level``, ``handed_over_on``).
- ``open_item_movements``: the payments and credit notes on an item, one row each
  (primary key = item, kind, payment id / credit note id): the penalty interest needs
  each payment's date, and a payment or credit note seen twice is applied once.
- ``customer_flags``: the latest billing profile per customer (version only grows):
  the "no reminders" flag and the billing snapshot a reminder is sent with.
- ``reminders``: one row per reminder, **unique (invoice_id, level)**: a second
  reminder #N for an invoice is impossible, whatever the retries or replicas.
- ``collection_handovers``: one row per invoice handed over (primary key invoice_id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSON, JSONB, UUID

from services.reminders.domain.items import OpenItem
from shared.jobs.tables import job_parts_table, jobs_table
from shared.messaging.tables import messaging_tables

metadata = MetaData()
messaging = messaging_tables(metadata)
jobs = jobs_table(metadata)
job_parts = job_parts_table(metadata)  # the parts of the create jobs (any replica takes them)

MONEY = Numeric(15, 2)

open_items = Table(
    "open_items",
    metadata,
    Column("invoice_id", Text, primary_key=True),
    Column("invoice_number", Text, nullable=False),
    Column("customer_number", Text, nullable=False),
    Column("consumer", Boolean, nullable=False),
    Column("document_type", Text, nullable=False),
    Column("invoice_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("gross", MONEY, nullable=False),
    Column("credited", MONEY, nullable=False, server_default=text("0")),
    Column("paid_total", MONEY, nullable=False, server_default=text("0")),
    Column("open_amount", MONEY, nullable=False),
    Column("status", Text, nullable=False),
    Column("settled_on", Date, nullable=True),
    Column("reference", Text, nullable=False),
    Column("reference_rf", Text, nullable=False),
    Column("seller", JSONB, nullable=False),
    Column("customer", JSONB, nullable=False),
    # the invoice's customer snapshot at issue (shared.events.invoicing.Customer)
    Column("disputed", Boolean, nullable=False, server_default=text("false")),
    Column("dispute_reason", Text, nullable=True),
    Column("disputed_by", Text, nullable=True),
    Column("disputed_at", DateTime(timezone=True), nullable=True),
    Column("last_level", Integer, nullable=False, server_default=text("0")),
    Column("last_reminder_on", Date, nullable=True),
    Column("handed_over_on", Date, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
# the reminder process walks items level by level in invoice-id order
Index(
    "ix_open_items_step",
    open_items.c.last_level,
    open_items.c.invoice_id,
    postgresql_where=open_items.c.handed_over_on.is_(None),
)
Index("ix_open_items_customer", open_items.c.customer_number)

movements = Table(
    "open_item_movements",
    metadata,
    Column("invoice_id", Text, nullable=False),
    Column("kind", Text, nullable=False),  # payment | credit
    Column("ref", Text, nullable=False),  # payment id | credit note's invoice id
    Column("on_date", Date, nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("invoice_id", "kind", "ref", name="pk_open_item_movements"),
)

customer_flags = Table(
    "customer_flags",
    metadata,
    Column("customer_number", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("consumer", Boolean, nullable=False),
    Column("no_reminders", Boolean, nullable=False),
    Column("valid", Boolean, nullable=False),
    Column("snapshot", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # the customer was erased (profile tombstone): the copy is anonymised, stays so
    Column("erased_at", DateTime(timezone=True), nullable=True),
)

reminders = Table(
    "reminders",
    metadata,
    Column("reminder_id", Text, primary_key=True),
    Column("invoice_id", Text, nullable=False),
    Column("level", Integer, nullable=False),
    Column("customer_number", Text, nullable=False),
    Column("reminder_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("open_amount", MONEY, nullable=False),
    Column("fee", MONEY, nullable=False),
    Column("compensation", MONEY, nullable=False),
    Column("interest", MONEY, nullable=False),
    Column("total_due", MONEY, nullable=False),
    Column("document", JSON, nullable=False),
    # as sent, kept as text (json, not jsonb): nothing queries inside it, and parsing
    # it into jsonb would be the costliest part of inserting a reminder
    Column("job_id", UUID(as_uuid=True), nullable=True),
    Column("actor", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("invoice_id", "level", name="uq_reminders_invoice_level"),
)

handovers = Table(
    "collection_handovers",
    metadata,
    Column("invoice_id", Text, primary_key=True),
    Column("customer_number", Text, nullable=False),
    Column("handed_over_on", Date, nullable=False),
    Column("agency", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("claim", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


# --- values the handlers exchange with the tables ------------------------------------


@dataclass(frozen=True)
class IssuedRow:
    invoice_id: str
    invoice_number: str
    customer_number: str
    consumer: bool
    document_type: str
    invoice_date: date
    due_date: date
    gross: Decimal
    reference: str
    reference_rf: str
    seller_json: str
    customer_json: str


@dataclass(frozen=True)
class Movement:
    invoice_id: str
    kind: str
    ref: str
    on: date
    amount: Decimal


@dataclass(frozen=True)
class PaymentState:
    """What invoicing says after a payment or settlement: cumulative, last one wins."""

    invoice_id: str
    paid_total: Decimal | None
    open_amount: Decimal
    status: str
    settled_on: date | None
    keep_settled_on: bool = False
    """A reversal that leaves the invoice settled: its settlement date stays (the
    reversal's date is not a settlement)."""


@dataclass(frozen=True)
class Profile:
    customer_number: str
    version: int
    consumer: bool
    no_reminders: bool
    valid: bool
    snapshot_json: str


@dataclass(frozen=True)
class StoredItem:
    """An open item with what a reminder document needs besides the rules' view."""

    item: OpenItem
    reference: str
    reference_rf: str
    seller_json: str
    customer_json: str
    """The invoice's customer snapshot (shared.events.invoicing.Customer as JSON)."""
    profile_version: int | None
    profile_json: str | None
    """The latest valid billing profile's snapshot (CustomerData as JSON), if any."""
    disputed_reason: str | None = None


@dataclass(frozen=True)
class NewReminder:
    reminder_id: str
    invoice_id: str
    level: int
    customer_number: str
    reminder_date: date
    due_date: date
    open_amount: Decimal
    fee: Decimal
    compensation: Decimal
    interest: Decimal
    total_due: Decimal
    document_json: str


@dataclass(frozen=True)
class NewHandover:
    invoice_id: str
    customer_number: str
    handed_over_on: date
    agency: str
    claim_json: str
