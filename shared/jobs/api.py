"""HTTP side of jobs: ``GET /jobs/{id}``, ``GET /jobs``, and :func:`accepted`, the
answer of a route that starts a job (202, ``Location: /jobs/{id}``, the job)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shared.auth.http import require
from shared.auth.scopes import scope
from shared.jobs.model import Job, JobState
from shared.jobs.runner import JobRunner


class JobOut(BaseModel):
    """A job as a client sees it; poll ``url`` until ``state`` is done or failed."""

    id: uuid.UUID
    url: str
    kind: str
    key: str
    state: JobState
    done: int
    total: int | None
    failures: int
    params: dict[str, Any]
    result: dict[str, int]
    error: str | None
    actor: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            url=job_url(job.id),
            kind=job.kind,
            key=job.key,
            state=job.state,
            done=job.done,
            total=job.total,
            failures=job.failures,
            params=dict(job.params),
            result=dict(job.result),
            error=job.error,
            actor=job.actor,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


def job_url(job_id: uuid.UUID) -> str:
    return f"/jobs/{job_id}"


def accepted(job: Job) -> JSONResponse:
    """202 Accepted with the job's URL in ``Location`` and the job as the body."""
    return JSONResponse(
        JobOut.of(job).model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": job_url(job.id)},
    )


def jobs_router(runner: JobRunner[Any], service: str) -> APIRouter:
    """``GET /jobs`` and ``GET /jobs/{id}``: ``<service>:read`` (a job is started by its
    operation's own route, which needs that operation's scope)."""
    router = APIRouter(prefix="/jobs", tags=["jobs"])
    read = require(scope(service, "read"))

    @router.get("", response_model=list[JobOut], dependencies=[read])
    async def list_jobs(
        kind: str | None = Query(None, max_length=100),
        state: JobState | None = None,
        limit: int = Query(50, ge=1, le=500),
    ) -> list[JobOut]:
        """This service's jobs, newest first."""
        return [JobOut.of(j) for j in await runner.list_jobs(kind=kind, state=state, limit=limit)]

    @router.get("/{job_id}", response_model=JobOut, dependencies=[read])
    async def get_job(job_id: uuid.UUID) -> JobOut:
        """A job's state and progress (done / total, failures so far)."""
        job = await runner.get(job_id)
        if job is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                detail={
                    "code": "job_not_found",
                    "message_fi": f"Työtä {job_id} ei löydy.",
                    "message_en": f"Job {job_id} not found.",
                },
            )
        return JobOut.of(job)

    return router
