"""run_previews.seq as BIGINT: a preview's rows are numbered part * 100,000 + i, which
passed int4 from part 21,475 (a run cut into that many parts).

Rewrites run_previews (what preview runs would create, kept for the clerk to read; never
business state, so small and not read by the pipeline) under its lock, briefly.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("run_previews", "seq", existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    op.alter_column("run_previews", "seq", existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
