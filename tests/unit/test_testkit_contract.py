"""The test kit's contract side: its shipped AsyncAPI copy is the generated one, and
what its builders make is what our services decode (the system's own models and
envelope parser, which the kit itself may not import)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from billing_cli import services
from billing_testkit import contract as c
from shared.events.asyncapi import document
from shared.events.bank import ReferencePaymentReceived, ReferencePaymentReversed
from shared.events.customers import CustomerUpserted
from shared.events.envelope import decode
from shared.events.sales import BillingRequestSubmitted, OrderCancelled
from shared.events.topics import ALL

KIT = Path(c.__file__).parent / "asyncapi"


@pytest.mark.parametrize("service", services.SERVICES)
def test_the_shipped_asyncapi_copy_is_what_billing_asyncapi_writes(service: str) -> None:
    spec = services.load(service).SPEC
    generated = document(service, group=service, produces=spec.produces, consumes=spec.consumes)
    shipped = (KIT / f"{service}.yaml").read_text()
    assert shipped == generated, "run `uv run billing asyncapi`: it writes docs/asyncapi/ and the kit's copy"


def test_the_contract_knows_every_topic_and_type_of_the_registry() -> None:
    types = c.contract().types
    for spec in ALL:
        for model in spec.events:
            t = types[model.EVENT_TYPE]
            assert t.schema == model.__name__
            if not spec.channel:  # the three job topics share one type: the kit names one of them
                assert t.topic == spec.name
            assert t.inbound == (spec.kind == "inbound")
    assert len(types) == len({m.EVENT_TYPE for s in ALL for m in s.events})


def test_the_kits_event_type_names_are_the_systems() -> None:
    from shared.events import customers, dispatch, invoicing, reminders

    assert {
        c.CUSTOMER_UPSERTED: CustomerUpserted,
        c.BILLING_REQUEST_SUBMITTED: BillingRequestSubmitted,
        c.ORDER_CANCELLED: OrderCancelled,
        c.REFERENCE_PAYMENT_RECEIVED: ReferencePaymentReceived,
        c.REFERENCE_PAYMENT_REVERSED: ReferencePaymentReversed,
        c.BILLING_PROFILE: customers.BillingProfileChanged,
        c.INVOICE_ISSUED: invoicing.InvoiceIssued,
        c.CORRECTIVE_INVOICE_ISSUED: invoicing.CorrectiveInvoiceIssued,
        c.PAYMENT_RECORDED: invoicing.PaymentRecorded,
        c.PAYMENT_REVERSED: invoicing.PaymentReversed,
        c.INVOICE_SETTLED: invoicing.InvoiceSettled,
        c.REMINDER_ISSUED: reminders.ReminderIssued,
        c.DOCUMENT_DELIVERED: dispatch.DocumentDelivered,
        c.DELIVERY_FAILED: dispatch.DeliveryFailed,
    } == {
        m.EVENT_TYPE: m
        for m in (
            CustomerUpserted,
            BillingRequestSubmitted,
            OrderCancelled,
            ReferencePaymentReceived,
            ReferencePaymentReversed,
            customers.BillingProfileChanged,
            invoicing.InvoiceIssued,
            invoicing.CorrectiveInvoiceIssued,
            invoicing.PaymentRecorded,
            invoicing.PaymentReversed,
            invoicing.InvoiceSettled,
            reminders.ReminderIssued,
            dispatch.DocumentDelivered,
            dispatch.DeliveryFailed,
        )
    }


@dataclass
class Record:
    """A Kafka record as the services' consumers see it."""

    value: bytes
    headers: list[tuple[str, bytes]]
    key: bytes


def record(e: c.Event) -> Record:
    return Record(e.value(), e.headers(), e.key.encode())


CARD = c.customer_card(
    customer_type="company",
    name="Tilaaja Oy",
    business_id="0112038-9",
    address=c.address("Kauppakatu 1", postal_code="00100", city="Helsinki"),
    email="laskut@tilaaja.example",
    delivery_channel="email",
)


def test_a_customer_upsert_is_what_the_customers_service_decodes() -> None:
    e = c.customer_upsert("C-1", CARD)
    assert (e.topic, e.key, e.type) == ("crm.customer-upserts.v1", "C-1", CustomerUpserted.EVENT_TYPE)
    env = decode(record(e), CustomerUpserted, require_time=True)
    assert env.meta.key == "C-1" and env.meta.source == "urn:crm"
    assert env.data.customer.email == "laskut@tilaaja.example"
    assert env.data.customer.address is not None and env.data.customer.address.postal_code == "00100"


def test_a_billing_request_keeps_its_decimals_and_period_on_the_wire() -> None:
    lines = [
        c.line(
            "LEHTI-12",
            "Lehti 12 kk",
            unit_price=Decimal("129.90"),
            vat_rate="14",
            period=(date(2026, 1, 1), date(2026, 12, 31)),
        ),
        c.line("TOIMITUS", "Toimitus", quantity="2.5", unit="h", unit_price=40, vat_rate="25.5"),
    ]
    e = c.billing_request("R-1", customer_number="C-1", order_id="O-1", lines=lines, invoice_date=date(2026, 1, 5))
    assert (e.topic, e.key) == ("sales.billing-requests.v1", "C-1")
    env = decode(
        record(e),
        {BillingRequestSubmitted.EVENT_TYPE: BillingRequestSubmitted, OrderCancelled.EVENT_TYPE: OrderCancelled},
    )
    data = env.data
    assert isinstance(data, BillingRequestSubmitted)
    assert data.lines[0].unit_price == Decimal("129.90") and data.lines[1].quantity == Decimal("2.5")
    assert data.lines[0].service_period is not None and data.lines[0].service_period.end == date(2026, 12, 31)
    assert data.invoice_date == date(2026, 1, 5) and data.payment_terms_days == 14


def test_a_cancellation_goes_on_the_requests_topic_keyed_like_its_requests() -> None:
    e = c.cancellation("O-1", customer_number="C-1", reason="asiakas perui")
    assert (e.topic, e.key, e.type) == ("sales.billing-requests.v1", "C-1", OrderCancelled.EVENT_TYPE)
    env = decode(record(e), OrderCancelled)
    assert (env.data.order_id, env.data.reason) == ("O-1", "asiakas perui")


def test_a_bank_payment_is_keyed_by_its_reference() -> None:
    e = c.bank_payment("P-1", reference="RF18 1000 0000 0000 0001 2", amount="12.5", payment_date=date(2026, 2, 1))
    # the canonical reference: this RF reference's body is not a national one, so its compact form
    assert (e.topic, e.key) == ("bank.reference-payments.v1", "RF1810000000000000012")
    env = decode(record(e), ReferencePaymentReceived)
    assert env.data.amount == Decimal("12.5") and env.data.payment_date == date(2026, 2, 1)


def test_the_rf_and_national_forms_of_one_reference_share_a_key() -> None:
    """RF29 2026 1007 is the RF form of the national reference 2026 1007 (review H2)."""
    keys = {
        c.bank_payment("P-2", reference="RF29 2026 1007", amount="1").key,
        c.bank_reversal("R-2", reference="0000 2026 1007", amount="1").key,
        c.bank_reversal("R-3", reference="20261007", amount="1").key,
    }
    assert keys == {"20261007"}


def test_a_bank_reversal_shares_its_payments_key_and_topic() -> None:
    e = c.bank_reversal("R-1", reference="RF18 1000 0000 0000 0001 2", amount="12.50", reverses_payment_id="P-1")
    assert (e.topic, e.key) == ("bank.reference-payments.v1", "RF1810000000000000012")
    env = decode(
        record(e),
        {
            ReferencePaymentReceived.EVENT_TYPE: ReferencePaymentReceived,
            ReferencePaymentReversed.EVENT_TYPE: ReferencePaymentReversed,
        },
    )
    assert isinstance(env.data, ReferencePaymentReversed)
    assert (env.data.payment_id, env.data.reverses_payment_id, env.data.amount) == ("R-1", "P-1", Decimal("12.50"))


@pytest.mark.parametrize(
    ("data", "paths"),
    [
        (
            {
                "request_id": "",
                "kind": "rent",
                "customer_number": "C 1",
                "order_id": "O",
                "invoice_date": "2026-01-01",
                "lines": [],
            },
            {"request_id", "kind", "customer_number", "lines"},
        ),
        (
            {
                "request_id": "R",
                "kind": "notice",
                "customer_number": "C",
                "order_id": "O",
                "invoice_date": "2026-01-01",
                "lines": [
                    {
                        "product_code": "P",
                        "description": "x",
                        "quantity": 0,
                        "unit_price": 1,
                        "vat_rate": 101,
                        "colour": "red",
                    }
                ],
            },
            {"lines/0", "lines/0/quantity", "lines/0/vat_rate"},
        ),
    ],
)
def test_a_payload_the_contract_refuses_names_every_problem(data: dict[str, Any], paths: set[str]) -> None:
    with pytest.raises(c.ContractError) as info:
        c.event(c.BILLING_REQUEST_SUBMITTED, "C", data)
    seen = {p.split(":")[0] for p in info.value.problems}
    assert paths <= seen, info.value.problems


def test_an_unknown_event_type_is_refused_with_the_known_ones() -> None:
    with pytest.raises(c.ContractError, match=re.escape("fi.billing.crm.customer-upserted.v1")):
        c.event("fi.billing.sales.order-shipped.v1", "C-1", {})


def test_headers_are_cloudevents_binary_mode() -> None:
    e = c.cancellation("O-9", customer_number="C-9")
    headers = dict(e.headers())
    assert headers["ce_specversion"] == b"1.0" and headers["content-type"] == b"application/json"
    assert headers["ce_type"] == b"fi.billing.sales.order-cancelled.v1" and headers["ce_source"] == b"urn:order-system"
    assert c.cancellation("O-9", customer_number="C-9").id != e.id  # every event its own ce_id
