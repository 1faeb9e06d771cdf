"""Fixtures of the end-to-end test: the whole system as separate processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e import dataset
from tests.e2e.system import System, running_system
from tests.support.isolation import Sandbox


@pytest.fixture
async def system(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[System]:
    """Customers, invoicing, reminders (its clock on the clerk's day), dispatch, one
    worker per channel and an SMTP sink, each service on its own database."""
    async with running_system(sandbox, tmp_path, reminders={"today": dataset.TODAY}) as running:
        yield running
