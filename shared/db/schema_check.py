"""Does the database's schema fit this code? Checked at every service start that does
not migrate (production mode, or ``run_migrations_on_start=false``) and by the
``schema`` readiness check.

The code needs the head of its migrations directory. The database is:

- **current**: at that head;
- **behind**: empty, or at a revision the code knows that is not the head (an
  ancestor: the history is linear). The service refuses: :class:`SchemaBehind`, whose
  message names the service, both revisions and ``billing migrate <service>``;
- **ahead**: at a revision the code does not know. That is the expand step of a newer
  release, migrated before this (older) code is replaced: accepted, the expand/contract
  rule (README "Migrations are their own step") makes the newer schema one the old code
  can run on.

:func:`compare` is the decision, pure; :func:`code_head` and :func:`database_revisions`
read the two sides.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.db.migrations import MigrationTimeouts, alembic_config


class SchemaState(enum.Enum):
    CURRENT = "current"
    BEHIND = "behind"
    AHEAD = "ahead"


@dataclass(frozen=True)
class CodeRevisions:
    """The code's side: its head and every revision its migrations directory knows."""

    head: str
    known: frozenset[str]


@dataclass(frozen=True)
class SchemaVerdict:
    state: SchemaState
    database: tuple[str, ...]
    """The database's revisions (``alembic_version``; empty: never migrated)."""
    head: str

    @property
    def database_text(self) -> str:
        return ", ".join(self.database) if self.database else "none (an empty, never migrated database)"


class SchemaBehind(RuntimeError):
    """The database's schema is older than the code needs: the service must not serve."""

    def __init__(self, service: str, verdict: SchemaVerdict) -> None:
        self.service = service
        self.verdict = verdict
        super().__init__(
            f"{service}: the database schema is behind this code: the database is at revision "
            f"{verdict.database_text}, the code needs {verdict.head} (the head of its migrations). "
            f"Run `billing migrate {service}` first (the k8s Job billing-migrate, compose's migrate "
            "service); in production a service never migrates at start. Not serving."
        )


def compare(database: Sequence[str], code: CodeRevisions) -> SchemaVerdict:
    """The verdict for a database at ``database`` (its ``alembic_version`` rows)."""
    revisions = tuple(sorted(database))
    state = _state(revisions, code.head, code.known)
    return SchemaVerdict(state, revisions, code.head)


def _state(database: tuple[str, ...], head: str, known: Collection[str]) -> SchemaState:
    if not database:
        return SchemaState.BEHIND
    if any(rev not in known for rev in database):
        return SchemaState.AHEAD
    if database == (head,):
        return SchemaState.CURRENT
    return SchemaState.BEHIND  # a known revision other than the head: an ancestor of it


@functools.lru_cache(maxsize=32)
def code_head(migrations_dir: Path) -> CodeRevisions:
    """The head of a migrations directory and every revision in it (read once)."""
    script = ScriptDirectory.from_config(alembic_config(migrations_dir, "postgresql://unused/"))
    heads = script.get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"{migrations_dir}: the migrations have {len(heads)} heads {heads}; merge them into one")
    return CodeRevisions(heads[0], frozenset(r.revision for r in script.walk_revisions()))


async def database_revisions(engine: AsyncEngine) -> tuple[str, ...]:
    """The database's ``alembic_version`` rows (empty when it has none)."""
    async with engine.connect() as conn:
        return tuple(await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads()))


async def check(engine: AsyncEngine, migrations_dir: Path, service: str) -> SchemaVerdict:
    """The verdict for the database behind ``engine``; raises :class:`SchemaBehind`."""
    verdict = compare(await database_revisions(engine), code_head(migrations_dir))
    if verdict.state is SchemaState.BEHIND:
        raise SchemaBehind(service, verdict)
    return verdict


async def verdict_for(url: str, migrations_dir: Path, timeouts: MigrationTimeouts | None = None) -> SchemaVerdict:
    """The verdict for the database at ``url`` (its own short-lived engine with the
    migration connection's timeouts), not raising."""
    timeouts = timeouts or MigrationTimeouts()
    settings = {"lock_timeout": str(timeouts.lock_ms), "statement_timeout": str(timeouts.statement_ms)}
    engine = create_async_engine(url, connect_args={"server_settings": settings})
    try:
        return compare(await database_revisions(engine), code_head(migrations_dir))
    finally:
        await engine.dispose()
