"""The bank's payment files (camt.054, viitesiirto): preview an upload, import it, list
the imported files and read one with what became of its entries.

Uploads are ``multipart/form-data`` with the file in the part ``file``; the body is read
up to :data:`MAX_UPLOAD_BYTES` and no further (413 ``bank-file-too-large``). A file the
parser refuses answers 422 ``bank-file-invalid`` with ``where`` (the line or element)
and records nothing. At most a couple of files are read at once per process: another
waits a few seconds, then answers 503 ``bank-file-busy`` with ``Retry-After`` (so does an
import the database chose to give way to an overlapping one: nothing recorded).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.requests import Request as StarletteRequest
from starlette.types import Message

from services.invoicing.api.common import CONFLICT, refused, uow
from services.invoicing.bank_files import MAX_BANK_FILE_BYTES, BankFileInvalid
from services.invoicing.handlers import bank_imports
from services.invoicing.handlers.errors import Refused
from services.invoicing.store.bank_files import StoredEntry, StoredFile
from shared.auth.http import Caller, require
from shared.http import AUTH_ERRORS, NOT_FOUND, UNSTORABLE, ErrorDetail, ErrorResponse, unprocessable

router = APIRouter(prefix="/payments/files", tags=["payments"], responses=AUTH_ERRORS)
BILL = require("invoicing:bill")  # as allocating a payment
READ = require("invoicing:read")

MAX_UPLOAD_BYTES = MAX_BANK_FILE_BYTES + 64 * 1024
"""The largest request body read: the largest file the parser takes plus room for the
multipart framing and the form's other fields."""

Outcome = Literal["matched", "unmatched", "repeated", "reversal"]
Kind = Literal["payment", "reversal"]


class BankFileErrorDetail(ErrorDetail):
    where: str
    """The line (``line 4``) or element path of the file that is wrong, or ``file``."""


class BankFileErrorResponse(BaseModel):
    detail: BankFileErrorDetail


class ValidationErrorResponse(BaseModel):
    """The usual 422 shape (a form part missing or unstorable): ``detail`` a list of
    ``{loc, msg, msg_fi, type}``."""

    detail: list[dict[str, Any]]


SHA256 = re.compile(r"[0-9a-f]{64}")


INVALID: dict[int | str, dict[str, Any]] = {
    422: {
        "model": BankFileErrorResponse | ValidationErrorResponse,
        "description": "`bank-file-invalid`: the file is refused whole, nothing recorded (`where` says the line "
        "or element); a request without the `file` part answers the usual validation shape",
    },
    413: {"model": ErrorResponse, "description": "`bank-file-too-large`: over the upload limit"},
    503: {
        "model": ErrorResponse,
        "description": "`bank-file-busy`: too many files at once, or the import gave way to an overlapping one; "
        "nothing recorded, try again after `Retry-After` seconds",
    },
}
RETRY_AFTER_S = 5


def _refused(exc: Refused) -> HTTPException:
    http = refused(exc)
    if exc.status == 503:
        http.headers = {"Retry-After": str(RETRY_AFTER_S)}
    return http


UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "camt.054 or viitesiirto"},
                        "sha256": {
                            "type": "string",
                            "pattern": "^[0-9a-f]{64}$",
                            "description": "The preview's sha256: 409 bank-file-changed if the upload differs",
                        },
                    },
                }
            }
        },
    }
}


class PreviewEntryOut(BaseModel):
    archive_id: str
    kind: Kind
    reference: str
    amount: Decimal
    payment_date: date
    payer_name: str | None
    outcome: Outcome
    invoice_number: int | None
    reason: str | None
    reason_fi: str | None = None
    reason_en: str | None = None
    location: str


class PreviewOut(BaseModel):
    format: str
    file_id: str
    file_name: str
    sha256: str
    already_imported_as: int | None
    count: int
    """Payments in the file (reversals not counted), and their sum in ``amount``."""
    amount: Decimal
    reversals: int
    reversal_amount: Decimal
    entries: list[PreviewEntryOut]


class ImportedOut(BaseModel):
    id: int
    format: str
    file_id: str
    file_name: str
    count: int
    amount: Decimal
    reversals: int
    recorded: int
    """Entries published now (payments and reversals)."""
    repeated: int
    """Entries an earlier file brought: kept with this file, not published again."""
    already_imported: bool = False


class FileOut(BaseModel):
    id: int
    file_name: str
    format: str
    file_id: str
    imported_at: datetime
    imported_by: str
    count: int
    amount: Decimal
    reversals: int
    matched: int
    """Entries this file brought that are payments on an invoice (matched by reference, or
    allocated by a clerk)."""
    unmatched: int
    """Entries waiting for a clerk (no invoice found; a reversal whose payment is unknown)."""
    reversed: int
    """Payments the bank took back, and the reversals that took them back."""
    pending: int
    """Entries not taken by the payments consumer yet."""
    repeated: int

    @classmethod
    def of(cls, f: StoredFile) -> FileOut:
        return cls(**{name: getattr(f, name) for name in cls.model_fields})


class FileList(BaseModel):
    total: int
    items: list[FileOut]


class FileEntryOut(BaseModel):
    seq: int
    archive_id: str
    kind: Kind
    reference: str
    amount: Decimal
    payment_date: date
    payer_name: str | None
    status: str
    """``pending``, or the payment's status: matched, unmatched, allocated, reversed,
    reversal (a reversal applied to its payment)."""
    reason: str | None
    reason_fi: str | None
    reason_en: str | None
    invoice_number: int | None
    repeated: bool
    reverses_archive_id: str | None
    location: str

    @classmethod
    def of(cls, e: StoredEntry) -> FileEntryOut:
        fi, en = bank_imports.reason_texts(e.reason)
        return cls(
            seq=e.seq,
            archive_id=e.archive_id,
            kind="reversal" if e.kind == "reversal" else "payment",
            reference=e.reference,
            amount=e.amount,
            payment_date=e.payment_date,
            payer_name=e.payer_name,
            status=e.status,
            reason=e.reason,
            reason_fi=fi,
            reason_en=en,
            invoice_number=e.invoice_number,
            repeated=e.repeated,
            reverses_archive_id=e.reverses_archive_id,
            location=e.location,
        )


class FileDetail(FileOut):
    entries: list[FileEntryOut]


def _too_large() -> HTTPException:
    limit_mib = MAX_BANK_FILE_BYTES // (1024 * 1024)
    return HTTPException(
        413,
        detail={
            "code": "bank-file-too-large",
            "message_fi": f"Tiedosto on liian suuri (enintään {limit_mib} MiB).",
            "message_en": f"The file is too large (at most {limit_mib} MiB).",
        },
    )


def _invalid(exc: BankFileInvalid) -> HTTPException:
    return HTTPException(
        422,
        detail={"code": "bank-file-invalid", "message_fi": exc.fi, "message_en": exc.en, "where": exc.where},
    )


async def _upload(request: Request) -> tuple[bytes, str | None, str | None]:
    """The ``file`` part's bytes, its name and the form's ``sha256``: the body read up to
    :data:`MAX_UPLOAD_BYTES` (413 beyond, declared or streamed), then parsed."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            raise _too_large()
        chunks.append(chunk)
    body = b"".join(chunks)

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await StarletteRequest(request.scope, replay).form(max_files=1, max_fields=5)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise unprocessable(("body", "file"), "Field required", "missing", "Tiedosto puuttuu (osa file).")
        sha = form.get("sha256")
        sha = sha if isinstance(sha, str) and sha else None
        unstorable = [loc for loc, text in ((("body", "file", "filename"), upload.filename), (("body", "sha256"), sha))
                      if text is not None and UNSTORABLE.search(text)]  # fmt: skip
        if unstorable:
            raise unprocessable(unstorable[0], "The text holds a character that cannot be stored.", "invalid_character")
        if sha is not None and not SHA256.fullmatch(sha):
            raise unprocessable(
                ("body", "sha256"), "Not a sha256 (64 hex digits).", "string_pattern_mismatch",
                "Ei sha256-tiivistettä (64 heksadesimaalinumeroa).",
            )  # fmt: skip
        data = await upload.read(MAX_BANK_FILE_BYTES + 1)
        if len(data) > MAX_BANK_FILE_BYTES:
            raise _too_large()
        return data, upload.filename, sha
    finally:
        await form.close()


@router.post(
    "/preview",
    response_model=PreviewOut,
    responses=INVALID,
    dependencies=[BILL],
    openapi_extra=UPLOAD,
)
async def preview(request: Request) -> Any:
    """What importing the file would record: each entry's outcome (matched to an
    invoice, unmatched, repeated from an earlier file, a reversal). Reads only."""
    data, name, _ = await _upload(request)
    try:
        p = await bank_imports.preview(uow(request), data, name)
    except BankFileInvalid as exc:
        raise _invalid(exc) from None
    except Refused as exc:
        raise _refused(exc) from None
    return PreviewOut(
        format=p.file.format,
        file_id=p.file.file_id,
        file_name=p.file_name,
        sha256=p.sha256,
        already_imported_as=p.already_imported_as,
        count=p.count,
        amount=p.amount,
        reversals=p.reversals,
        reversal_amount=p.reversal_amount,
        entries=[
            PreviewEntryOut(
                archive_id=e.entry.archive_id,
                kind="reversal" if e.entry.reversal else "payment",
                reference=e.entry.reference,
                amount=e.entry.amount,
                payment_date=e.entry.payment_date,
                payer_name=e.entry.payer_name,
                outcome=e.outcome,
                invoice_number=e.invoice_number,
                reason=e.reason,
                reason_fi=bank_imports.reason_texts(e.reason)[0],
                reason_en=bank_imports.reason_texts(e.reason)[1],
                location=e.entry.location,
            )
            for e in p.entries
        ],
    )


@router.post(
    "",
    response_model=ImportedOut,
    status_code=201,
    responses={**INVALID, **CONFLICT, 200: {"model": ImportedOut, "description": "Imported already: nothing recorded"}},
    dependencies=[BILL],
    openapi_extra=UPLOAD,
)
async def import_file(request: Request, response: Response, caller: Caller) -> Any:
    """Import the file: its new entries are recorded and published as reference payments
    (and reversals), in one transaction. The same file again answers 200 with
    ``already_imported: true`` and the earlier import's ``id``; nothing is recorded."""
    data, name, sha = await _upload(request)
    try:
        done = await bank_imports.import_file(uow(request), data, name, actor=caller.actor, expected_sha256=sha)
    except BankFileInvalid as exc:
        raise _invalid(exc) from None
    except Refused as exc:
        raise _refused(exc) from None
    if done.already_imported:
        response.status_code = 200
    p = done.preview
    return ImportedOut(
        id=done.id,
        format=p.file.format,
        file_id=p.file.file_id,
        file_name=p.file_name,
        count=p.count,
        amount=p.amount,
        reversals=p.reversals,
        recorded=done.recorded,
        repeated=done.repeated,
        already_imported=done.already_imported,
    )


@router.get("", response_model=FileList, dependencies=[READ])
async def list_files(
    request: Request,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Any:
    """Imported files, newest first, with how many of their entries are matched,
    unmatched (for a clerk), pending (not taken yet) and repeated."""
    total, items = await bank_imports.files(uow(request), limit=limit, offset=offset)
    return FileList(total=total, items=[FileOut.of(f) for f in items])


@router.get("/{file_id}", response_model=FileDetail, responses=NOT_FOUND, dependencies=[READ])
async def get_file(request: Request, file_id: int = Path(ge=1, le=2**62)) -> Any:
    """One imported file and each of its entries with its current status."""
    try:
        f, entries = await bank_imports.file(uow(request), file_id)
    except Refused as exc:
        raise refused(exc) from None
    return FileDetail(**FileOut.of(f).model_dump(), entries=[FileEntryOut.of(e) for e in entries])
