"""document_renders: each e-mail rendered once (PDF + MIME message), ahead of its
sending; the sending path reads it instead of rendering per attempt

Additive: a new table. Rows live only while their document is on its way (deleted when
it is delivered or failed), so the table stays the size of the backlog, not of the
history. ``content`` is stored EXTERNAL (out of line, not compressed): the PDF inside is
already deflated and the base64 around it gains little, so compressing would only cost
the shared database CPU on every insert.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_renders",
        sa.Column("document_id", sa.Text(), sa.ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("render_key", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.execute("ALTER TABLE document_renders ALTER COLUMN content SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("document_renders")
