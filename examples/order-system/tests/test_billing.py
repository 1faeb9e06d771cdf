"""What the order system relies on from billing: an order is invoiced (number,
reference) and its PDF mailed; bad data is reported with reasons; a cancelled order is
never billed. Through the real back-office (the test kit), and the order system's own
messages held to billing's published contract."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import httpx
import pypdf
from billing_testkit.contract import address, contract
from billing_testkit.system import BillingSystem, attachments

from order_system import billing
from order_system.orders import Order, OrderLine

D = Decimal


def subscription(order_id: str, customer: str, *, vat: str = "10") -> Order:
    year = date.today().year
    return Order(
        order_id,
        customer,
        (
            OrderLine(
                "LEHTI-12",
                "Esimerkkilehti 12 kk",
                D(1),
                D("129.90"),
                D(vat),
                period=(date(year, 1, 1), date(year, 12, 31)),
            ),
            OrderLine("TOIMITUS", "Toimitusmaksu", D(2), D("4.50"), D(vat)),
        ),
    )


def national_reference_ok(reference: str) -> bool:
    """Finnish reference: the last digit checks the others with weights 7, 3, 1 from the right."""
    digits = [int(x) for x in reference]
    weights = [7, 3, 1] * 7
    total = sum(d * w for d, w in zip(reversed(digits[:-1]), weights, strict=False))
    return len(reference) >= 4 and (10 - total % 10) % 10 == digits[-1]


def test_the_order_systems_messages_are_billings_contract() -> None:
    order = subscription("O-1", "C-1")
    schema = contract()
    schema.validate(billing.REQUEST, billing.billing_request(order))
    schema.validate(billing.CANCELLED, billing.cancellation(order, "asiakas perui"))
    assert schema.event_type(billing.REQUEST).topic == billing.TOPIC
    assert schema.event_type(billing.CANCELLED).topic == billing.TOPIC
    assert schema.event_type(billing.REQUEST).key == "customer number"


def test_an_order_is_invoiced_and_its_pdf_mailed(
    billing_system: BillingSystem,
    publisher: billing.BillingPublisher,
    mail_customer: tuple[str, str],
    unique: Callable[[str], str],
) -> None:
    customer, email = mail_customer
    order = subscription(unique("O"), customer)
    request_id = publisher.order_placed(order)
    billing_system.wait_request(request_id, "ready")

    preview = billing_system.clerk.preview("subscription", [request_id])  # nothing is created
    (draft,) = billing_system.clerk.run_invoices(preview["run_id"])
    assert (draft["status"], D(str(draft["gross"]))) == ("preview", order.gross())
    assert billing_system.wait_request(request_id, "ready")["invoice_number"] is None

    run = billing_system.clerk.confirm("subscription", [request_id])
    assert run["summary"]["invoices"] == 1

    invoice = billing_system.wait_invoice(request_id=request_id)
    assert invoice.customer_number == customer
    assert invoice.number >= 1_000_000_001  # the subscription series
    assert national_reference_ok(invoice.reference), invoice.reference
    assert invoice.reference_rf.startswith("RF")
    assert D(invoice.gross) == order.gross() == D("152.79")  # (129.90 + 9.00) * 1.10 (periodicals' VAT)
    assert billing_system.wait_request(request_id, "invoiced")["invoice_number"] == invoice.number

    delivered = billing_system.wait_delivery(invoice.invoice_id, "email")
    assert delivered.data["customer_number"] == customer
    mail = billing_system.wait_mail(to=email)
    (pdf,) = [a for a in attachments(mail) if a.content_type == "application/pdf"]
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    flat = text.replace(" ", "").replace("\u00a0", "")
    assert str(invoice.number) in flat
    assert invoice.reference in flat
    assert "152,79" in flat


def test_bad_customer_data_puts_the_request_in_error_with_reasons(
    billing_system: BillingSystem, publisher: billing.BillingPublisher, unique: Callable[[str], str]
) -> None:
    customer = unique("C")
    billing_system.upsert_customer(customer, customer_type="person", name="Maija Meikäläinen", delivery_channel="print")
    profile = billing_system.wait_profile(customer)
    assert not profile["valid"]  # printed, but no postal address

    request_id = publisher.order_placed(subscription(unique("O"), customer))
    row = billing_system.wait_request(request_id, "error")
    codes = {r["code"] for r in row["reasons"]}
    assert codes and codes <= {e["code"] for e in profile["errors"]}
    assert all(r["message_en"] and r["message_fi"] for r in row["reasons"])

    # the CRM fixes the card: the same request is ready, nothing sent again
    billing_system.upsert_customer(
        customer,
        customer_type="person",
        name="Maija Meikäläinen",
        address=address("Kotikatu 2 B 5", postal_code="33100", city="Tampere"),
        delivery_channel="print",
    )
    billing_system.wait_request(request_id, "ready")


def test_a_vat_rate_not_in_force_is_refused_with_the_reason(
    billing_system: BillingSystem,
    publisher: billing.BillingPublisher,
    mail_customer: tuple[str, str],
    unique: Callable[[str], str],
) -> None:
    customer, _ = mail_customer
    request_id = publisher.order_placed(subscription(unique("O"), customer, vat="13"))
    row = billing_system.wait_request(request_id, "refused")
    assert "vat-rate-invalid" in {r["code"] for r in row["reasons"]}, row["reasons"]


def test_a_cancelled_order_is_not_billed(
    billing_system: BillingSystem,
    publisher: billing.BillingPublisher,
    mail_customer: tuple[str, str],
    unique: Callable[[str], str],
) -> None:
    customer, _ = mail_customer
    cancelled, kept = subscription(unique("OA"), customer), subscription(unique("OB"), customer)
    cancelled_id, kept_id = publisher.order_placed(cancelled), publisher.order_placed(kept)
    publisher.order_cancelled(cancelled, "asiakas perui")
    billing_system.wait_request(cancelled_id, "cancelled")
    billing_system.wait_request(kept_id, "ready")

    billing_system.clerk.confirm("subscription")  # every ready request of the kind

    invoice = billing_system.wait_invoice(customer_number=customer)
    assert invoice.request_ids == (kept_id,)
    assert billing_system.wait_request(cancelled_id, "cancelled")["invoice_number"] is None
    billed = {
        x.get("request_id")
        for e in billing_system.events("fi.billing.invoicing.invoice-issued.v1")
        for x in e.data["invoice"]["lines"]
    }
    assert cancelled_id not in billed


def test_the_order_system_reads_its_requests_with_its_own_credential_and_no_more(
    billing_system: BillingSystem, publisher: billing.BillingPublisher, unique: Callable[[str], str]
) -> None:
    """Every caller has its own credential: the order system's (``token("order-system")``)
    reads its billing requests; a billing run is the clerk's, so it is refused, naming
    the scope it lacks. The actor of what it does is ``order-system``, never a header."""
    request_id = publisher.order_placed(subscription(unique("O"), unique("C")))
    billing_system.wait_request(request_id, "error", "ready")
    own = {"Authorization": f"Bearer {billing_system.token('order-system')}"}
    with httpx.Client(base_url=billing_system.url("invoicing"), headers=own, timeout=30) as api:
        assert api.get(f"/billing-requests/{request_id}").json()["request_id"] == request_id
        refused = api.post("/billing-runs", json={"kind": "subscription", "mode": "preview"})
        assert refused.status_code == 403 and "invoicing:bill" in refused.json()["detail"]["message_en"]
        posing = api.get("/billing-requests", headers={"X-Actor": "anna"})  # no one else's name
        assert posing.status_code == 403
    assert httpx.get(billing_system.url("invoicing") + "/billing-requests").status_code == 401
