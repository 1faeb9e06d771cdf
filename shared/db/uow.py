"""Unit of work: one transaction holding the inbox claim, the change and the outbox rows.

Services subclass :class:`UnitOfWork` to add their repositories in ``_open``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.messaging.dead_letters import DeadLetters
from shared.messaging.inbox import Inbox
from shared.messaging.outbox import OutboxWriter
from shared.messaging.tables import MessagingTables


class UnitOfWork:
    session: AsyncSession
    outbox: OutboxWriter
    inbox: Inbox
    dead_letters: DeadLetters

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        *,
        source: str,
        topic_prefix: str = "",
        on_commit: Callable[[], None] | None = None,
        key_lock_stripes: int = 4096,
        max_key_locks: int = 64,
    ) -> None:
        self._session_factory = session_factory
        self._tables = tables
        self._source = source
        self._prefix = topic_prefix
        self._on_commit = on_commit
        self._key_locks = {"key_lock_stripes": key_lock_stripes, "max_key_locks": max_key_locks}

    async def __aenter__(self) -> Self:
        self.session = self._session_factory()
        self.outbox = OutboxWriter(self._tables, self._source, self._prefix, **self._key_locks)
        self.inbox = Inbox(self.session, self._tables)
        self.dead_letters = DeadLetters(self.session, self._tables, self.outbox)
        self._open()
        return self

    def _open(self) -> None:
        """Create the service's repositories over ``self.session``."""

    async def commit(self) -> None:
        had_rows = self.outbox.pending > 0
        await self.outbox.flush(self.session)
        await self.session.commit()
        self.outbox.committed()
        if had_rows and self._on_commit is not None:
            self._on_commit()

    async def rollback(self) -> None:
        await self.session.rollback()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.session.rollback()  # no-op after commit
        finally:
            await self.session.close()
