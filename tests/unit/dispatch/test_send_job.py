"""The send job's chunks with a fake unit of work: documents arrive (automatic sending
queues at once), a send queues its selection chunk by chunk with one channel job each,
then counts delivered and failed until every document has an outcome."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from services.dispatch import handlers
from services.dispatch.domain.documents import NewDocument, from_invoice
from services.dispatch.domain.selection import Selection
from services.dispatch.repositories import Queued
from shared.events.dispatch import SendDocument
from shared.events.envelope import Envelope, EventMeta
from shared.events.invoicing import InvoiceIssued, PaymentRecorded
from shared.jobs import JobContext
from tests.support import documents as d


@dataclass
class FakeOutbox:
    rows: list[tuple[str, Any, str | None]] = field(default_factory=list)

    def add(self, topic: str, event: Any, *, key: str | None, trace: Any = None) -> None:
        self.rows.append((topic, event, key))


@dataclass
class FakeDocuments:
    waiting: list[tuple[str, int]] = field(default_factory=list)
    stored: list[NewDocument] = field(default_factory=list)
    outcomes: tuple[int, int] = (0, 0)
    batches: dict[str, bool] = field(default_factory=dict)

    async def add(self, docs: list[NewDocument], *, queued: list[str], traces: Any = None) -> list[NewDocument]:
        new = [x for x in docs if x.id not in {s.id for s in self.stored}]
        self.stored += new
        return new

    async def queue_next(
        self, sel: Selection, *, after: int, limit: int, job_id: uuid.UUID, batch_id: str | None, actor: str | None
    ) -> list[Queued]:
        picked = [Queued(i, s, 0, False, "C-1", 1, None) for i, s in self.waiting if s > after][:limit]
        self.waiting = [w for w in self.waiting if w[0] not in {p.id for p in picked}]
        return picked

    async def job_outcomes(self, job_id: uuid.UUID) -> tuple[int, int]:
        return self.outcomes

    async def open_batch(self, batch_id: str, job_id: uuid.UUID | None, *, sealed: bool) -> None:
        self.batches[batch_id] = sealed

    async def seal_batch(self, batch_id: str) -> None:
        self.batches[batch_id] = True


@dataclass
class FakeUow:
    documents: FakeDocuments = field(default_factory=FakeDocuments)
    outbox: FakeOutbox = field(default_factory=FakeOutbox)


def envelope(data: Any) -> Envelope[Any]:
    return Envelope(EventMeta.new(data.EVENT_TYPE, "urn:test"), data)


async def test_issued_documents_wait_unless_their_channel_sends_automatically() -> None:
    uow = FakeUow()
    email_invoice = d.invoice(1000000001)
    print_invoice = d.invoice(
        1000000002, who=d.customer("C-2", d.PERSON.model_copy(update={"delivery_channel": "print"}))
    )
    payment = PaymentRecorded(
        payment_id="p-1", invoice_id="inv-1000000001", invoice_number="1000000001", customer_number="C-1",
        amount="63.37", payment_date="2026-11-10", paid_total="63.37", open_amount="0.00", status="paid",
    )  # fmt: skip
    events = [
        envelope(InvoiceIssued(invoice=email_invoice)),
        envelope(InvoiceIssued(invoice=print_invoice)),
        envelope(payment),
    ]
    events.append(envelope(InvoiceIssued(invoice=email_invoice)))  # the same invoice twice in a batch
    accepted = await handlers.accept_documents(events, uow, auto_send=frozenset({"print"}))  # type: ignore[arg-type]
    assert [x.number for x in accepted.stored] == ["1000000001", "1000000002"]
    assert [x.number for x in accepted.queued] == ["1000000002"]
    ((topic, job, key),) = uow.outbox.rows
    assert topic == "dispatch.jobs.print.v1"
    assert isinstance(job, SendDocument) and (job.document_id, job.channel, job.job_id) == (key, "print", None)
    assert key == from_invoice(print_invoice).id


async def test_a_send_queues_in_chunks_then_follows_outcomes_until_each_document_has_one() -> None:
    uow = FakeUow()
    uow.documents.waiting = [("a", 1), ("b", 2), ("c", 5)]
    job_id = uuid.uuid4()
    sel = Selection("print", max_seq=5)

    async def chunk(cursor: Any) -> Any:
        ctx = JobContext(job_id, handlers.SEND, {"selection": sel.to_json()}, cursor, 2, "clerk-1")
        return await handlers.send_chunk(ctx, uow, track_interval_s=0)  # type: ignore[arg-type]

    first = await chunk(None)
    assert (first.done, first.counts["queued"], first.finished) == (0, 2, False)
    assert first.cursor["phase"] == "queue" and first.cursor["after"] == 2
    batch = f"send-{job_id}"
    assert uow.documents.batches == {batch: False}  # print: the send's batch is open, not sealed yet

    uow.documents.outcomes = (1, 0)  # one delivered meanwhile
    second = await chunk(first.cursor)
    assert (second.counts["queued"], second.done, second.failures, second.finished) == (1, 1, 0, False)
    assert second.cursor["phase"] == "track"  # fewer than a chunk left: all queued
    assert uow.documents.batches == {batch: True}  # sealed: the batch may close once none is on its way

    uow.documents.outcomes = (2, 1)
    third = await chunk(second.cursor)
    assert (third.done, third.failures, third.finished) == (2, 1, True)
    assert third.counts == {"queued": 0, "delivered": 1, "failed": 1}
    jobs = [(key, event.job_id) for _, event, key in uow.outbox.rows]
    assert jobs == [("a", str(job_id)), ("b", str(job_id)), ("c", str(job_id))]
    # done over the chunks: 0 + 1 + 2 = 3 = every queued document has an outcome
    assert first.done + second.done + third.done == 3
