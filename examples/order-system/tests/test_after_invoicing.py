"""After the invoice: an e-invoice customer's Finvoice at the operator, a notice billed on
paper in the print batch, an unpaid invoice reminded, and a bank payment that settles it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from billing_testkit.contract import INVOICE_SETTLED, PAYMENT_RECORDED, address
from billing_testkit.system import BillingSystem

from order_system import billing
from order_system.orders import Order, OrderLine

D = Decimal


def notice(order_id: str, customer: str, *, ordered_on: date | None = None) -> Order:
    """An ad in the paper: one notice line at the general VAT rate."""
    line = OrderLine("ILMOITUS", "Ilmoitus 2 palstaa", D(1), D("200.00"), D("25.5"))
    return Order(order_id, customer, (line,), kind="notice", ordered_on=ordered_on or date.today())


def test_an_einvoice_customers_invoice_reaches_the_operator_as_finvoice(
    billing_system: BillingSystem, publisher: billing.BillingPublisher, unique: Callable[[str], str]
) -> None:
    customer = unique("E")
    billing_system.upsert_customer(
        customer,
        customer_type="company",
        name="Verkkolasku Oy",
        business_id="0112038-9",
        address=address("Satamakatu 3", postal_code="20100", city="Turku"),
        einvoice_address="003701120389",
        einvoice_operator="003721291126",
        delivery_channel="einvoice",
    )
    assert billing_system.wait_profile(customer)["valid"]
    request_id = publisher.order_placed(notice(unique("O"), customer))
    billing_system.wait_request(request_id, "ready")
    billing_system.clerk.confirm("notice", [request_id])

    invoice = billing_system.wait_invoice(request_id=request_id)
    assert 2_000_000_001 <= invoice.number < 3_000_000_000  # the notice series
    assert D(invoice.gross) == D("251.00")
    billing_system.wait_delivery(invoice.invoice_id, "einvoice")
    finvoice = billing_system.wait_einvoice(invoice.number)
    assert "<BuyerPartyIdentifier>0112038-9</BuyerPartyIdentifier>" in finvoice
    assert f'<EpiRemittanceInfoIdentifier IdentificationSchemeName="SPY">{invoice.reference}<' in finvoice
    assert '<EpiInstructedAmount AmountCurrencyIdentifier="EUR">251,00<' in finvoice


def test_a_paper_invoice_is_in_the_print_houses_batch(
    billing_system: BillingSystem, publisher: billing.BillingPublisher, unique: Callable[[str], str]
) -> None:
    customer = unique("P")
    billing_system.upsert_customer(
        customer,
        customer_type="person",
        name="Paperi Pirjo",
        address=address("Kotikatu 2 B 5", postal_code="33100", city="Tampere"),
        delivery_channel="print",
    )
    assert billing_system.wait_profile(customer)["valid"]
    request_id = publisher.order_placed(notice(unique("O"), customer))
    billing_system.wait_request(request_id, "ready")
    billing_system.clerk.confirm("notice", [request_id])
    invoice = billing_system.wait_invoice(request_id=request_id)

    billing_system.wait_delivery(invoice.invoice_id, "print")
    batches = [json.loads(p.read_text()) for p in billing_system.print_files() if p.suffix == ".json"]
    (batch,) = [b for b in batches if any(d["document_number"] == str(invoice.number) for d in b["documents"])]
    (entry,) = [d for d in batch["documents"] if d["document_number"] == str(invoice.number)]
    assert (entry["customer_number"], entry["document_type"]) == (customer, "invoice")
    assert (billing_system.backend.print_folder / batch["pdf"]).read_bytes().startswith(b"%PDF")


def test_an_unpaid_invoice_is_reminded_and_a_payment_settles_it(
    billing_system: BillingSystem,
    publisher: billing.BillingPublisher,
    mail_customer: tuple[str, str],
    unique: Callable[[str], str],
) -> None:
    customer, email = mail_customer
    long_ago = date.today() - timedelta(days=60)  # due 46 days ago
    request_id = publisher.order_placed(notice(unique("O"), customer, ordered_on=long_ago))
    billing_system.wait_request(request_id, "ready")
    billing_system.clerk.confirm("notice", [request_id])
    invoice = billing_system.wait_invoice(request_id=request_id)
    assert date.fromisoformat(invoice.due_date) == long_ago + timedelta(days=14)

    candidate = billing_system.wait_reminder_candidate(invoice.number, 1)
    assert candidate["customer_number"] == customer
    billing_system.clerk.create_reminders(1)
    reminder = billing_system.wait_reminder(invoice.number, 1)
    assert D(str(reminder["open_amount"])) == D(invoice.gross)

    billing_system.pay(unique("PAY"), reference=invoice.reference_rf, amount=invoice.gross)
    recorded = billing_system.wait_event(
        f"payment on {invoice.number}", lambda e: int(e.data["invoice_number"]) == invoice.number, PAYMENT_RECORDED
    )
    assert recorded.data["customer_number"] == customer
    billing_system.wait_event(
        f"{invoice.number} settled", lambda e: int(e.data["invoice_number"]) == invoice.number, INVOICE_SETTLED
    )
    mail = billing_system.wait_mail(to=email, subject=f"Maksumuistutus: lasku {invoice.number}")
    assert mail.get_body(("plain", "html")) is not None
