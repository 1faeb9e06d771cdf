"""The W3C trace context (CloudEvents distributed-tracing extension, headers
``ce_traceparent``/``ce_tracestate``) from a billing request in to the document
delivered, on real Kafka, PostgreSQL and SMTP: a request published with a
``traceparent`` is stored, invoiced by a billing run (a job), sent by the send job and
delivered by the e-mail worker; the InvoiceIssued and the DocumentDelivered carry the
request's trace id. An invoice gathering two requests carries the oldest one's trace. A
request without one, or with an invalid one, is invoiced all the same under a new
trace (never dead-lettered for it). The print and e-invoice channels keep an issued
document's trace too (the print batch is closed by a background loop, with no inbound
event to take it from)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared import tracing
from shared.events import topics
from shared.events.dispatch import DocumentDelivered
from shared.events.invoicing import InvoiceIssued
from shared.events.sales import BillingRequestSubmitted
from shared.runtime import Runtime
from tests.integration.test_invoicing_flow import run
from tests.support import documents as d
from tests.support.dispatch import dispatch_stack
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, ce_headers, read_topic, wait_for
from tests.support.sales import Inbound, profile, request
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.integration

FIRST = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
SECOND = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
PRINTED = ["00-5" + f"{k:031x}" + "-00f067aa0ba902b7-01" for k in (1, 2)]
EINVOICED = "00-e1000000000000000000000000000001-00f067aa0ba902b7-00"


def trace_of(record: Any) -> tracing.TraceContext:
    headers = {k: v.decode() for k, v in record.headers}
    context = tracing.parse(headers.get("ce_traceparent"), headers.get("ce_tracestate"))
    assert context is not None, headers
    return context


async def test_a_requests_trace_reaches_its_invoice_and_the_delivered_document(
    sandbox: Sandbox, invoicing: Runtime[Any], invoicing_api: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with Publisher(sandbox.bootstrap) as publisher:
        inbound = Inbound(sandbox, publisher)
        await inbound.profiles(profile("C-1"), profile("C-2"), profile("C-3"))

        async def send(body: dict[str, Any], trace: list[tuple[str, bytes]]) -> None:
            headers = ce_headers(BillingRequestSubmitted.EVENT_TYPE, str(uuid.uuid4()), "urn:test:orders") + trace
            await publisher.send(
                sandbox.topic(topics.BILLING_REQUESTS.name),
                json.dumps(body).encode(),
                key=body["customer_number"],
                headers=headers,
            )

        # C-1: two requests, each with its own trace: the invoice takes the oldest one's
        await send(request("R1", "C-1"), [("ce_traceparent", FIRST.encode()), ("ce_tracestate", b"vendor=one")])
        await send(request("R2", "C-1"), [("ce_traceparent", SECOND.encode())])
        await send(request("R3", "C-2"), [])  # none: a trace starts
        await send(request("R4", "C-3"), [("ce_traceparent", b"00-not-a-trace-context-01")])  # invalid: ignored

        async def all_ready() -> bool:
            body = (await invoicing_api.get("/billing-requests", params={"kind": "subscription"})).json()
            return int(body.get("ready", 0)) == 4

        await wait_for(all_ready, timeout=60)

    assert await sandbox.scalar("SELECT count(*) FROM dead_letters") == 0
    stored = {r["request_id"]: r for r in await sandbox.fetch("SELECT request_id, traceparent FROM billing_requests")}
    assert stored["R1"]["traceparent"] == FIRST and stored["R2"]["traceparent"] == SECOND
    assert tracing.parse(stored["R3"]["traceparent"]) is not None  # started at intake
    assert tracing.parse(stored["R4"]["traceparent"]) is not None

    done = await run(invoicing_api, kind="subscription", mode="confirm")
    assert done["summary"]["invoices"] == 3

    issued = await read_topic(sandbox.bootstrap, sandbox.topic(topics.INVOICES.name), expect=3, settle=0.5)
    invoice_trace: dict[str, tracing.TraceContext] = {}
    for record in issued:
        event = InvoiceIssued.model_validate_json(record.value)
        invoice_trace[event.invoice.customer.customer_number] = trace_of(record)
    assert invoice_trace["C-1"].trace_id == FIRST.split("-")[1]
    assert invoice_trace["C-1"].span_id != FIRST.split("-")[2]  # a new parent id: the run's
    assert invoice_trace["C-1"].tracestate == "vendor=one"
    assert invoice_trace["C-2"].trace_id == stored["R3"]["traceparent"].split("-")[1]
    assert invoice_trace["C-3"].trace_id == stored["R4"]["traceparent"].split("-")[1]
    assert len({t.trace_id for t in invoice_trace.values()}) == 3

    with SmtpSink() as sink:
        dispatch_db = await sandbox.own_database("dispatch")
        async with dispatch_stack(sandbox, tmp_path, database_url=dispatch_db, smtp_port=sink.port) as stack:
            await stack.worker("email")

            async def arrived() -> bool:
                return int((await stack.counts()).get("email", {}).get("waiting", 0)) == 3

            await wait_for(arrived, timeout=60)
            sent = await stack.send("email")
            assert sent["job"]["result"] == {"queued": 3, "delivered": 3, "failed": 0}
            await sink.wait_for(3)
            deliveries = await read_topic(
                sandbox.bootstrap, sandbox.topic(topics.DELIVERIES.name), expect=3, settle=0.5
            )
            jobs = await read_topic(
                sandbox.bootstrap, sandbox.topic(topics.CHANNEL_JOBS["email"].name), expect=3, settle=0.5
            )

    delivered_trace = {}
    for record in deliveries:
        event = DocumentDelivered.model_validate_json(record.value)
        delivered_trace[event.customer_number] = trace_of(record)
    assert {c: t.trace_id for c, t in delivered_trace.items()} == {c: t.trace_id for c, t in invoice_trace.items()}
    assert delivered_trace["C-1"].tracestate == "vendor=one"
    job_traces = {trace_of(r).trace_id for r in jobs}
    assert job_traces == {t.trace_id for t in invoice_trace.values()}  # the SendDocument jobs carry it too
    assert all(d.span_id != invoice_trace[c].span_id for c, d in delivered_trace.items())


async def test_a_printed_or_einvoiced_documents_delivery_carries_the_trace_of_its_issue(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    def who(number: str, channel: str) -> d.Customer:
        base = d.COMPANY if channel == "einvoice" else d.PERSON
        return d.customer(number, base.model_copy(update={"delivery_channel": channel}))

    issued = [
        (d.invoice(1000000501, who=who("P-1", "print")), PRINTED[0]),
        (d.invoice(1000000502, who=who("P-2", "print")), PRINTED[1]),
        (d.invoice(1000000503, who=who("E-1", "einvoice")), EINVOICED),
    ]
    async with dispatch_stack(sandbox, tmp_path) as stack:
        await stack.worker("print")
        await stack.worker("einvoice")
        async with Publisher(sandbox.bootstrap) as publisher:
            for doc, traceparent in issued:  # one by one: each its own trace
                event = InvoiceIssued(invoice=doc)
                headers = ce_headers(event.EVENT_TYPE, str(uuid.uuid4()), "urn:billing:invoicing")
                await publisher.send(
                    sandbox.topic(topics.INVOICES.name),
                    event.model_dump_json().encode(),
                    key=doc.customer.customer_number,
                    headers=[*headers, ("ce_traceparent", traceparent.encode())],
                )
        await stack.wait_arrived(3)
        for channel, count in (("print", 2), ("einvoice", 1)):
            sent = await stack.send(channel)
            assert sent["job"]["result"] == {"queued": count, "delivered": count, "failed": 0}
        deliveries = await read_topic(sandbox.bootstrap, sandbox.topic(topics.DELIVERIES.name), expect=3, settle=0.5)

    delivered = {}
    for record in deliveries:
        event = DocumentDelivered.model_validate_json(record.value)
        delivered[event.customer_number] = trace_of(record)
    assert {c: t.trace_id for c, t in delivered.items()} == {
        doc.customer.customer_number: tp.split("-")[1] for doc, tp in issued
    }
    assert all(t.span_id != "00f067aa0ba902b7" for t in delivered.values())  # a new parent id
