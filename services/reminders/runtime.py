"""The reminders service's runtime: the shared one plus the rules (policy, reference
rates, clock), loaded and checked once at start so a bad data file stops the service
at once instead of failing the first reminder."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.reminders.handlers import Rules
from services.reminders.repositories import RemindersUnitOfWork
from shared.runtime import Runtime


@dataclass
class RemindersRuntime(Runtime[RemindersUnitOfWork]):
    rules: Rules = field(init=False)
