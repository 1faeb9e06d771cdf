"""A preview's rows are numbered ``part * PREVIEW_STRIDE + i`` (run_parts.py): a run cut
into more than 21,474 parts numbers past int4, so ``run_previews.seq`` is a BIGINT (0011)."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from services.invoicing.handlers.run_parts import PREVIEW_STRIDE
from tests.support.isolation import Sandbox

pytestmark = pytest.mark.integration


async def test_a_preview_row_of_part_30000_is_stored(sandbox: Sandbox) -> None:
    url = (await sandbox.own_database("invoicing")).replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(url)
    try:
        run = uuid.uuid4()
        await conn.execute(
            "INSERT INTO billing_runs (id, kind, mode, actor) VALUES ($1, 'subscription', 'preview', 'tests')", run
        )
        seq = 30_000 * PREVIEW_STRIDE + 7
        await conn.execute(
            "INSERT INTO run_previews (run_id, seq, customer_number, invoice) VALUES ($1, $2, 'C-1', '{}')", run, seq
        )
        assert await conn.fetchval("SELECT seq FROM run_previews WHERE run_id = $1", run) == seq
    finally:
        await conn.close()
