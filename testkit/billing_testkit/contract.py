"""Our event contract, as an outside system sees it: the AsyncAPI documents (a copy of
``docs/asyncapi/*.yaml`` shipped inside the kit, held equal to ``billing asyncapi`` by a
test of the billing repository), and builders of the inbound events that check what they
build against them.

Every topic and event type here is read from the documents, not written down again: a
channel's description names its event types (``ce_type X -> Model``), its key and its
direction. Records are CloudEvents in Kafka's binary mode: the value is the event data as
JSON, the attributes travel as ``ce_*`` headers.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml
from jsonschema import Draft202012Validator

CUSTOMER_UPSERTED = "fi.billing.crm.customer-upserted.v1"
BILLING_REQUEST_SUBMITTED = "fi.billing.sales.billing-request-submitted.v1"
ORDER_CANCELLED = "fi.billing.sales.order-cancelled.v1"
REFERENCE_PAYMENT_RECEIVED = "fi.billing.bank.reference-payment-received.v1"
REFERENCE_PAYMENT_REVERSED = "fi.billing.bank.reference-payment-reversed.v1"
BILLING_PROFILE = "fi.billing.customers.billing-profile.v1"
INVOICE_ISSUED = "fi.billing.invoicing.invoice-issued.v1"
CORRECTIVE_INVOICE_ISSUED = "fi.billing.invoicing.corrective-invoice-issued.v1"
PAYMENT_RECORDED = "fi.billing.invoicing.payment-recorded.v1"
PAYMENT_REVERSED = "fi.billing.invoicing.payment-reversed.v1"
INVOICE_SETTLED = "fi.billing.invoicing.invoice-settled.v1"
REMINDER_ISSUED = "fi.billing.reminders.reminder-issued.v1"
DOCUMENT_DELIVERED = "fi.billing.dispatch.document-delivered.v1"
DELIVERY_FAILED = "fi.billing.dispatch.delivery-failed.v1"

DEFAULT_SOURCE = "urn:billing-testkit"
SERVICES = ("customers", "invoicing", "reminders", "dispatch")

_TYPES = re.compile(r"ce_type (\S+) -> (\w+)")
_KEY = re.compile(r"[Kk]ey = ([a-z ]+?)[.;]")


class ContractError(ValueError):
    """A payload our contract refuses: every problem, with its JSON path."""

    def __init__(self, ce_type: str, problems: Sequence[str]) -> None:
        self.ce_type = ce_type
        self.problems = list(problems)
        super().__init__(f"{ce_type} does not match the contract: " + "; ".join(self.problems))


@dataclass(frozen=True)
class EventType:
    ce_type: str
    schema: str
    """The payload model's name in ``components/schemas``."""
    topic: str
    key: str
    """What the record key is (``customer number``, ``payment reference`` …)."""
    inbound: bool
    document: str
    """Which service's document defines it (where the schema is read from)."""


@dataclass(frozen=True)
class Contract:
    documents: Mapping[str, Mapping[str, Any]]
    types: Mapping[str, EventType]

    @classmethod
    def parse(cls, documents: Mapping[str, Mapping[str, Any]]) -> Contract:
        types: dict[str, EventType] = {}
        for service, doc in documents.items():
            for channel in doc.get("channels", {}).values():
                text = " ".join(str(channel.get("description", "")).split())
                key = _KEY.search(text)
                for ce_type, schema in _TYPES.findall(text):
                    inbound = "(inbound)" in text
                    known = types.get(ce_type)
                    # an inbound type is read from the consumer's document, an outbound one from the producer's
                    if known is None or (inbound and not known.inbound):
                        types[ce_type] = EventType(
                            ce_type, schema, channel["address"], key.group(1) if key else "", inbound, service
                        )
        return cls(documents, types)

    @property
    def topics(self) -> dict[str, list[str]]:
        """Topic -> the event types it carries."""
        out: dict[str, list[str]] = {}
        for t in self.types.values():
            out.setdefault(t.topic, []).append(t.ce_type)
        return out

    def event_type(self, ce_type: str) -> EventType:
        try:
            return self.types[ce_type]
        except KeyError:
            raise ContractError(ce_type, [f"no such event type; known: {sorted(self.types)}"]) from None

    def schema(self, ce_type: str) -> dict[str, Any]:
        """A JSON Schema of the type's payload (the document's components alongside)."""
        t = self.event_type(ce_type)
        return {"$ref": f"#/components/schemas/{t.schema}", "components": self.documents[t.document]["components"]}

    def problems(self, ce_type: str, data: Any) -> list[str]:
        validator = _validator(json.dumps(self.schema(ce_type), sort_keys=True))
        out = []
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
            path = "/".join(str(p) for p in error.absolute_path) or "(payload)"
            out.append(f"{path}: {error.message}")
        return out

    def validate(self, ce_type: str, data: Any) -> None:
        problems = self.problems(ce_type, data)
        if problems:
            raise ContractError(ce_type, problems)


@cache
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json))


def load_documents() -> dict[str, dict[str, Any]]:
    """The AsyncAPI documents shipped in the kit, per service."""
    folder = resources.files("billing_testkit") / "asyncapi"
    return {s: yaml.safe_load((folder / f"{s}.yaml").read_text(encoding="utf-8")) for s in SERVICES}


@cache
def contract() -> Contract:
    return Contract.parse(load_documents())


# --- records --------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One record to publish (or one read): topic, key, CloudEvents attributes, data."""

    topic: str
    key: str
    type: str
    data: Mapping[str, Any]
    source: str = DEFAULT_SOURCE
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None

    def headers(self) -> list[tuple[str, bytes]]:
        out = [
            ("ce_specversion", b"1.0"),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", self.time.isoformat().encode()),
            ("content-type", b"application/json"),
        ]
        if self.subject is not None:
            out.append(("ce_subject", self.subject.encode()))
        return out

    def value(self) -> bytes:
        return json.dumps(self.data, ensure_ascii=False, default=_json_default).encode()

    def checked(self) -> Event:
        """This event, once the contract accepts its payload (else :class:`ContractError`)."""
        contract().validate(self.type, json.loads(self.value()))
        return self


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _amount(value: Decimal | int | str) -> str:
    return str(Decimal(str(value)))


def event(ce_type: str, key: str, data: Mapping[str, Any], *, source: str = DEFAULT_SOURCE) -> Event:
    """Any inbound event of the contract, checked; its topic is the contract's."""
    topic = contract().event_type(ce_type).topic
    return Event(topic, key, ce_type, json.loads(json.dumps(data, default=_json_default)), source).checked()


# --- builders of inbound events -------------------------------------------------------


def address(*street_lines: str, postal_code: str, city: str, country: str = "FI") -> dict[str, Any]:
    return {"street_lines": list(street_lines), "postal_code": postal_code, "city": city, "country": country}


def customer_card(
    *,
    customer_type: str = "company",
    name: str | None = None,
    business_id: str | None = None,
    address: Mapping[str, Any] | None = None,
    email: str | None = None,
    einvoice_address: str | None = None,
    einvoice_operator: str | None = None,
    delivery_channel: str = "print",
    language: str = "fi",
    consumer: bool | None = None,
    no_reminders: bool = False,
) -> dict[str, Any]:
    """A customer card's billing data (``CustomerData``), as the CRM sends it."""
    card = _drop_none(
        {
            "customer_type": customer_type,
            "name": name,
            "business_id": business_id,
            "address": dict(address) if address is not None else None,
            "email": email,
            "einvoice_address": einvoice_address,
            "einvoice_operator": einvoice_operator,
            "delivery_channel": delivery_channel,
            "language": language,
            "consumer": consumer,
        }
    )
    card["no_reminders"] = no_reminders
    return card


def customer_upsert(customer_number: str, card: Mapping[str, Any], *, source: str = "urn:crm") -> Event:
    """A CRM upsert (``crm.customer-upserts.v1``, key = customer number; ``ce_time`` set)."""
    return event(
        CUSTOMER_UPSERTED, customer_number, {"customer_number": customer_number, "customer": card}, source=source
    )


def line(
    product_code: str,
    description: str,
    *,
    quantity: Decimal | int | str = 1,
    unit_price: Decimal | int | str,
    vat_rate: Decimal | int | str,
    unit: str = "kpl",
    vat_category: str | None = None,
    period: tuple[date, date] | None = None,
) -> dict[str, Any]:
    """One request line; amounts as decimal strings (no float rounding on the wire)."""
    return _drop_none(
        {
            "product_code": product_code,
            "description": description,
            "quantity": _amount(quantity),
            "unit": unit,
            "unit_price": _amount(unit_price),
            "vat_rate": _amount(vat_rate),
            "vat_category": vat_category,
            "service_period": {"start": period[0].isoformat(), "end": period[1].isoformat()} if period else None,
        }
    )


def billing_request(
    request_id: str,
    *,
    customer_number: str,
    order_id: str,
    lines: Iterable[Mapping[str, Any]],
    kind: str = "subscription",
    invoice_date: date | None = None,
    payment_terms_days: int = 14,
    source: str = "urn:order-system",
) -> Event:
    """A billing request (``sales.billing-requests.v1``, key = customer number)."""
    data = {
        "request_id": request_id,
        "kind": kind,
        "customer_number": customer_number,
        "order_id": order_id,
        "invoice_date": (invoice_date or date.today()).isoformat(),
        "payment_terms_days": payment_terms_days,
        "lines": [dict(x) for x in lines],
    }
    return event(BILLING_REQUEST_SUBMITTED, customer_number, data, source=source)


def cancellation(
    order_id: str, *, customer_number: str, reason: str | None = None, source: str = "urn:order-system"
) -> Event:
    """An order cancelled (same topic and key as its requests, so it keeps their order)."""
    data = _drop_none({"order_id": order_id, "customer_number": customer_number, "reason": reason})
    return event(ORDER_CANCELLED, customer_number, data, source=source)


def reference_key(reference: str) -> str:
    """The key of ``bank.reference-payments.v1``: the canonical reference. The national
    reference without spaces or leading zeros; an RF reference whose body is a valid
    national reference keys by that national form; any other by its compact upper-case
    form. So a payment and its reversal share a partition whichever form each carries."""
    compact = reference.replace(" ", "").upper()
    body = compact
    if compact.startswith("RF"):
        digits = "".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])
        if not (compact[2:4].isdigit() and compact[4:].isalnum() and int(digits) % 97 == 1):
            return compact
        body = compact[4:]
    national = body.lstrip("0")
    if not (national.isdigit() and 4 <= len(national) <= 20):
        return compact
    weights = (7, 3, 1)
    total = sum(int(d) * weights[i % 3] for i, d in enumerate(reversed(national[:-1])))
    return national if (10 - total % 10) % 10 == int(national[-1]) else compact


def bank_payment(
    payment_id: str,
    *,
    reference: str,
    amount: Decimal | int | str,
    payment_date: date | None = None,
    payer_name: str | None = None,
    source: str = "urn:bank",
) -> Event:
    """A reference payment from the bank statement (key = :func:`reference_key`)."""
    data = _drop_none(
        {
            "payment_id": payment_id,
            "reference": reference,
            "amount": _amount(amount),
            "payment_date": (payment_date or date.today()).isoformat(),
            "payer_name": payer_name,
        }
    )
    return event(REFERENCE_PAYMENT_RECEIVED, reference_key(reference), data, source=source)


def bank_reversal(
    payment_id: str,
    *,
    reference: str,
    amount: Decimal | int | str,
    reverses_payment_id: str | None = None,
    payment_date: date | None = None,
    source: str = "urn:bank",
) -> Event:
    """The bank took back a reference payment (key = :func:`reference_key`, like the
    payment's; only a reversal of the payment's whole amount is applied)."""
    data = _drop_none(
        {
            "payment_id": payment_id,
            "reverses_payment_id": reverses_payment_id,
            "reference": reference,
            "amount": _amount(amount),
            "payment_date": (payment_date or date.today()).isoformat(),
        }
    )
    return event(REFERENCE_PAYMENT_REVERSED, reference_key(reference), data, source=source)
