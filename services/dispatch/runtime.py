"""The dispatch runtime: the shared one plus this service's background loops (retries
in the service; the lease and the print batch closer in the workers) and what must
start before consuming and stop after it (the lease, a channel's connections)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.dispatch.metrics import DispatchMetrics
from services.dispatch.repositories import DispatchUnitOfWork
from shared.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class Loop:
    name: str
    tick: Callable[[], Awaitable[object]]
    interval_s: float


class DispatchRuntime(Runtime[DispatchUnitOfWork]):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.before_start: list[Callable[[], Awaitable[None]]] = []
        self.after_stop: list[Callable[[], Awaitable[None]]] = []
        self.loops: list[Loop] = []
        self._loop_tasks: list[asyncio.Task[None]] = []
        self.dispatch_metrics = DispatchMetrics(self.metrics.registry)

    async def start(self) -> None:
        for hook in self.before_start:
            await hook()
        await super().start()
        for loop in self.loops:
            self._loop_tasks.append(asyncio.create_task(self._run(loop), name=f"dispatch-{loop.name}"))

    async def stop(self) -> None:
        for task in self._loop_tasks:
            task.cancel()
        for task in self._loop_tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop_tasks.clear()
        await super().stop()
        for hook in reversed(self.after_stop):
            with contextlib.suppress(Exception):
                await hook()

    async def _run(self, loop: Loop) -> None:
        while True:
            try:
                await loop.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away: the next tick tries again
                log.warning("%s failed (%s); next try in %ss", loop.name, type(exc).__name__, loop.interval_s)
            await asyncio.sleep(loop.interval_s)
