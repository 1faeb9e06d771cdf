"""Reset what the demo made, so ``make demo`` a second time starts from the same
empty system and prints the same numbers: the four services' databases (dropped and
created again, empty, for the same owner), the topics the services use with their
dead-letter topics (with them the consumer groups' offsets), and the demo's output folder.

Only the unprefixed names are touched: tests run with a topic prefix and databases of
their own, so a reset never reaches them. The services must be stopped first
(``deploy/local/demo.sh up`` stops them before calling this)."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import asyncpg

from demo.kafka import GROUPS, delete_topics
from demo.load import bootstrap
from shared.events import topics

DATABASES = tuple(GROUPS)


async def _reset_databases(admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        for name in DATABASES:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
    finally:
        await conn.close()


def _empty(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)


async def _reset(out: Path) -> str:
    admin_url = os.environ.get("BILLING_PG_ADMIN_URL")
    if not admin_url:
        raise SystemExit("BILLING_PG_ADMIN_URL is not set (run through bin/billing on the local stack)")
    await _reset_databases(admin_url)
    names = [spec.name for spec in topics.ALL] + [spec.dead_letter for spec in topics.ALL]
    groups = [g for gs in GROUPS.values() for g in gs]
    deleted = await delete_topics(bootstrap(), names, groups)
    await asyncio.to_thread(_empty, out)
    return f"reset: {len(DATABASES)} databases emptied, {deleted} topics deleted, {out} emptied"


def run(out: Path) -> None:
    print(asyncio.run(_reset(out)), flush=True)
