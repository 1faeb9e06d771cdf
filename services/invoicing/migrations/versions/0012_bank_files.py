"""Payments from the bank's own files: reversals in ``payments`` (kind, the payment a
reversal takes back, and the status ``reversed``), and the imported files with their
entries (``bank_files`` by sha256, ``bank_file_entries`` unique by archive id and kind
over the entries that are not repeats: a correction may reuse its payment's archive id).

Adds two nullable/defaulted columns to ``payments`` (no rewrite: the default is a
constant) and two new tables.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(15, 2)


def upgrade() -> None:
    op.add_column("payments", sa.Column("kind", sa.Text(), server_default=sa.text("'payment'"), nullable=False))
    op.add_column("payments", sa.Column("reverses_payment_id", sa.Text(), nullable=True))
    op.create_check_constraint("ck_payments_kind", "payments", "kind IN ('payment', 'reversal')")
    op.create_table(
        "bank_files",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("file_id", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("imported_by", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("reversals", sa.Integer(), nullable=False),
        sa.Column("reversal_amount", MONEY, nullable=False),
        sa.Column("recorded", sa.Integer(), nullable=False),
        sa.Column("repeated", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_index("ix_bank_files_imported_at", "bank_files", ["imported_at"], unique=False)
    op.create_table(
        "bank_file_entries",
        sa.Column("file_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("archive_id", sa.Text(), nullable=False),
        sa.Column("repeated", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("payment_date", sa.Date(), nullable=False),
        sa.Column("reverses_archive_id", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('payment', 'reversal')", name="ck_bank_file_entries_kind"),
        sa.ForeignKeyConstraint(["file_id"], ["bank_files.id"]),
        sa.PrimaryKeyConstraint("file_id", "seq", name="pk_bank_file_entries"),
    )
    op.create_index(
        "uq_bank_file_entries_archive_id",
        "bank_file_entries",
        ["archive_id", "kind"],
        unique=True,
        postgresql_where=sa.text("NOT repeated"),
    )


def downgrade() -> None:
    op.drop_index("uq_bank_file_entries_archive_id", table_name="bank_file_entries")
    op.drop_table("bank_file_entries")
    op.drop_index("ix_bank_files_imported_at", table_name="bank_files")
    op.drop_table("bank_files")
    op.drop_constraint("ck_payments_kind", "payments", type_="check")
    op.drop_column("payments", "reverses_payment_id")
    op.drop_column("payments", "kind")
