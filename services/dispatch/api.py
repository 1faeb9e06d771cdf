"""HTTP API of the dispatch service (token required): the Sending tab (*Laskujen
lähetys*, seed steps 18–25) and the documents behind it.

- ``GET /sending``: per channel, how many documents wait, are on their way, were
  delivered or failed.
- ``GET /sending/{channel}/documents``: the list, with filters.
- ``POST /sending/{channel}/send``: send all (or a selection), or preview them: 202 with
  the job to follow (``/jobs/{id}``: delivered + failed so far of the total).
- ``GET /sending/previews/{job}``: what a preview rendered; ``…/{document}``: a sample.
- One document (``GET /documents/{id}``, re-send, move to another channel): see
  :mod:`services.dispatch.api_documents`.

Failure reasons come with a stable ``code`` and the texts in Finnish, English and
Swedish (``error_message_fi`` …); ``error_reason`` is the English line of the
delivery-failed event.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from services.dispatch import handlers
from services.dispatch.config import Settings
from services.dispatch.domain.documents import CHANNELS, State
from services.dispatch.domain.reasons import localize
from services.dispatch.domain.selection import Filters, Selection
from services.dispatch.repositories import DispatchUnitOfWork, DocumentRow
from services.dispatch.runtime import DispatchRuntime
from shared.api_models import IsoDate, StrictRequest
from shared.auth.http import Caller, require
from shared.events.customers import CUSTOMER_NUMBER_PATTERN, Channel
from shared.events.dispatch import DocumentKind
from shared.http import AUTH_ERRORS, NOT_FOUND, ErrorResponse, unprocessable
from shared.jobs.api import JobOut, job_url

router = APIRouter(tags=["sending"], responses=AUTH_ERRORS)
READ = require("dispatch:read")
SEND = require("dispatch:send")

_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
DocumentIdPath = Annotated[str, Path(min_length=36, max_length=36, pattern=_UUID, description="Document id")]
ChannelPath = Annotated[Channel, Path(description="email | einvoice | print")]
CustomerNumberText = Annotated[str, Field(min_length=1, max_length=32, pattern=CUSTOMER_NUMBER_PATTERN)]
NumberText = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[0-9]+$")]
DocumentIdText = Annotated[str, Field(min_length=36, max_length=36, pattern=_UUID)]

CHANNEL_NAMES = {
    "email": ("sähköpostilla", "by e-mail"),
    "einvoice": ("verkkolaskuna", "as e-invoices"),
    "print": ("tulostettuna", "by print"),
}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ErrorResponse, "description": "Refused in this state"}}


class ChannelSummary(BaseModel):
    channel: Channel
    waiting: int
    queued: int
    sending: int
    staged: int
    retry: int
    delivered: int
    failed: int
    moved: int
    """Failed here, then moved to another channel by a clerk."""
    auto_send: bool


class DocumentOut(BaseModel):
    id: str
    channel: str
    kind: str
    number: str
    reminder_level: int | None
    customer_number: str
    document_date: date
    due_date: date
    amount: Decimal
    language: str
    state: str
    attempts: int
    job_id: uuid.UUID | None
    batch_id: str | None
    next_attempt_at: datetime | None
    error_code: str | None
    error_reason: str | None
    """The failure in English (as the delivery-failed event says it)."""
    error_detail: str | None
    """Its technical part, the same in every language (``SMTP 550``)."""
    error_message_fi: str | None
    error_message_en: str | None
    error_message_sv: str | None
    receipt: str | None
    queued_by: str | None
    """Who sent or re-sent it last (None: automatic sending)."""
    recipient_version: int | None
    """Set when a re-send or a move addressed it to the customer's current billing data:
    the billing profile version used (None: the snapshot taken at issue)."""
    moved_from: str | None
    moved_to: str | None
    moved_by: str | None
    created_at: datetime
    queued_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, row: DocumentRow) -> DocumentOut:
        texts = localize(row.error_code, row.error_detail, row.error_reason)
        return cls.model_validate(
            {
                **{f: getattr(row, f) for f in cls.model_fields if hasattr(row, f)},
                "error_message_fi": texts.fi if texts else None,
                "error_message_en": texts.en if texts else None,
                "error_message_sv": texts.sv if texts else None,
            }
        )


class DocumentPage(BaseModel):
    total: int
    items: list[DocumentOut]


class SendRequest(StrictRequest):
    """What to send: ``all`` documents of the channel that wait (and match the filters)
    or the ``document_ids`` given; ``preview`` renders them and sends nothing;
    ``resend_failed`` takes failed documents instead of waiting ones (after a fix)."""

    model_config = ConfigDict(extra="forbid")

    all: StrictBool = False
    document_ids: list[DocumentIdText] | None = Field(None, min_length=1, max_length=10_000)
    preview: StrictBool = False
    resend_failed: StrictBool = False
    kind: DocumentKind | None = None
    customer_number: CustomerNumberText | None = None
    number: NumberText | None = None
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None


class SendAccepted(BaseModel):
    """The send (or preview) was accepted: ``selected`` documents, followed by ``job``."""

    channel: Channel
    preview: bool
    selected: int
    message_fi: str
    message_en: str
    job: JobOut


class PreviewItemOut(BaseModel):
    document_id: str
    ok: bool
    code: str | None
    reason: str | None
    detail: str | None = None
    message_fi: str | None = None
    message_en: str | None = None
    message_sv: str | None = None
    file_name: str | None
    content_type: str | None
    downloadable: bool


class PreviewPage(BaseModel):
    job: JobOut
    total: int
    items: list[PreviewItemOut]


def _runtime(request: Request) -> DispatchRuntime:
    runtime: DispatchRuntime = request.app.state.runtime
    return runtime


def _uow(request: Request) -> DispatchUnitOfWork:
    return _runtime(request).uow()


def _settings(request: Request) -> Settings:
    settings = _runtime(request).settings
    assert isinstance(settings, Settings)
    return settings


def _not_found(what: str, fi: str, en: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND, detail={"code": f"{what}_not_found", "message_fi": fi, "message_en": en}
    )


@router.get("/sending", response_model=list[ChannelSummary], dependencies=[READ])
async def summary(request: Request) -> Any:
    """Per channel: waiting, on their way (queued, sending, staged, retry), delivered, failed."""
    async with _uow(request) as uow:
        counts = await uow.documents.summary()
    auto = _settings(request).auto_send
    out = []
    for channel in CHANNELS:
        c = counts.get(channel, {})
        out.append(
            ChannelSummary(channel=channel, auto_send=channel in auto, **{s.value: c.get(s.value, 0) for s in State})
        )
    return out


@router.get("/sending/{channel}/documents", response_model=DocumentPage, dependencies=[READ])
async def documents_of(
    request: Request,
    channel: ChannelPath,
    *,
    state: list[Literal["waiting", "queued", "sending", "staged", "retry", "delivered", "failed", "moved"]] = Query(
        ["waiting"], max_length=8
    ),
    kind: DocumentKind | None = None,
    customer_number: str | None = Query(None, min_length=1, max_length=32, pattern=CUSTOMER_NUMBER_PATTERN),
    number: str | None = Query(None, min_length=1, max_length=20, pattern=r"^[0-9]+$"),
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Any:
    """The channel's documents in arrival order (default: those waiting to be sent)."""
    filters = Filters(kind=kind, customer_number=customer_number, number=number, date_from=date_from, date_to=date_to)
    async with _uow(request) as uow:
        total, rows = await uow.documents.page(channel, list(state), filters, limit=limit, offset=offset)
    return DocumentPage(total=total, items=[DocumentOut.of(r) for r in rows])


def _message(channel: str, selected: int, preview: bool) -> tuple[str, str]:
    fi_how, en_how = CHANNEL_NAMES[channel]
    if preview:
        return (
            f"Esikatselu: {selected} asiakirjaa muodostetaan {fi_how}; mitään ei lähetetä.",
            f"Preview: {selected} documents are rendered {en_how}; nothing is sent.",
        )
    return (
        f"{selected} asiakirjaa lähetetään {fi_how}. Seuraa etenemistä työstä.",
        f"{selected} documents are being sent {en_how}. Follow the job for progress.",
    )


async def start_send(runtime: DispatchRuntime, sel: Selection, *, preview: bool, actor: str) -> JSONResponse:
    async with runtime.uow() as uow:
        max_seq = await uow.documents.max_seq()
        sel = Selection(sel.channel, sel.states, sel.ids, sel.filters, max_seq)
        selected = await uow.documents.count_selection(sel)
    kind = handlers.PREVIEW if preview else handlers.SEND
    job, _ = await runtime.jobs.start_job(kind, {"selection": sel.to_json(), "preview": preview}, actor=actor)
    fi, en = _message(sel.channel, selected, preview)
    body = SendAccepted(
        channel=sel.channel, preview=preview, selected=selected, message_fi=fi, message_en=en, job=JobOut.of(job)
    )
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED, headers={"Location": job_url(job.id)}
    )


@router.post(
    "/sending/{channel}/send", status_code=status.HTTP_202_ACCEPTED, response_model=SendAccepted, dependencies=[SEND]
)
async def send(request: Request, channel: ChannelPath, body: SendRequest, caller: Caller) -> Any:
    """Send the channel's documents (seed steps 20–24), or preview them (step 22).

    Answers 202 with how many are selected and the job (``Location``) whose progress is
    delivered + failed so far of the total; its result counts ``queued``,
    ``delivered`` and ``failed`` (a preview: ``rendered`` and ``problems``)."""
    if body.all == (body.document_ids is not None):
        raise unprocessable(
            ["body", "all"],
            "Give either all=true or document_ids (Valitse kaikki tai anna asiakirjat).",
            "selection",
        )
    if body.date_from and body.date_to and body.date_from > body.date_to:
        raise unprocessable(["body", "date_to"], "date_to is before date_from (loppupäivä ennen alkua).", "date_range")
    sel = Selection(
        channel=channel,
        states=(State.FAILED,) if body.resend_failed else (State.WAITING,),
        ids=tuple(dict.fromkeys(body.document_ids)) if body.document_ids is not None else None,
        filters=Filters(
            kind=body.kind,
            customer_number=body.customer_number,
            number=body.number,
            date_from=body.date_from,
            date_to=body.date_to,
        ),
    )
    return await start_send(_runtime(request), sel, preview=body.preview, actor=caller.actor)


async def _preview_job(request: Request, job_id: uuid.UUID) -> JobOut:
    job = await _runtime(request).jobs.get(job_id)
    if job is None or job.kind != handlers.PREVIEW:
        raise _not_found("preview", f"Esikatselua {job_id} ei löydy.", f"Preview {job_id} not found.")
    return JobOut.of(job)


@router.get("/sending/previews/{job_id}", response_model=PreviewPage, responses=NOT_FOUND, dependencies=[READ])
async def preview(
    request: Request,
    job_id: uuid.UUID,
    problems_only: bool = False,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Any:
    """What a preview rendered so far: every document's outcome, problems with their
    reasons; ``downloadable`` ones at ``/sending/previews/{job}/{document}``."""
    job = await _preview_job(request, job_id)
    async with _uow(request) as uow:
        total, items = await uow.documents.preview_list(job_id, limit=limit, offset=offset, problems_only=problems_only)
    return PreviewPage(job=job, total=total, items=[_preview_item(i) for i in items])


def _preview_item(item: dict[str, Any]) -> PreviewItemOut:
    texts = localize(item["code"], item.get("detail"), item["reason"])
    return PreviewItemOut(
        **item,
        message_fi=texts.fi if texts else None,
        message_en=texts.en if texts else None,
        message_sv=texts.sv if texts else None,
    )


_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/pdf": {}, "application/xml": {}, "message/rfc822": {}},
        "description": "The document as it would leave",
    },
    **NOT_FOUND,
}


def _file(name: str, content_type: str, content: bytes) -> Response:
    return Response(content, media_type=content_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get(
    "/sending/previews/{job_id}/{document_id}", response_class=Response, responses=_FILE_RESPONSES, dependencies=[READ]
)
async def preview_sample(request: Request, job_id: uuid.UUID, document_id: DocumentIdPath) -> Response:
    """A sample the preview kept: the PDF, the e-mail (.eml) or the Finvoice file."""
    await _preview_job(request, job_id)
    async with _uow(request) as uow:
        found = await uow.documents.preview_content(job_id, document_id)
    if found is None:
        raise _not_found("sample", "Esikatselussa ei ole tätä näytettä.", "The preview kept no such sample.")
    return _file(*found)
