"""The start's invoice-number check keeps within its budget: each read of the log gives
up after ``numbering_check_read_timeout_s`` and the retries stop at
``numbering_check_timeout_s`` in all (a fake clock: no waiting here), so the start fails
with its error logged before the startupProbe kills the pod."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from services.invoicing import numbering_check
from services.invoicing.config import Settings


class FakeEngine:
    @asynccontextmanager
    async def connect(self) -> AsyncIterator[None]:
        yield None


def checker(
    monkeypatch: pytest.MonkeyPatch, **overrides: Any
) -> tuple[numbering_check.NumberingCheck, list[float], list[float]]:
    """The check with a fake clock, a log that never answers, and the timeout of each read."""
    settings = Settings(database_url="postgresql+asyncpg://u@h/d", kafka_bootstrap_servers="k:9092", **overrides)
    runtime = SimpleNamespace(
        metrics=SimpleNamespace(registry=CollectorRegistry()),
        spec=SimpleNamespace(name="invoicing"),
        engine=FakeEngine(),
    )
    check = numbering_check.NumberingCheck(runtime, settings)  # type: ignore[arg-type]
    now = [0.0]
    reads: list[float] = []

    async def newest(_conn: Any) -> None:
        return None

    async def unreachable(_settings: Any, *, since: Any, window: int, timeout_s: float) -> Any:
        reads.append(timeout_s)
        now[0] += timeout_s  # the read waited all it was allowed, then timed out
        raise TimeoutError

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr(numbering_check, "newest_confirmation", newest)
    monkeypatch.setattr(numbering_check, "tail_highest", unreachable)
    check.clock = lambda: now[0]
    check.sleep = sleep  # type: ignore[assignment]
    return check, now, reads


async def test_an_unreadable_log_fails_the_start_within_the_budget_each_read_bounded(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    check, now, reads = checker(monkeypatch)
    settings = check.settings
    assert (settings.numbering_check_read_timeout_s, settings.numbering_check_timeout_s) == (20.0, 90.0)
    with caplog.at_level(logging.ERROR), pytest.raises(TimeoutError):
        await check.start()
    assert len(reads) > 1  # retried
    assert max(reads) <= 20.0
    assert now[0] <= 90.0  # the whole start, reads and pauses, within the budget
    assert "not starting" in caplog.text


async def test_the_last_read_gets_only_what_is_left_of_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    check, now, reads = checker(monkeypatch, numbering_check_timeout_s=30.0, numbering_check_read_timeout_s=25.0)
    with pytest.raises(TimeoutError):
        await check.start()
    assert reads[0] == 25.0 and reads[1] < 25.0
    assert now[0] <= 30.0
