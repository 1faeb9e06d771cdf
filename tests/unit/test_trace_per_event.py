"""A batch handler that emits one event per inbound event stamps each with the trace of
its own cause, not the batch's first one (the consumer makes only that one current).
The real consumer loop, the real handlers and outbox writer; the stores are stand-ins."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from services.customers import handlers as customers
from services.customers.tables import messaging as customers_messaging
from services.invoicing.handlers import payments
from services.invoicing.tables import messaging as invoicing_messaging
from shared import tracing
from shared.events.bank import ReferencePaymentReceived
from shared.events.customers import CustomerUpserted
from shared.events.envelope import EventMeta, encode_headers
from shared.messaging.consumer import ConsumerLoop
from shared.messaging.outbox import OutboxWriter
from tests.support.customers import upsert
from tests.support.fakes import FakeRecord
from tests.support.sales import payment

TRACES = ["0af7651916cd43dd8448eb211c80319c", "4bf92f3577b34da6a3ce929d0e0e4736"]


def record(offset: int, event_type: str, body: dict[str, Any], key: str, trace_id: str) -> FakeRecord:
    meta = EventMeta(
        f"e-{offset}",
        event_type,
        "urn:test",
        datetime(2026, 11, 1, 10, offset, tzinfo=UTC),
        trace=tracing.parse(f"00-{trace_id}-00f067aa0ba902b7-01"),
    )
    return FakeRecord("t", 0, offset, key.encode(), json.dumps(body).encode(), encode_headers(meta))


class Uow:
    """The unit of work the consumer loop needs (inbox, dead letters) plus ``extra``."""

    def __init__(self, outbox: OutboxWriter, **extra: Any) -> None:
        self.outbox = outbox
        self.inbox = SimpleNamespace(claim=self._claim)
        self.dead_letters = SimpleNamespace(add=self._dead)
        self.__dict__.update(extra)

    @staticmethod
    async def _claim(consumer: str, ids: list[tuple[str, str]]) -> set[tuple[str, str]]:
        return set(ids)

    @staticmethod
    async def _dead(record: object, error: object) -> bool:
        raise AssertionError(f"dead letter: {error}")

    async def __aenter__(self) -> Uow:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def commit(self) -> None:
        return None


async def written_traces(writer: OutboxWriter) -> list[tuple[str, str]]:
    """(event type, trace id) of each outbox row, in order."""

    class Session:
        params: Any = None

        async def execute(self, statement: Any, params: Any = None) -> None:
            self.params = params

    session = Session()
    await writer.flush(session)  # type: ignore[arg-type]
    out = []
    for raw in session.params["headers"]:
        headers = dict(json.loads(raw))
        context = tracing.from_headers(headers)
        assert context is not None
        out.append((headers["ce_type"], context.trace_id))
    return out


async def noop(*args: Any, **kwargs: Any) -> None:
    return None


async def test_each_billing_profile_carries_the_trace_of_its_own_upsert() -> None:
    async def nothing_stored(numbers: object) -> dict[str, Any]:
        return {}

    writer = OutboxWriter(customers_messaging, "urn:billing:customers", "")
    store = SimpleNamespace(
        get_for_upsert=nothing_stored, save=noop, save_crm_seen=noop, add_audit=noop, save_upserts=noop
    )
    loop = ConsumerLoop(
        topic="t",
        consumer="c:t",
        types={CustomerUpserted.EVENT_TYPE: CustomerUpserted},
        handler=customers.apply_upserts,  # type: ignore[arg-type]
        uow_factory=lambda: Uow(writer, customers=store),  # type: ignore[arg-type,return-value]
    )
    await loop.process(
        [
            record(0, CustomerUpserted.EVENT_TYPE, upsert("C-1"), "C-1", TRACES[0]),
            record(1, CustomerUpserted.EVENT_TYPE, upsert("C-2"), "C-2", TRACES[1]),
        ]
    )
    assert loop.stats.handled == 2
    assert [t for _, t in await written_traces(writer)] == TRACES


async def test_each_payment_recorded_and_invoice_settled_carries_the_trace_of_its_own_payment() -> None:
    invoices = {
        ref: SimpleNamespace(
            id=n,
            number=1000000300 + n,
            customer_number=f"C-{n}",
            document_type="invoice",
            totals=SimpleNamespace(gross=Decimal("10.00")),
            credited=Decimal("0"),
            paid=Decimal("0"),
        )
        for n, ref in ((1, "12345672"), (2, "10000003013"))
    }

    async def by_reference(reference: str) -> Any:
        return invoices[reference]

    async def added(row: dict[str, Any]) -> bool:
        return True

    async def no_reversals(amount: Decimal) -> list[Any]:
        return []

    writer = OutboxWriter(invoicing_messaging, "urn:billing:invoicing", "")
    loop = ConsumerLoop(
        topic="t",
        consumer="c:t",
        types={ReferencePaymentReceived.EVENT_TYPE: ReferencePaymentReceived},
        handler=payments.take_payments,  # type: ignore[arg-type]
        uow_factory=lambda: Uow(  # type: ignore[arg-type,return-value]
            writer,
            invoices=SimpleNamespace(by_reference=by_reference, set_balance=noop),
            payments=SimpleNamespace(add=added, waiting_reversals=no_reversals),
        ),
    )
    await loop.process(
        [
            record(0, ReferencePaymentReceived.EVENT_TYPE, payment("B1", "12345672", "10.00"), "12345672", TRACES[0]),
            record(1, ReferencePaymentReceived.EVENT_TYPE, payment("B2", "10000003013", "4.00"), "x", TRACES[1]),
        ]
    )
    assert loop.stats.handled == 2
    written = await written_traces(writer)
    assert [(kind.split(".")[-2], t) for kind, t in written] == [
        ("payment-recorded", TRACES[0]),
        ("invoice-settled", TRACES[0]),  # paid in full: settled, under the same payment's trace
        ("payment-recorded", TRACES[1]),
    ]
