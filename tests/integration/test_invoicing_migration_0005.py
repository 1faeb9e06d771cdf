"""Migration 0005 (seed 004's corrective drafts keep the original quantity): a corrective
draft made before it gets each line's original quantity filled in from the corrected
invoice's lines netted with its confirmed corrective invoices, matched as the service
matches them (request id and line, else product, price, rate and text)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.invoicing.app import SPEC
from shared.db.migrations import upgrade
from tests.support.isolation import Sandbox

pytestmark = pytest.mark.integration

INVOICE = """
    INSERT INTO invoices (status, document_type, kind, series, number, customer_number, invoice_date, due_date,
                          payment_terms_days, net, vat, gross, vat_breakdown, created_by, original_invoice_id)
    VALUES ($1, $2, 'notice', $3, $4, 'K-1', '2026-11-23', '2026-12-07', 14, 0, 0, 0, '[]', 'test', $5)
    RETURNING id
"""
LINE = """
    INSERT INTO invoice_lines (invoice_id, line_no, corrective, request_id, request_line, product_code, description,
                               quantity, unit, unit_price, vat_rate, net, chargeable, reversal)
    VALUES ($1, $2, $3, $4, $5, $6, $6, $7, 'kpl', $8, 25.5, 0, $9, $10)
"""


async def test_a_corrective_draft_made_before_gets_its_original_quantities(sandbox: Sandbox) -> None:
    await upgrade(SPEC.migrations_dir, sandbox.db_url, "0004")
    original = await sandbox.scalar(INVOICE, "confirmed", "invoice", "notice", 2000000001, None)
    for no, request, index, code, qty, price, chargeable in (
        (1, "R1", 0, "TYO", "8", "50.00", True),
        (2, "R1", 1, "KUVA", "2", "12.10", True),
        (3, None, None, "X", "5", "1.00", True),  # no request: matched by product, price, rate, text
        (4, "R2", 0, "TYO", "3", "50.00", False),  # not billed
    ):
        await sandbox.fetch(
            LINE, original, no, False, request, index, code, Decimal(qty), Decimal(price), chargeable, False
        )
    # an earlier correction, confirmed: hours 8 -> 6
    earlier = await sandbox.scalar(INVOICE, "confirmed", "credit-note", "corrective", 3000000001, original)
    await sandbox.fetch(LINE, earlier, 1, True, "R1", 0, "TYO", Decimal(-8), Decimal("50.00"), True, True)
    await sandbox.fetch(LINE, earlier, 2, True, "R1", 0, "TYO", Decimal(6), Decimal("50.00"), True, False)
    # the open corrective draft, its quantities already the clerk's new ones
    draft = await sandbox.scalar(INVOICE, "draft", "corrective", "corrective", None, original)
    for no, request, index, code, qty, price in (
        (1, "R1", 0, "TYO", "4", "50.00"),
        (2, "R1", 1, "KUVA", "2", "12.10"),
        (3, None, None, "X", "1", "1.00"),
    ):
        await sandbox.fetch(LINE, draft, no, True, request, index, code, Decimal(qty), Decimal(price), True, False)

    await upgrade(SPEC.migrations_dir, sandbox.db_url)

    rows = await sandbox.fetch(
        "SELECT invoice_id, line_no, quantity, original_quantity FROM invoice_lines ORDER BY invoice_id, line_no"
    )
    got = {(r["invoice_id"], r["line_no"]): (r["quantity"], r["original_quantity"]) for r in rows}
    # the draft: hours 8 - 8 + 6 = 6, pictures 2, the request-less line 5; its quantities kept
    assert [got[(draft, n)] for n in (1, 2, 3)] == [
        (Decimal(4), Decimal(6)),
        (Decimal(2), Decimal(2)),
        (Decimal(1), Decimal(5)),
    ]
    # lines of issued documents have none
    assert all(oq is None for (invoice, _), (_, oq) in got.items() if invoice != draft)
