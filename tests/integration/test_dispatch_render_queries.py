"""The render-ahead queries on real PostgreSQL: a tick over a backlog of waiting
documents that are already rendered takes advisory locks only for the few it returns
(not one per scanned row: 100,000 of them in one transaction would exhaust the
server's shared lock table), and a render is never stored for a document that is no
longer on its way."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from services.dispatch.prerender import Prepared
from services.dispatch.repositories import DocumentRepository
from tests.support.isolation import Sandbox

pytestmark = pytest.mark.integration

_DOCUMENTS = """
INSERT INTO documents (id, source, source_id, channel, kind, number, customer_number,
                       document_date, due_date, amount, language, payload, state)
SELECT 'D-' || lpad(g::text, 6, '0'), 'invoice', 'S-' || g, 'email', 'invoice', g::text, 'C-1',
       DATE '2026-01-01', DATE '2026-01-15', 10.00, 'fi', '{}'::jsonb, $3
FROM generate_series($1::int, $2::int) g
"""


async def add_documents(sandbox: Sandbox, first: int, last: int, state: str = "waiting") -> None:
    await sandbox.fetch(_DOCUMENTS, first, last, state)


@pytest.fixture
async def session(sandbox: Sandbox) -> AsyncIterator[AsyncSession]:
    await sandbox.migrated("dispatch")
    engine = create_async_engine(sandbox.db_url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as s:
            yield s
    finally:
        await engine.dispose()


async def test_a_tick_over_rendered_documents_locks_only_the_batch_it_takes(
    sandbox: Sandbox, session: AsyncSession
) -> None:
    rendered, unrendered, batch = 3000, 5, 8
    await add_documents(sandbox, 1, rendered + unrendered)
    await sandbox.fetch(
        "INSERT INTO document_renders (document_id, render_key, content, receipt, address)"
        " SELECT id, 'k', '\\x00'::bytea, 'm', 'a' FROM documents WHERE seq <= $1",
        rendered,
    )
    await sandbox.fetch("ANALYZE documents")
    await sandbox.fetch("ANALYZE document_renders")

    async with session.begin():
        rows = await DocumentRepository(session).unrendered("email", after=0, limit=batch)
        held = await session.scalar(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        )
    assert [r.seq for r in rows] == list(range(rendered + 1, rendered + unrendered + 1))
    assert held is not None and held <= 4 * batch  # bounded by the batch, not by the 3,000 rendered


async def test_no_render_is_stored_for_a_document_no_longer_on_its_way(sandbox: Sandbox, session: AsyncSession) -> None:
    await add_documents(sandbox, 1, 1, "delivered")
    await add_documents(sandbox, 2, 2, "failed")
    await add_documents(sandbox, 3, 3, "waiting")
    await add_documents(sandbox, 4, 4, "retry")
    render = Prepared("k", b"mail", "<m@x>", "a@example.com")
    async with session.begin():
        await DocumentRepository(session).save_renders([(f"D-00000{k}", render) for k in (1, 2, 3, 4)])
    stored = await sandbox.fetch("SELECT document_id FROM document_renders ORDER BY document_id")
    assert [r["document_id"] for r in stored] == ["D-000003", "D-000004"]  # delivered and failed: none
