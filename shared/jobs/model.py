"""Jobs as plain values: states, the allowed transitions, and what one chunk changes.

Pure: no I/O, no framework. The runner (``runner.py``) stores these in the ``jobs``
table; a job kind's work function returns a :class:`Step` per chunk.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED)


# running -> running is a resume (the process that ran the job died; another one goes on).
_ALLOWED: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.FAILED}),
    JobState.RUNNING: frozenset({JobState.RUNNING, JobState.DONE, JobState.FAILED}),
    JobState.DONE: frozenset(),
    JobState.FAILED: frozenset(),
}


class InvalidTransition(Exception):
    def __init__(self, current: JobState, wanted: JobState) -> None:
        super().__init__(f"job cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


def check_transition(current: JobState, wanted: JobState) -> None:
    if wanted not in _ALLOWED[current]:
        raise InvalidTransition(current, wanted)


class JobFailed(Exception):
    """Raise from a work function to fail the job with a code and a message that hold
    no personal data (they are stored and shown as they are). Any other non-transient
    exception fails the job with its type name only."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def describe(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


@dataclass(frozen=True)
class Step:
    """What one chunk of work did. The runner commits it with the chunk's effects.

    ``cursor`` is where the next chunk starts (JSON: a string, number, list or dict);
    ``counts`` are added to the job's result (e.g. ``{"published": 500}``);
    ``finished`` says there is nothing left after this chunk.
    """

    done: int
    cursor: Any = None
    failures: int = 0
    counts: Mapping[str, int] = field(default_factory=dict)
    finished: bool = False


@dataclass(frozen=True)
class Job:
    id: uuid.UUID
    kind: str
    key: str
    state: JobState
    params: Mapping[str, Any]
    actor: str
    created_at: datetime
    done: int = 0
    total: int | None = None
    failures: int = 0
    chunks: int = 0
    """Chunks committed so far: a runner that lost its claim sees it changed."""
    cursor: Any = None
    result: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def begin(self, now: datetime, total: int | None) -> Job:
        """queued -> running (first start) or running -> running (a resume)."""
        check_transition(self.state, JobState.RUNNING)
        if self.state is JobState.RUNNING:
            return self
        return dataclasses.replace(self, state=JobState.RUNNING, started_at=now, total=total)

    def advance(self, step: Step, now: datetime) -> Job:
        """The job after one committed chunk."""
        if self.state is not JobState.RUNNING:
            raise InvalidTransition(self.state, JobState.RUNNING)
        if step.done < 0 or step.failures < 0:
            raise ValueError("a step counts work done, never negative")
        result = dict(self.result)
        for name, n in step.counts.items():
            result[name] = result.get(name, 0) + n
        done = self.done + step.done
        job = dataclasses.replace(
            self,
            done=done,
            failures=self.failures + step.failures,
            chunks=self.chunks + 1,
            cursor=step.cursor,
            result=result,
        )
        if step.finished:
            check_transition(self.state, JobState.DONE)
            # items added while the job ran are done too: the total is what was done
            total = max(self.total or 0, done)
            job = dataclasses.replace(job, state=JobState.DONE, finished_at=now, total=total)
        return job

    def fail(self, error: str, now: datetime) -> Job:
        check_transition(self.state, JobState.FAILED)
        return dataclasses.replace(self, state=JobState.FAILED, error=error[:500], finished_at=now)


def job_key(kind: str, key: str | None) -> str:
    """The unique key of a job: ``kind:key``; without a key, every start is its own job."""
    return f"{kind}:{key if key is not None else uuid.uuid4()}"
