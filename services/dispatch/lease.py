"""A worker's lease: "this worker is alive", as PostgreSQL sees it.

Each worker process holds a session-level advisory lock ``(LEASE_NAMESPACE, key)`` on a
connection of its own for as long as it runs, and marks the documents it is delivering
with ``key`` (``documents.claimed_by``). PostgreSQL drops the lock the moment the
process's connection goes away, SIGKILL included. So when a channel job arrives for a
document in ``sending``:

- its worker's lock is held: that worker is delivering it right now (a rebalance handed
  the same record to us too): leave it alone, or it would be sent twice;
- the lock is gone: that worker died between recording the attempt and recording its
  outcome; the document is taken over (``resumed``).

A worker whose lease connection breaks (the database restarted) takes the lock again
with the same key before it claims anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import zlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

log = logging.getLogger(__name__)

LEASE_NAMESPACE = zlib.crc32(b"dispatch-worker-lease") & 0x7FFFFFFF

_ALIVE = text(
    """
    SELECT objid::bigint FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objsubid = 2
      AND classid = CAST(:ns AS oid) AND objid = ANY(CAST(:keys AS oid[]))
    """
)


async def alive_workers(session: AsyncSession, keys: Iterable[int]) -> set[int]:
    """The lease keys among ``keys`` whose worker holds its lock now."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    rows = await session.execute(_ALIVE, {"ns": LEASE_NAMESPACE, "keys": wanted})
    return {int(r[0]) for r in rows}


class WorkerLease:
    def __init__(self, engine: AsyncEngine, channel: str, *, check_interval_s: float = 5.0) -> None:
        self._engine = engine
        self.key = secrets.randbelow(2**31 - 2) + 1
        self.name = f"{channel}@{socket.gethostname()}:{os.getpid()}/{self.key}"
        self._conn: AsyncConnection | None = None
        self._interval = check_interval_s
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        await self._acquire()
        self._task = asyncio.create_task(self._watch(), name="dispatch-worker-lease")

    async def _acquire(self) -> None:
        conn = await self._engine.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = await conn.scalar(
                text("SELECT pg_try_advisory_lock(CAST(:ns AS int), CAST(:key AS int))"),
                {"ns": LEASE_NAMESPACE, "key": self.key},
            )
            if not got:
                raise RuntimeError("another process holds this worker's lease key")
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            await conn.close()
            raise
        self._conn = conn
        self._ready.set()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                assert self._conn is not None
                await self._conn.execute(text("SELECT 1"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._ready.clear()
                log.warning("worker lease connection lost (%s); taking the lease again", type(exc).__name__)
                with contextlib.suppress(Exception):
                    if self._conn is not None:
                        await self._conn.invalidate()
                self._conn = None
                try:
                    await self._acquire()
                except asyncio.CancelledError:
                    raise
                except Exception as again:
                    log.warning("worker lease not taken (%s); next try in %ss", type(again).__name__, self._interval)

    async def held(self) -> None:
        """Wait until the lease is held (claims wait for it after a lost connection)."""
        await self._ready.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.execute(
                    text("SELECT pg_advisory_unlock(CAST(:ns AS int), CAST(:key AS int))"),
                    {"ns": LEASE_NAMESPACE, "key": self.key},
                )
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
