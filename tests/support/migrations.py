"""Migrations in tests: the customers revisions as Alembic reads them, and the next
release's additive (expand) revision on a copy of them."""

from __future__ import annotations

import shutil
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from services.customers.app import SPEC


def revisions() -> tuple[str, str]:
    """(head, the revision before it) of the customers migrations, read by Alembic itself."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SPEC.migrations_dir))
    head = ScriptDirectory.from_config(cfg).get_revision("head")
    assert head is not None and isinstance(head.down_revision, str)
    return head.revision, head.down_revision


EXPAND = '''"""the next release's expand step: a nullable column on a table the code writes, a new table"""

import sqlalchemy as sa
from alembic import op

revision = "9001_expand"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("preferred_language", sa.Text(), nullable=True))
    op.create_table(
        "customer_notes",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("customer_number", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )
'''


def next_release_migrations(tmp_path: Path) -> Path:
    """A copy of the customers migrations plus the next release's additive revision."""
    head, _ = revisions()
    migrations = tmp_path / "customers" / "migrations"
    shutil.copytree(SPEC.migrations_dir, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / "9001_expand.py").write_text(EXPAND.format(head=head))
    return migrations
