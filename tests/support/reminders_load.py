"""Open items written straight into the reminders service's table (no events): the
starting point of the crash test and the COPY floor of the benchmark."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from shared.references import national_reference, rf_reference
from tests.support import documents

COLUMNS = (
    "invoice_id", "invoice_number", "customer_number", "consumer", "document_type", "invoice_date", "due_date",
    "gross", "open_amount", "status", "reference", "reference_rf", "seller", "customer",
)  # fmt: skip


def open_item_rows(count: int, *, due: date, first_number: int = 2_000_000_001, consumer: bool = True) -> list[Any]:
    """``count`` open, overdue invoices of 63.37 each (the default test invoice), one customer each."""
    seller = documents.SELLER.model_dump_json()
    data = documents.PERSON if consumer else documents.COMPANY
    rows = []
    for i in range(count):
        number = first_number + i
        reference = national_reference(str(number))
        customer = documents.customer(f"K{number}", data, consumer=consumer).model_dump_json()
        rows.append(
            (
                f"inv-{number}",
                str(number),
                f"K{number}",
                consumer,
                "invoice",
                due - timedelta(days=14),
                due,
                Decimal("63.37"),
                Decimal("63.37"),
                "open",
                reference,
                rf_reference(reference),
                seller,
                customer,
            )
        )
    return rows


async def copy_open_items(dsn: str, rows: list[Any], table: str = "open_items") -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.set_type_codec(  # COPY is binary: jsonb's binary form is version 1 + the text
            "jsonb",
            encoder=lambda v: b"\x01" + v.encode(),
            decoder=lambda b: b[1:].decode(),
            schema="pg_catalog",
            format="binary",
        )
        await conn.copy_records_to_table(table, records=rows, columns=list(COLUMNS))
    finally:
        await conn.close()
