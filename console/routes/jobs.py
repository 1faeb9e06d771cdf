"""Job progress, shared by every tab: ``GET /jobs/{service}/{id}`` renders
``partials/job_progress.html``, which polls itself every second while the job runs
(done / total, failures so far) and, when it is done, loads ``then`` (a local URL the
tab gave, e.g. the run's summary) in its place.

Use from a tab: after starting a job, render
``{% include "partials/job_progress.html" %}`` with ``service``, ``job`` (the service's
202 body) and ``then``; or ``hx-get`` this route.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from console.auth import User
from console.backend import call
from console.config import SERVICES
from console.urls import safe_url
from console.web import render

router = APIRouter()


def progress_context(service: str, job: dict[str, Any], then: str | None) -> dict[str, Any]:
    """What the partial needs: the job, its percentage, and where to go when done."""
    total = job.get("total")
    done = int(job.get("done") or 0)
    percent = 100 if job.get("state") == "done" else (min(100, round(100 * done / total)) if total else 0)
    return {
        "service": service,
        "job": job,
        "percent": percent,
        "finished": job.get("state") in ("done", "failed"),
        "then": safe_url(then, None),
    }


@router.get("/jobs/{service}/{job_id}")
async def job_progress(
    request: Request,
    user: User,
    service: Annotated[str, Path(max_length=20)],
    job_id: uuid.UUID,
    then: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    if service not in SERVICES:
        return Response(status_code=404)
    job = await call(request, service, "GET", f"/jobs/{job_id}")
    return render(request, "partials/job_progress.html", **progress_context(service, job, then))
