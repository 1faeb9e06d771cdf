"""*Pankin aineistot / Bank files*: the clerk uploads a payment file the bank delivered
(camt.054 or the reference-payment record file), sees a preview of what will be recorded
(each entry: matched to an invoice, unmatched and why, a reversal, or repeated from an
earlier file), confirms, and finds the file in the list of imported files with its counts.

The uploaded bytes stay on the server between the preview and the confirmation (the
console's store, :class:`console.store.Upload`, for ``bank_file_preview_ttl_s``): the
page holds only an opaque token, so the import sends exactly the file previewed, and the
invoicing service also gets the preview's SHA-256 and refuses a file that differs.
Every call goes to the invoicing service's API (``/payments/files``) as the clerk.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from console import paging
from console.auth import User
from console.backend import ServiceError, call
from console.routes.bank_files_view import ACCEPT, UploadRefused, check_upload, file_name_of, outcomes, size_text
from console.routes.bank_files_view import refusal as where_of
from console.store import Upload
from console.web import flash, lang_of, render

router = APIRouter()

LIST_LIMIT = 100
"""Imported files on one page; the pager leads to the rest."""
FileId = Annotated[int, Path(ge=1, le=2**62)]
INVALID = "bank-file-invalid"


def _key(token: str) -> str:
    """The store keeps an upload under the SHA-256 of its token, like a session."""
    return hashlib.sha256(token.encode()).hexdigest()


async def _page(
    request: Request, *, page: int = 1, status_code: int = 200, problem: dict[str, Any] | None = None
) -> Response:
    """The upload form and the list of imported files; ``problem``: why the last upload
    was refused (``message``, ``where``), shown above the form and announced."""
    params = {"limit": LIST_LIMIT, "offset": paging.offset_of(page, LIST_LIMIT)}
    try:
        found = await call(request, "invoicing", "GET", "/payments/files", params=params)
        error = None
    except ServiceError as exc:
        found, error = {"total": 0, "items": []}, exc.message
    pager = paging.by_offset(
        "/bank-files", {}, page=page, limit=LIST_LIMIT, shown=len(found["items"]), total=int(found["total"])
    )
    settings = request.app.state.settings
    return render(
        request,
        "bank_files/index.html",
        status_code=status_code,
        active_tab="bank_files",
        found=found,
        error=error,
        pager=pager,
        problem=problem,
        accept=ACCEPT,
        limit=size_text(settings.bank_file_max_bytes, lang_of(request)),
    )


@router.get("/bank-files")
async def page(request: Request, user: User, page: paging.Page = 1) -> Response:
    return await _page(request, page=page)


@router.get("/bank-files/preview")
async def preview_again(request: Request, user: User) -> Response:
    """The preview is the answer to an upload; reached by a link (the language switch,
    a bookmark) the clerk is taken to the upload form."""
    return RedirectResponse("/bank-files", status_code=303)


@router.post("/bank-files/preview")
async def preview(request: Request, user: User, file: Annotated[UploadFile | None, File()] = None) -> Response:
    settings = request.app.state.settings
    if file is None:
        return await _page(request, status_code=400, problem={"key": "bank_files.error.no_file"})
    data = await file.read(settings.bank_file_max_bytes + 1)
    name = file_name_of(file.filename)
    try:
        sha256 = check_upload(data, settings.bank_file_max_bytes, lang_of(request))
    except UploadRefused as refused:
        status = 413 if refused.key.endswith("too_big") else 400
        return await _page(request, status_code=status, problem={"key": refused.key, "values": refused.values})
    try:
        found: dict[str, Any] = await call(
            request,
            "invoicing",
            "POST",
            "/payments/files/preview",
            files={"file": (name, data, "application/octet-stream")},
        )
    except ServiceError as exc:
        status = 422 if exc.code == INVALID else 502 if exc.status in (0, 500, 502, 503, 504) else 400
        where = where_of(exc.extra, lang_of(request))
        problem = {"message": exc.message, "where": where, "invalid": exc.code == INVALID, "name": name}
        return await _page(request, status_code=status, problem=problem)
    token = None
    if not found.get("already_imported_as"):
        token = secrets.token_urlsafe(32)
        sessions = request.app.state.sessions
        expires_at = sessions.clock() + settings.bank_file_preview_ttl_s
        await sessions.store.put_upload(_key(token), Upload(user, name, data, sha256, expires_at))
    return render(
        request,
        "bank_files/preview.html",
        active_tab="bank_files",
        preview=found,
        file_name=name,
        token=token,
        counts=outcomes(found.get("entries") or []),
    )


@router.post("/bank-files/import")
async def confirm(request: Request, user: User, upload: Annotated[str, Form(min_length=1, max_length=200)]) -> Response:
    sessions = request.app.state.sessions
    key = _key(upload)
    kept = await sessions.store.get_upload(key, user, sessions.clock())
    if kept is None:
        flash(request, "bank_files.error.expired", "error")
        return RedirectResponse("/bank-files", status_code=303)
    try:
        result: dict[str, Any] = await call(
            request,
            "invoicing",
            "POST",
            "/payments/files",
            files={"file": (kept.file_name, kept.data, "application/octet-stream")},
            data={"sha256": kept.sha256},
        )
    except ServiceError as exc:
        where = where_of(exc.extra, lang_of(request))
        message = f"{exc.message} ({where})" if where else exc.message
        flash(request, "errors.service", "error", message=message)
        return RedirectResponse("/bank-files", status_code=303)
    await sessions.store.delete_upload(key)
    values = {"name": kept.file_name, "id": result.get("id")}
    if result.get("already_imported"):
        flash(request, "bank_files.already_imported_flash", "error", **values)
    else:
        flash(
            request,
            "bank_files.imported",
            **values,
            count=result.get("count", 0),
            recorded=result.get("recorded", 0),
            repeated=result.get("repeated", 0),
        )
    return RedirectResponse("/bank-files", status_code=303)


@router.get("/bank-files/{file_id}")
async def show(request: Request, user: User, file_id: FileId) -> Response:
    item = await call(request, "invoicing", "GET", f"/payments/files/{file_id}")
    return render(request, "bank_files/show.html", active_tab="bank_files", item=item)
