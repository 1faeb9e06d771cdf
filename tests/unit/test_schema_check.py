"""The schema check's verdict (pure) and the settings production mode refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.customers.config import Settings
from shared.db.schema_check import CodeRevisions, SchemaBehind, SchemaState, code_head, compare

CODE = CodeRevisions(head="c", known=frozenset({"a", "b", "c"}))


@pytest.mark.parametrize(
    ("database", "state"),
    [
        (("c",), SchemaState.CURRENT),
        (("b",), SchemaState.BEHIND),  # an ancestor of the head
        (("a",), SchemaState.BEHIND),
        ((), SchemaState.BEHIND),  # empty, never migrated
        (("d",), SchemaState.AHEAD),  # a newer release's revision: the expand step
        (("c", "d"), SchemaState.AHEAD),
    ],
)
def test_verdict(database: tuple[str, ...], state: SchemaState) -> None:
    assert compare(database, CODE).state is state


def test_behind_names_the_service_both_revisions_and_the_command() -> None:
    message = str(SchemaBehind("invoicing", compare(("b",), CODE)))
    assert "invoicing" in message
    assert "database is at revision b" in message and "the code needs c" in message
    assert "`billing migrate invoicing`" in message
    empty = str(SchemaBehind("invoicing", compare((), CODE)))
    assert "database is at revision none (an empty, never migrated database)" in empty


REVISION = """
revision = "{rev}"
down_revision = {down}
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass
"""


def test_code_head_reads_the_migrations_directory(tmp_path: Path) -> None:
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "migrations" / "env.py").write_text("")
    for rev, down in (("x1", None), ("x2", '"x1"'), ("x3", '"x2"')):
        (versions / f"{rev}.py").write_text(REVISION.format(rev=rev, down=down))
    assert code_head(tmp_path / "migrations") == CodeRevisions("x3", frozenset({"x1", "x2", "x3"}))


SERVERS = {
    "CUSTOMERS_DATABASE_URL": "postgresql+asyncpg://u:p@db/customers",
    "CUSTOMERS_KAFKA_BOOTSTRAP_SERVERS": "k:9092",
}
NO_MIGRATING = {"CUSTOMERS_MODE": "production", "CUSTOMERS_RUN_MIGRATIONS_ON_START": "false"}


def test_production_refuses_migrating_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**SERVERS, "CUSTOMERS_MODE": "production", "CUSTOMERS_RUN_MIGRATIONS_ON_START": "true"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = str(refused.value)
    assert "CUSTOMERS_RUN_MIGRATIONS_ON_START=true is refused in production mode" in message
    assert "billing migrate customers" in message


@pytest.mark.parametrize(("mode", "migrates"), [("production", False), ("development", True)])
def test_migrating_at_start_by_default_only_in_development(
    monkeypatch: pytest.MonkeyPatch, mode: str, migrates: bool
) -> None:
    for name, value in {**SERVERS, "CUSTOMERS_MODE": mode}.items():
        monkeypatch.setenv(name, value)
    assert Settings().run_migrations_on_start is migrates


def test_production_may_say_false(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**SERVERS, **NO_MIGRATING}.items():
        monkeypatch.setenv(name, value)
    assert Settings().run_migrations_on_start is False
