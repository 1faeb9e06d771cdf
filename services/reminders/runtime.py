"""The reminders service's runtime: the shared one plus the rules (policy, reference
rates, clock), loaded and checked once at start so a bad data file stops the service
at once instead of failing the first reminder."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from services.reminders.handlers import Rules
from services.reminders.repositories import RemindersUnitOfWork
from shared.runtime import Runtime


@dataclass
class RemindersRuntime(Runtime[RemindersUnitOfWork]):
    rules: Rules = field(init=False)
    on_started: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    """Run once the service has started (its database migrated, its jobs running)."""

    async def start(self) -> None:
        await super().start()
        for step in self.on_started:
            await step()
