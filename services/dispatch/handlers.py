"""Use cases of the dispatch service: async functions over a unit of work (the caller
owns the transaction).

- :func:`accept_documents`: issued invoices, corrective invoices / credit notes and
  payment reminders become outgoing documents waiting on their channel (queued at once
  where automatic sending is on).
- The **send job** (:data:`SEND`, seed steps 19–24): queues the selection chunk by
  chunk (each chunk: the documents ``queued`` and their channel jobs in the outbox, in
  one transaction, so a crash resumes at the next chunk), then follows the documents'
  outcomes until each is delivered or failed. ``done`` / ``failures`` are the
  delivered + failed so far and the failed; the result counts ``queued``,
  ``delivered``, ``failed``.
- The **preview job** (:data:`PREVIEW`): renders each selected document exactly as it
  would leave, delivers nothing and changes no document; problems are listed, a few
  samples kept for download.
- :func:`queue_due_retries`: documents whose retry time has come go back on their topic.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from services.dispatch.channels import ChannelAdapter, Refused, make
from services.dispatch.config import Settings
from services.dispatch.domain.documents import NewDocument, State, from_invoice, from_reminder, stored_document
from services.dispatch.domain.naming import print_batch_id
from services.dispatch.domain.recipients import Profile
from services.dispatch.domain.selection import Selection
from services.dispatch.repositories import DispatchUnitOfWork, Queued, Rendering
from shared import tracing
from shared.events import topics
from shared.events.customers import Channel
from shared.events.dispatch import SendDocument
from shared.events.envelope import Envelope
from shared.events.invoicing import CorrectiveInvoiceIssued, InvoiceIssued
from shared.events.reminders import ReminderIssued
from shared.jobs import JobContext, Step
from shared.tracing import TraceContext

SEND = "dispatch.send"
PREVIEW = "dispatch.preview"


def queue_job(
    uow: DispatchUnitOfWork,
    document_id: str,
    channel: str,
    attempt: int,
    job_id: str | None,
    *,
    trace: TraceContext | None = None,
) -> None:
    """The channel job of one attempt; it carries the document's trace (``trace``, the
    event it came from) on to the worker and its DocumentDelivered."""
    uow.outbox.add(
        topics.CHANNEL_JOBS[channel].name,
        SendDocument(document_id=document_id, channel=cast(Channel, channel), attempt=attempt, job_id=job_id),
        key=document_id,
        trace=trace,
    )


# --- documents arrive ------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    stored: list[NewDocument]
    queued: list[NewDocument]


async def accept_documents(
    events: Sequence[Envelope[Any]], uow: DispatchUnitOfWork, *, auto_send: frozenset[str]
) -> Accepted:
    """Documents from ``invoicing.invoices.v1`` and ``reminders.reminders.v1``; other
    event types on those topics (payments, settlements, collection) are not documents."""
    new: dict[str, NewDocument] = {}
    traces: dict[str, TraceContext | None] = {}
    for env in events:
        data = env.data
        if isinstance(data, InvoiceIssued | CorrectiveInvoiceIssued):
            doc = from_invoice(data.invoice)
        elif isinstance(data, ReminderIssued):
            doc = from_reminder(data.reminder)
        else:
            continue
        new.setdefault(doc.id, doc)
        traces.setdefault(doc.id, env.meta.trace or tracing.current())
    auto = [d.id for d in new.values() if d.channel in auto_send]
    stored = await uow.documents.add(list(new.values()), queued=auto, traces=traces)
    queued = [d for d in stored if d.channel in auto_send]
    for d in queued:
        queue_job(uow, d.id, d.channel, 1, None, trace=traces.get(d.id))
    return Accepted(stored, queued)


# --- the send job ---------------------------------------------------------------------


def _selection(job: JobContext) -> Selection:
    return Selection.from_json(dict(job.params["selection"]))


async def count_selected(job: JobContext, uow: DispatchUnitOfWork) -> int:
    return await uow.documents.count_selection(_selection(job))


async def send_chunk(job: JobContext, uow: DispatchUnitOfWork, *, track_interval_s: float = 0.5) -> Step:
    sel = _selection(job)
    cursor: dict[str, Any] = dict(
        job.cursor or {"phase": "queue", "after": 0, "queued": 0, "delivered": 0, "failed": 0}
    )
    queued_now = 0
    if cursor["phase"] == "queue":
        batch_id = print_batch_id(str(job.id), "") if sel.channel == "print" else None
        if batch_id is not None and cursor["after"] == 0:
            await uow.documents.open_batch(batch_id, job.id, sealed=False)
        rows = await uow.documents.queue_next(
            sel, after=int(cursor["after"]), limit=job.chunk_size, job_id=job.id, batch_id=batch_id, actor=job.actor
        )
        await to_current_data(uow, [r for r in rows if r.resend])
        for row in rows:
            queue_job(uow, row.id, sel.channel, row.attempts + 1, str(job.id), trace=row.trace)
            cursor["after"] = row.seq
        queued_now = len(rows)
        cursor["queued"] += queued_now
        if queued_now < job.chunk_size:
            cursor["phase"] = "track"
            if batch_id is not None:
                await uow.documents.seal_batch(batch_id)
    else:
        await asyncio.sleep(track_interval_s)
    delivered, failed = await uow.documents.job_outcomes(job.id)
    new_delivered, new_failed = delivered - int(cursor["delivered"]), failed - int(cursor["failed"])
    cursor["delivered"], cursor["failed"] = delivered, failed
    finished = cursor["phase"] == "track" and delivered + failed >= int(cursor["queued"])
    return Step(
        done=max(new_delivered, 0) + max(new_failed, 0),
        failures=max(new_failed, 0),
        cursor=cursor,
        counts={"queued": queued_now, "delivered": max(new_delivered, 0), "failed": max(new_failed, 0)},
        finished=finished,
    )


async def to_current_data(uow: DispatchUnitOfWork, resent: Sequence[Queued]) -> None:
    """Re-sent documents go to their customer's current billing data: the latest
    profile, when it is newer than the data the document has and valid (a card still in
    error is not sent to; the document keeps its data and the clerk sees where it went)."""
    if not resent:
        return
    profiles = await uow.profiles.get_many(r.customer_number for r in resent)
    updates: list[tuple[str, dict[str, Any], int]] = []
    for row in resent:
        profile = newer_valid(profiles.get(row.customer_number), row.recipient_version, row.issued_version)
        if profile is not None:
            updates.append((row.id, profile.data.model_dump(mode="json"), profile.version))
    await uow.documents.set_recipients(updates)


def newer_valid(profile: Profile | None, recipient_version: int | None, issued_version: int) -> Profile | None:
    """The profile, when it is valid and newer than the data the document has."""
    have = recipient_version if recipient_version is not None else issued_version
    return profile if profile is not None and profile.valid and profile.version > have else None


async def as_resent(uow: DispatchUnitOfWork, items: list[Rendering]) -> list[Rendering]:
    """Failed documents as a re-send would render them now: to the customer's current
    billing data (a preview of a re-send shows where it would go)."""
    profiles = await uow.profiles.get_many(i.customer_number for i in items)
    out = []
    for item in items:
        issued = int(json.loads(item.payload)["customer"]["profile_version"])
        profile = newer_valid(profiles.get(item.customer_number), item.recipient_version, issued)
        current = profile.data.model_dump(mode="json") if profile is not None else item.recipient
        out.append(dataclasses.replace(item, recipient=current))
    return out


# --- the preview job ----------------------------------------------------------------


@dataclass(frozen=True)
class PreviewItem:
    document_id: str
    seq: int
    ok: bool
    code: str | None
    reason: str | None
    detail: str | None
    file_name: str | None
    content_type: str | None
    content: bytes | None


def render_one(adapter: ChannelAdapter, item: Rendering) -> tuple[PreviewItem, bytes | None]:
    """Render one document as its channel would send it: the item, and its bytes."""
    doc = stored_document(item.source, item.payload, item.recipient)
    try:
        rendered = adapter.render(item.id, doc)
    except Refused as refused:
        r = refused.rendered
        return (
            PreviewItem(
                item.id,
                item.seq,
                False,
                refused.failed.code,
                refused.failed.reason,
                refused.failed.detail,
                r.file_name if r else None,
                r.content_type if r else None,
                None,
            ),
            r.content if r else None,
        )
    return (
        PreviewItem(item.id, item.seq, True, None, None, None, rendered.file_name, rendered.content_type, None),
        rendered.content,
    )


async def preview_chunk(job: JobContext, uow: DispatchUnitOfWork, *, settings: Settings) -> Step:
    """Render the next chunk of the selection; keep every problem (with the file when
    one was made) and the first ``preview_samples`` good documents' files."""
    sel = _selection(job)
    cursor: dict[str, Any] = dict(job.cursor or {"after": 0, "samples": 0})
    batch = await uow.documents.selection_after(sel, after=int(cursor["after"]), limit=job.chunk_size)
    if State.FAILED in sel.states:
        batch = await as_resent(uow, batch)
    adapter = make(sel.channel, settings)
    rows: list[dict[str, Any]] = []
    problems = 0
    for item in batch:
        preview, content = render_one(adapter, item)
        keep = content if not preview.ok or cursor["samples"] < settings.preview_samples else None
        if preview.ok and keep is not None:
            cursor["samples"] += 1
        problems += 0 if preview.ok else 1
        rows.append(
            {
                "job_id": job.id,
                "document_id": preview.document_id,
                "seq": preview.seq,
                "ok": preview.ok,
                "code": preview.code,
                "reason": preview.reason,
                "detail": preview.detail,
                "file_name": preview.file_name,
                "content_type": preview.content_type,
                "content": keep,
            }
        )
        await asyncio.sleep(0)  # rendering is CPU work: let the API answer meanwhile
    await uow.documents.add_preview_items(rows)
    if batch:
        cursor["after"] = batch[-1].seq
    return Step(
        done=len(batch),
        failures=problems,
        cursor=cursor,
        counts={"rendered": len(batch) - problems, "problems": problems},
        finished=len(batch) < job.chunk_size,
    )


# --- retries -------------------------------------------------------------------------


async def queue_due_retries(uow: DispatchUnitOfWork, limit: int = 500) -> dict[str, int]:
    """Documents whose retry time has come: queued again with a new channel job.
    Returns how many per channel."""
    counts: dict[str, int] = {}
    for row in await uow.documents.due_retries(limit):
        trace = tracing.parse(row.traceparent, row.tracestate)
        queue_job(uow, row.id, row.channel, row.attempts + 1, str(row.job_id) if row.job_id else None, trace=trace)
        counts[row.channel] = counts.get(row.channel, 0) + 1
    return counts
