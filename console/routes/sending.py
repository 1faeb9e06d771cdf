"""The *Laskujen lähetys / Sending* tab (seed steps 18-25): channel by channel, what
waits, select all, the preview switch (with sample documents to open), send, the
progress, the confirmation; failed deliveries with their reasons, and re-send.

- ``GET  /sending``: the channels with how many wait; ``GET /sending/{channel}``: one
  channel's waiting list and failed deliveries
- ``POST /sending/{channel}/send``: *Lähetä laskut* (or the preview): the job's
  progress, then ``/sending/{channel}/jobs/{id}`` (the confirmation, or the samples)
- ``GET  /sending/previews/{job}/{document}``: a preview's sample file, through the
  console (the clerk's browser never talks to the services)
- ``POST /sending/documents/{id}/resend``, ``POST /sending/{channel}/resend-failed``
  (to the customer's current billing data)
- ``POST /sending/documents/{id}/move``: a failed document to another channel (e-mail
  refused → print)
- ``GET  /sending/documents/{id}/rendered``: a document as it would leave

The rules of what is shown are in :mod:`console.routes.sending_view`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from console import paging
from console.auth import User
from console.backend import call
from console.routes import sending_view as view
from console.routes.jobs import progress_context
from console.web import render

router = APIRouter()

ChannelPath = Annotated[str, Path(max_length=10)]
DocumentId = Annotated[str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
_FILE_HEADERS = ("content-type", "content-disposition")


def _error(request: Request, key: str, status_code: int = 200) -> Response:
    return render(request, "partials/error.html", message_key=key, status_code=status_code)


async def _cards(request: Request) -> list[view.ChannelCard]:
    return view.channel_cards(await call(request, "dispatch", "GET", "/sending"))


@router.get("/sending")
async def page(request: Request, user: User) -> Response:
    """Step 18-19: the channels, how many wait on each; pick one."""
    return render(request, "sending/page.html", active_tab="sending", cards=await _cards(request), channel=None)


async def _documents(request: Request, channel: str, states: list[str], page: int = 1) -> dict[str, Any]:
    params = {"state": states, "limit": view.LIST_LIMIT, "offset": paging.offset_of(page, view.LIST_LIMIT)}
    found: dict[str, Any] = await call(request, "dispatch", "GET", f"/sending/{channel}/documents", params=params)
    return found


async def _lists(request: Request, channel: str, page: int = 1, failed_page: int = 1) -> dict[str, Any]:
    """The waiting and failed lists of a channel, one page each, with their pagers
    (every document can be seen, none stops at the page size)."""
    waiting = await _documents(request, channel, ["waiting"], page)
    failed = await _documents(request, channel, ["failed"], failed_page)
    pages = {"page": page, "failed_page": failed_page}

    def pager(found: dict[str, Any], name: str) -> paging.Pager | None:
        return paging.by_offset(
            f"/sending/{channel}",
            {k: v for k, v in pages.items() if k != name and v != 1},
            page=pages[name],
            limit=view.LIST_LIMIT,
            shown=len(found["items"]),
            total=int(found["total"]),
            name=name,
        )

    return {
        "waiting": waiting,
        "failed": failed,
        "waiting_pager": pager(waiting, "page"),
        "failed_pager": pager(failed, "failed_page"),
    }


@router.get("/sending/{channel}")
async def channel_page(
    request: Request, user: User, channel: ChannelPath, page: paging.Page = 1, failed_page: paging.Page = 1
) -> Response:
    """Step 20-22: the channel's waiting documents (select all, the preview switch,
    *Lähetä laskut sähköpostilla*) and its failed deliveries with their reasons."""
    try:
        view.parse_channel(channel)
    except view.SendError as exc:
        return render(request, "error.html", status_code=404, title_key="errors.title", message_key=exc.key)
    return render(
        request,
        "sending/page.html",
        active_tab="sending",
        cards=await _cards(request),
        channel=channel,
        **await _lists(request, channel, page, failed_page),
    )


@router.post("/sending/{channel}/send")
async def send(request: Request, user: User, channel: ChannelPath) -> Response:
    """Step 23: send the ticked documents (or all), or preview them: the job's
    progress, which loads the confirmation (or the samples) when it ends."""
    form = await request.form()
    ids = [v for v in form.getlist("document_id") if isinstance(v, str)]
    switch = form.get("preview")
    try:
        view.parse_channel(channel)
        body = view.send_body(
            form.get("select_all") == "1",
            ids,
            preview=view.checked(switch if isinstance(switch, str) else None),
            beyond_shown=form.get("more") == "1",
        )
    except view.SendError as exc:
        return _error(request, exc.key)
    answer = await call(request, "dispatch", "POST", f"/sending/{channel}/send", json=body)
    return _progress(request, channel, answer)


def _progress(request: Request, channel: str, answer: dict[str, Any]) -> Response:
    job = answer["job"]
    then = f"/sending/{channel}/jobs/{job['id']}"
    return render(request, "sending/_started.html", answer=answer, **progress_context("dispatch", job, then))


@router.post("/sending/{channel}/resend-failed")
async def resend_failed(request: Request, user: User, channel: ChannelPath) -> Response:
    """Every failed document of the channel again (after the causes are fixed)."""
    try:
        view.parse_channel(channel)
    except view.SendError as exc:
        return _error(request, exc.key)
    body = view.send_body(True, [], preview=False, resend_failed=True, beyond_shown=True)
    answer = await call(request, "dispatch", "POST", f"/sending/{channel}/send", json=body)
    return _progress(request, channel, answer)


@router.post("/sending/documents/{document_id}/resend")
async def resend(request: Request, user: User, document_id: DocumentId) -> Response:
    """One failed document again."""
    answer = await call(request, "dispatch", "POST", f"/documents/{document_id}/resend")
    return _progress(request, str(answer["channel"]), answer)


@router.post("/sending/documents/{document_id}/move")
async def move(request: Request, user: User, document_id: DocumentId) -> Response:
    """A failed document to another channel: it waits there for that channel's send.
    The dispatch service refuses (with the reason) when the customer's data lacks what
    the channel needs."""
    form = await request.form()
    target = form.get("channel")
    try:
        view.parse_channel(target if isinstance(target, str) else "")
    except view.SendError as exc:
        return _error(request, exc.key)
    answer = await call(request, "dispatch", "POST", f"/documents/{document_id}/move", json={"channel": target})
    old = await call(request, "dispatch", "GET", f"/documents/{answer['moved_from']}")
    channel = str(old["channel"])
    return render(
        request,
        "sending/_moved.html",
        document=answer["document"],
        channel=channel,
        cards=await _cards(request),
        failed=await _documents(request, channel, ["failed"]),
    )


@router.get("/sending/{channel}/jobs/{job_id}")
async def finished(request: Request, user: User, channel: ChannelPath, job_id: uuid.UUID) -> Response:
    """Step 24: the confirmation (*N laskua lähetetty sähköpostilla*) with failures
    to look at; a preview: what it rendered, problems with reasons, samples to open."""
    job = await call(request, "dispatch", "GET", f"/jobs/{job_id}")
    outcome = view.send_outcome(job)
    channel = outcome.channel or channel
    try:
        view.parse_channel(channel)
    except view.SendError as exc:
        return _error(request, exc.key)
    ctx: dict[str, Any] = {}
    if outcome.preview:
        ctx["preview"] = await call(request, "dispatch", "GET", f"/sending/previews/{job_id}", params={"limit": 100})
        listed = await _documents(request, channel, ["waiting", "failed"])
        ctx["documents"] = {d["id"]: d for d in listed["items"]}
    else:
        # the cards and both lists as they are after the send, swapped in beside the confirmation
        ctx["cards"] = await _cards(request)
        ctx.update(await _lists(request, channel))
    return render(
        request,
        "sending/_finished.html",
        channel=channel,
        outcome=outcome,
        job=job,
        plural=view.plural,
        sample_kind=view.sample_kind,
        **ctx,
    )


async def _file(request: Request, path: str) -> Response:
    upstream = await call(request, "dispatch", "GET", path, raw=True)
    headers = {k: v for k, v in upstream.headers.items() if k.lower() in _FILE_HEADERS}
    if "content-disposition" in headers:
        # open in the browser (a PDF or XML tab), not only as a download
        headers["content-disposition"] = headers["content-disposition"].replace("attachment", "inline", 1)
    headers["cache-control"] = "no-store"
    headers["x-content-type-options"] = "nosniff"
    headers["content-security-policy"] = "sandbox"  # a sample is a document, never a page that runs code
    return Response(upstream.content, headers=headers)


@router.get("/sending/previews/{job_id}/{document_id}")
async def sample(request: Request, user: User, job_id: uuid.UUID, document_id: DocumentId) -> Response:
    """A sample the preview kept: the PDF, the Finvoice XML or the e-mail."""
    return await _file(request, f"/sending/previews/{job_id}/{document_id}")


@router.get("/sending/documents/{document_id}/rendered")
async def rendered(request: Request, user: User, document_id: DocumentId) -> Response:
    """A document rendered now, exactly as its channel would send it."""
    return await _file(request, f"/documents/{document_id}/rendered")
