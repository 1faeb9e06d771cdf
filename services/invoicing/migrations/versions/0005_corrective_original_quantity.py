"""invoicing: a corrective draft's lines keep the quantity the corrected invoice bills
now (seed 004: the draft starts at quantity 0 and shows the original quantity)

Drafts made before this revision keep their quantities (those were already the new
quantities); their original quantity is filled in from the corrected invoice's lines
netted with its confirmed corrective invoices, matched as the service matches them
(request id and line, else product, price, rate and text).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("invoice_lines", sa.Column("original_quantity", sa.Numeric(precision=15, scale=3), nullable=True))
    op.execute(
        """
        UPDATE invoice_lines d
        SET original_quantity = (
            SELECT coalesce(sum(l.quantity), 0)
            FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
            WHERE ((i.id = draft.original_invoice_id AND l.chargeable AND NOT l.corrective)
                   OR (i.original_invoice_id = draft.original_invoice_id AND i.status = 'confirmed'))
              AND CASE WHEN d.request_id IS NOT NULL
                       THEN l.request_id = d.request_id AND l.request_line IS NOT DISTINCT FROM d.request_line
                       ELSE l.request_id IS NULL AND l.product_code = d.product_code
                            AND l.unit_price = d.unit_price AND l.vat_rate = d.vat_rate
                            AND l.description = d.description
                  END
        )
        FROM invoices draft
        WHERE d.invoice_id = draft.id AND draft.status = 'draft' AND draft.original_invoice_id IS NOT NULL
        """
    )


def downgrade() -> None:
    op.drop_column("invoice_lines", "original_quantity")
