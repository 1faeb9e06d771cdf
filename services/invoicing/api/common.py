"""What the invoicing routes share: the unit of work, refusals."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request

from services.invoicing.config import Settings
from services.invoicing.handlers.errors import Refused
from services.invoicing.uow import InvoicingUnitOfWork
from shared.http import ErrorResponse
from shared.runtime import Runtime

PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]+$"
KIND_PATTERN = "^(subscription|notice)$"

CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ErrorResponse, "description": "Not allowed in this state"}}


def runtime(request: Request) -> Runtime[InvoicingUnitOfWork]:
    rt: Runtime[InvoicingUnitOfWork] = request.app.state.runtime
    return rt


def uow(request: Request) -> InvoicingUnitOfWork:
    return runtime(request).uow()


def settings(request: Request) -> Settings:
    s = runtime(request).settings
    assert isinstance(s, Settings)
    return s


def refused(exc: Refused) -> HTTPException:
    return HTTPException(exc.status, detail=exc.detail())
