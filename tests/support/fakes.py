"""In-memory stand-ins for unit tests of the consumer loop (no database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.events.envelope import InvalidEvent


@dataclass
class FakeRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


@dataclass
class FakeStore:
    """What a committed transaction left behind."""

    inbox: set[tuple[str, str, str]] = field(default_factory=set)
    """(consumer, source, event id)"""
    dead_letters: dict[tuple[str, int, int], str] = field(default_factory=dict)
    effects: list[Any] = field(default_factory=list)
    commits: int = 0
    fail_next_commits: int = 0


class _Inbox:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def claim(self, consumer: str, ids: list[tuple[str, str]]) -> set[tuple[str, str]]:
        keys = {(consumer, s, i) for s, i in ids}
        new = {k for k in keys if k not in self._uow.store.inbox and k not in self._uow.pending_inbox}
        self._uow.pending_inbox |= new
        return {(s, i) for _, s, i in new}


class _DeadLetters:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def add(self, record: Any, error: InvalidEvent) -> bool:
        key = (record.topic, record.partition, record.offset)
        if key in self._uow.store.dead_letters:
            return False
        self._uow.pending_dead[key] = error.code
        return True


class FakeUnitOfWork:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def __aenter__(self) -> FakeUnitOfWork:
        self.pending_inbox: set[tuple[str, str, str]] = set()
        self.pending_dead: dict[tuple[str, int, int], str] = {}
        self.pending_effects: list[Any] = []
        self.inbox = _Inbox(self)
        self.dead_letters = _DeadLetters(self)
        return self

    async def commit(self) -> None:
        if self.store.fail_next_commits > 0:
            self.store.fail_next_commits -= 1
            raise ConnectionRefusedError("database is away")
        self.store.inbox |= self.pending_inbox
        self.store.dead_letters.update(self.pending_dead)
        self.store.effects.extend(self.pending_effects)
        self.store.commits += 1

    async def __aexit__(self, *exc: object) -> None:
        return None
