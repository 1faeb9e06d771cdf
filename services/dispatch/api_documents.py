"""HTTP API of the dispatch service: one document (token required).

- ``GET /documents/{id}``: the document with every delivery attempt (where it went:
  ``address``; who sent it: ``actor``; why it failed, in fi / en / sv).
- ``GET /documents/{id}/rendered``: as it would leave now (nothing is sent).
- ``POST /documents/{id}/resend``: a failed document again, after its cause is fixed.
  It goes to the customer's *current* billing data (the latest billing profile), not
  to the snapshot taken at issue: the address the mail server refused is not tried
  again once the clerk has fixed the card. A card still in error, or current data
  without what the channel needs, is refused (409) with the reason.
- ``POST /documents/{id}/move``: a failed document moved to another channel (e-mail
  refused → print): it waits there, addressed to the customer's current data, for the
  channel's next send. 409 with the reason when that data lacks what the channel needs.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from services.dispatch import moves
from services.dispatch.api import (
    _FILE_RESPONSES,
    CONFLICT,
    DocumentIdPath,
    DocumentOut,
    SendAccepted,
    _file,
    _not_found,
    _runtime,
    _settings,
    _uow,
    start_send,
)
from services.dispatch.channels import Refused, make
from services.dispatch.domain.documents import State, stored_document
from services.dispatch.domain.reasons import localize
from services.dispatch.domain.selection import Selection
from shared.api_models import StrictRequest
from shared.auth.http import Caller, require
from shared.events.customers import Channel
from shared.http import NOT_FOUND

router = APIRouter(tags=["sending"])
READ = require("dispatch:read")
SEND = require("dispatch:send")


class AttemptOut(BaseModel):
    attempt: int
    channel: str
    job_id: uuid.UUID | None
    worker: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    final: bool
    code: str | None
    reason: str | None
    """In English (as the delivery-failed event says it)."""
    detail: str | None
    message_fi: str | None
    message_en: str | None
    message_sv: str | None
    receipt: str | None
    resumed: bool
    address: str | None
    """Where this attempt went: the e-mail, the e-invoice address (operator), the postal
    address. Personal data: shown here, never logged."""
    actor: str | None
    """Who sent or re-sent the document (the send's authenticated actor; None: automatic sending)."""

    @classmethod
    def of(cls, row: dict[str, Any]) -> AttemptOut:
        texts = localize(row["code"], row.get("detail"), row["reason"])
        return cls(
            **row,
            message_fi=texts.fi if texts else None,
            message_en=texts.en if texts else None,
            message_sv=texts.sv if texts else None,
        )


class DocumentDetail(DocumentOut):
    source: str
    source_id: str
    attempts_made: list[AttemptOut]


class MoveRequest(StrictRequest):
    """The channel a failed document goes to instead (e-mail refused → ``print``)."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel


class MoveAccepted(BaseModel):
    """The document waits on ``document.channel`` for that channel's next send."""

    moved_from: str
    document: DocumentOut
    message_fi: str
    message_en: str
    message_sv: str


CHANNEL_TEXTS = {
    "email": ("Sähköposti", "E-mail", "E-post"),
    "einvoice": ("Verkkolasku", "E-invoice", "E-faktura"),
    "print": ("Tulostus", "Print", "Utskrift"),
}


def _doc_not_found(document_id: str) -> HTTPException:
    return _not_found("document", f"Asiakirjaa {document_id} ei löydy.", f"Document {document_id} not found.")


def _refused(refusal: moves.Refusal) -> HTTPException:
    return HTTPException(refusal.status, detail=refusal.detail())


@router.get("/documents/{document_id}", response_model=DocumentDetail, responses=NOT_FOUND, dependencies=[READ])
async def document(request: Request, document_id: DocumentIdPath) -> Any:
    """One document with every delivery attempt."""
    async with _uow(request) as uow:
        row = await uow.documents.get(document_id)
        attempts = await uow.documents.attempts_of(document_id) if row else []
    if row is None:
        raise _doc_not_found(document_id)
    return DocumentDetail(
        **DocumentOut.of(row).model_dump(),
        source=row.source,
        source_id=row.source_id,
        attempts_made=[AttemptOut.of(a) for a in attempts],
    )


@router.get(
    "/documents/{document_id}/rendered",
    response_class=Response,
    responses={**_FILE_RESPONSES, **CONFLICT},
    dependencies=[READ],
)
async def rendered(request: Request, document_id: DocumentIdPath) -> Response:
    """The document rendered now, exactly as its channel would send it; nothing is sent.
    409 with the reason when the channel would refuse it (no address, invalid Finvoice)."""
    async with _uow(request) as uow:
        item = await uow.documents.rendering(document_id)
    if item is None:
        raise _doc_not_found(document_id)
    adapter = make(item.channel, _settings(request))  # type: ignore[arg-type]
    try:
        out = adapter.render(item.id, stored_document(item.source, item.payload, item.recipient))
    except Refused as refused:
        texts = localize(refused.failed.code, refused.failed.detail, refused.failed.reason)
        assert texts is not None
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail={
                "code": refused.failed.code,
                "message_fi": texts.fi,
                "message_en": texts.en,
                "message_sv": texts.sv,
            },
        ) from None
    return _file(out.file_name, out.content_type, out.content)


@router.post(
    "/documents/{document_id}/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SendAccepted,
    responses={**NOT_FOUND, **CONFLICT},
    dependencies=[SEND],
)
async def resend(request: Request, document_id: DocumentIdPath, caller: Caller) -> Any:
    """Send a failed document again (after its cause is fixed): a send of this one, to
    the customer's current billing data. 409 when the card still has errors or its data
    lacks what the channel needs (the reason says which)."""
    async with _uow(request) as uow:
        refusal = await moves.resend_check(uow, document_id)
        row = await uow.documents.get(document_id) if refusal is None else None
    if refusal is False:
        raise _doc_not_found(document_id)
    if isinstance(refusal, moves.Refusal):
        raise _refused(refusal)
    assert row is not None
    sel = Selection(channel=row.channel, states=(State.FAILED,), ids=(document_id,))  # type: ignore[arg-type]
    return await start_send(_runtime(request), sel, preview=False, actor=caller.actor)


@router.post(
    "/documents/{document_id}/move",
    status_code=status.HTTP_201_CREATED,
    response_model=MoveAccepted,
    responses={**NOT_FOUND, **CONFLICT},
    dependencies=[SEND],
)
async def move(request: Request, document_id: DocumentIdPath, body: MoveRequest, caller: Caller) -> Any:
    """Move a failed document to another channel (e-mail refused → print). It then waits
    on that channel, addressed to the customer's current billing data, and goes with the
    channel's next send. 409 when it is not failed, is on that channel already, or the
    customer's data lacks what the channel needs (the reason says which)."""
    async with _uow(request) as uow:
        outcome = await moves.move(uow, document_id, body.channel, caller.actor)
        if isinstance(outcome, moves.Moved):
            await uow.commit()
            row = await uow.documents.get(outcome.new_id)
    if outcome is None:
        raise _doc_not_found(document_id)
    if isinstance(outcome, moves.Refusal):
        raise _refused(outcome)
    assert row is not None
    fi, en, sv = CHANNEL_TEXTS[body.channel]
    answer = MoveAccepted(
        moved_from=outcome.old_id,
        document=DocumentOut.of(row),
        message_fi=f"Asiakirja siirrettiin kanavaan {fi}; se lähtee kanavan seuraavassa lähetyksessä.",
        message_en=f"The document was moved to the {en} channel; it goes with that channel's next send.",
        message_sv=f"Dokumentet flyttades till kanalen {sv}; det skickas med kanalens nästa sändning.",
    )
    return JSONResponse(answer.model_dump(mode="json"), status_code=status.HTTP_201_CREATED)
