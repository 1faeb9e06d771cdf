"""Erasure of a customer (a data subject's request, GDPR art. 17): the customers
service owns the card, so the request is made here and spreads from here.

What one erasure does, in one transaction:

- the card keeps its customer number and the fields that do not name or reach the
  person (:data:`~shared.events.customers.KEPT_WHEN_ERASED`); name, business ID,
  addresses, e-mail, e-invoice address and operator are gone, and so is what the CRM
  last sent (``crm_data``). The card is marked erased: it is invalid (error
  ``erased``), a clerk cannot edit it (409) and CRM upserts of it are ignored (audit
  ``{"ignored": "erased"}``), so a late or replayed upsert cannot fill it again;
- the change history keeps who changed which field when, without the values;
- the dead letters holding that customer's records (the CRM upserts keyed by the
  number, or naming it in their body) are deleted, and so are outbox rows of its
  profile and corrections not yet published;
- a **tombstone** (key = customer number, value null) goes to the compacted
  ``customers.billing-profiles.v1`` through the outbox: every service that keeps a
  copy of the profile anonymises it (:mod:`shared.db.erasure`), and compaction then
  removes the customer's earlier profile records from the topic.

What it keeps (and says so in its answer): the invoices, credit notes and reminders
already issued, their PDFs and Finvoice messages, in invoicing, dispatch and reminders,
with the customer's details as issued. They are accounting vouchers (kirjanpitolaki
1336/1997, 2 luku 10 §: kept at least six years from the end of the year in which the
financial period ended; the books and financial statements ten years), and GDPR art.
17(3)(b) leaves data kept under such a legal obligation out of the erasure. An open
invoice stays open and is still collected (a reminder goes to the details on the
invoice): the debt is a legal claim (art. 17(3)(e)); the profile is erased all the same.

A second erasure of the same customer changes nothing and answers what the first did
(``already_erased``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text

from services.customers.tables import AuditEntry, CustomersUnitOfWork
from shared.events import topics
from shared.events.customers import (
    KEPT_WHEN_ERASED,
    BillingProfileErased,
    CustomerData,
    anonymised,
    erased_error,
)

AUDIT_KEPT = (*KEPT_WHEN_ERASED, "errors", "ignored", "sent_at", "last_applied", "erased")
"""Keys of a history row whose values stay (no personal data): the rest become null."""

KEPT_BY_LAW = (
    "Issued invoices, credit notes and reminders, their PDFs and Finvoice messages (invoicing, dispatch, "
    "reminders), with the customer's details as issued: accounting vouchers, kept at least 6 years from the end "
    "of the year in which the financial period ended (kirjanpitolaki 1336/1997, 2 luku 10 §; GDPR art. 17(3)(b)). "
    "Open invoices stay open and are still collected with the details on the invoice (GDPR art. 17(3)(e))."
)
KEPT_CARD = (
    "The card's customer number (the invoices refer to it) and how it is billed: " + ", ".join(KEPT_WHEN_ERASED) + "."
)


class CustomerErased(Exception):
    """The card was erased: it cannot be edited any more."""

    def __init__(self, customer_number: str) -> None:
        super().__init__(customer_number)
        self.customer_number = customer_number


@dataclass(frozen=True)
class Erasure:
    """What an erasure did (counts and field names only: no personal data)."""

    customer_number: str
    erased_at: datetime
    already_erased: bool
    fields: list[str] = field(default_factory=list)
    """The card's fields that held a value and were erased."""
    history_rows: int = 0
    dead_letters: int = 0
    outbox_rows: int = 0
    tombstone_topic: str = topics.BILLING_PROFILES.name


async def erased_at(uow: CustomersUnitOfWork, customer_number: str) -> datetime | None:
    value = await uow.session.scalar(_ERASED_AT, {"n": customer_number})
    return value if isinstance(value, datetime) else None


async def erase(
    customer_number: str, actor: str, uow: CustomersUnitOfWork, *, topic_prefix: str = ""
) -> Erasure | None:
    """Erase the customer (see the module); None when there is no such card."""
    async with uow:
        row = (await uow.session.execute(_LOCK, {"n": customer_number})).first()
        if row is None:
            return None
        if row.erased_at is not None:
            return Erasure(customer_number, row.erased_at, already_erased=True)
        data = CustomerData.model_validate(row.data)
        kept = anonymised(data)
        erased_fields = [k for k, v in data.model_dump(exclude_none=True).items() if k not in KEPT_WHEN_ERASED and v]
        version = row.version + 1
        errors = [erased_error()]
        now = await uow.session.scalar(text("SELECT now()"))
        await uow.session.execute(
            _ANONYMISE,
            {
                "n": customer_number,
                "data": kept.model_dump_json(),
                "version": version,
                "errors": json.dumps([e.model_dump() for e in errors]),
            },
        )
        history = await _erase_history(uow, customer_number)
        await uow.customers.add_audit([AuditEntry(customer_number, version, actor, {"erased": sorted(erased_fields)})])
        dead = await _delete_dead_letters(uow, customer_number)
        prefixed = [topic_prefix + t.name for t in (topics.BILLING_PROFILES, topics.CUSTOMER_CORRECTIONS)]
        outbox = (await uow.session.execute(_OUTBOX, {"n": customer_number, "topics": prefixed})).rowcount  # type: ignore[attr-defined]
        uow.outbox.add_tombstone(topics.BILLING_PROFILES.name, BillingProfileErased, key=customer_number)
        await uow.commit()
    assert isinstance(now, datetime)
    return Erasure(
        customer_number,
        now,
        already_erased=False,
        fields=sorted(erased_fields),
        history_rows=history,
        dead_letters=dead,
        outbox_rows=int(outbox or 0),
    )


def _anonymised_changes(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if k in AUDIT_KEPT else None) for k, v in changes.items()}


async def _erase_history(uow: CustomersUnitOfWork, customer_number: str) -> int:
    rows = (await uow.session.execute(_HISTORY, {"n": customer_number})).all()
    changed = [(r.id, _anonymised_changes(r.changes)) for r in rows]
    changed = [(i, c) for (i, c), r in zip(changed, rows, strict=True) if c != r.changes]
    if changed:
        await uow.session.execute(
            _SET_HISTORY,
            {"ids": [i for i, _ in changed], "changes": [json.dumps(c) for _, c in changed]},
        )
    return len(changed)


async def _delete_dead_letters(uow: CustomersUnitOfWork, customer_number: str) -> int:
    """Dead letters keyed by the number, and those whose body names it (a record with
    a wrong or missing key): the body is read as JSON here, never matched as text."""
    candidates = (await uow.session.execute(_DEAD_CANDIDATES, {"n": customer_number})).all()
    ids = [r.id for r in candidates if r.key == customer_number or _names(r.value, customer_number)]
    if ids:
        await uow.session.execute(text("DELETE FROM dead_letters WHERE id = ANY(CAST(:ids AS bigint[]))"), {"ids": ids})
    return len(ids)


def _names(value: bytes | None, customer_number: str) -> bool:
    try:
        body = json.loads(value or b"")
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("customer_number") == customer_number


_ERASED_AT = text("SELECT erased_at FROM customers WHERE customer_number = :n")
_LOCK = text("SELECT data, version, erased_at FROM customers WHERE customer_number = :n FOR UPDATE")
_ANONYMISE = text(
    """
    UPDATE customers
    SET name = NULL, data = CAST(:data AS jsonb), version = :version, valid = false, errors = CAST(:errors AS jsonb),
        crm_data = NULL, erased_at = now(), updated_at = now()
    WHERE customer_number = :n
    """
)
_HISTORY = text("SELECT id, changes FROM customer_changes WHERE customer_number = :n ORDER BY id")
_SET_HISTORY = text(
    """
    UPDATE customer_changes SET changes = CAST(r.c AS jsonb)
    FROM unnest(CAST(:ids AS bigint[]), CAST(:changes AS text[])) AS r(i, c)
    WHERE customer_changes.id = r.i
    """
)
_DEAD_CANDIDATES = text(
    """
    SELECT id, key, value FROM dead_letters
    WHERE key = :n OR (value IS NOT NULL AND position(convert_to(:n, 'UTF8') IN value) > 0)
    """
)
_OUTBOX = text("DELETE FROM outbox WHERE key = :n AND topic = ANY(CAST(:topics AS text[]))")
