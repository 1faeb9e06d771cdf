"""The kit's waits over our outbound events (no engine: the events are given), and what a
timeout says: what was awaited and what was seen."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest

from billing_testkit import contract as c
from billing_testkit.kafka import Received
from billing_testkit.system import BillingSystem, WaitTimeout, attachments, xml_text


class Log:
    """Stands in for the background reader: the records are there, or never come."""

    def __init__(self, records: list[Received]) -> None:
        self._records = records
        self.error: str | None = None

    def records(self, *types: str) -> list[Received]:
        return [r for r in self._records if not types or r.type in types]

    def wait(self, find: Callable[[list[Received]], Any], timeout_s: float) -> Any:
        return find(list(self._records))


def received(ce_type: str, key: str, data: dict[str, Any], offset: int = 0) -> Received:
    return Received("t", 0, offset, key, ce_type, f"id-{offset}", "urn:x", "", data, {})


def invoice_event(number: int, customer: str, request_ids: list[str], offset: int) -> Received:
    lines = [{"line_no": i + 1, "request_id": r, "order_id": f"O-{r}"} for i, r in enumerate(request_ids)]
    doc = {
        "invoice_id": str(number % 1000),
        "invoice_number": number,
        "reference": "10000000016",
        "reference_rf": "RF4610000000016",
        "customer": {"customer_number": customer},
        "lines": lines,
        "totals": {"net": "10.00", "vat": "2.55", "gross": "12.55"},
        "due_date": "2026-02-01",
    }
    return received(c.INVOICE_ISSUED, customer, {"invoice": doc}, offset)


def system(records: list[Received]) -> BillingSystem:
    s = object.__new__(BillingSystem)
    s.outbound = Log(records)  # type: ignore[assignment]
    return s


def test_an_invoice_is_found_by_its_request_and_lists_each_request_once() -> None:
    s = system(
        [
            invoice_event(1000000001, "C-1", ["R-1"], 1),
            invoice_event(1000000002, "C-2", ["R-2", "R-2", "R-3"], 2),
        ]
    )
    invoice = s.wait_invoice(request_id="R-3", timeout_s=0)
    assert (invoice.number, invoice.customer_number, invoice.request_ids) == (1000000002, "C-2", ("R-2", "R-3"))
    assert (invoice.reference, invoice.gross, invoice.invoice_id) == ("10000000016", "12.55", "2")
    assert s.wait_invoice(customer_number="C-1", timeout_s=0).number == 1000000001
    assert s.wait_invoice(order_id="O-R-2", timeout_s=0).number == 1000000002


def test_a_timeout_says_what_was_awaited_and_what_was_seen() -> None:
    s = system([invoice_event(1000000001, "C-1", ["R-1"], 7)])
    with pytest.raises(WaitTimeout) as info:
        s.wait_invoice(request_id="R-9", timeout_s=0)
    message = str(info.value)
    assert "an invoice issued (request R-9" in message
    assert "saw 1 event(s)" in message and "key=C-1" in message and "t@0:7" in message


def test_a_final_delivery_failure_ends_the_wait_with_its_reason() -> None:
    failed = received(
        c.DELIVERY_FAILED,
        "doc-1",
        {"source_id": "42", "channel": "email", "final": True, "code": "address-refused", "reason": "SMTP 550"},
    )
    with pytest.raises(AssertionError, match="failed for good: address-refused: SMTP 550"):
        system([failed]).wait_delivery("42", "email", timeout_s=0)
    retried = received(c.DELIVERY_FAILED, "doc-1", {"source_id": "42", "channel": "email", "final": False})
    delivered = received(c.DOCUMENT_DELIVERED, "doc-1", {"source_id": "42", "channel": "email"}, 3)
    assert system([retried, delivered]).wait_delivery("42", "email", timeout_s=0).offset == 3
    with pytest.raises(WaitTimeout, match="delivery of document 42 \\(print\\)"):
        system([retried, delivered]).wait_delivery("42", "print", timeout_s=0)


def test_a_reminder_and_a_profile_are_found_by_their_keys() -> None:
    s = system(
        [
            received(c.BILLING_PROFILE, "C-1", {"customer_number": "C-1", "version": 1, "valid": False}, 1),
            received(c.BILLING_PROFILE, "C-1", {"customer_number": "C-1", "version": 2, "valid": True}, 2),
            received(c.REMINDER_ISSUED, "C-1", {"reminder": {"invoice_number": 1000000001, "level": 2}}, 3),
        ]
    )
    assert s.wait_profile("C-1", timeout_s=0)["version"] == 1
    assert s.wait_profile("C-1", version=2, timeout_s=0)["valid"] is True
    assert s.wait_reminder(1000000001, 2, timeout_s=0)["level"] == 2
    with pytest.raises(WaitTimeout, match="reminder #1 of invoice 1000000001"):
        s.wait_reminder(1000000001, 1, timeout_s=0)


def test_attachments_and_finvoice_text() -> None:
    mail = EmailMessage()
    mail.set_content("Lasku liitteenä")
    mail.add_attachment(b"%PDF-1.4 ...", maintype="application", subtype="pdf", filename="lasku-1.pdf")
    (pdf,) = attachments(mail)
    assert (pdf.filename, pdf.content_type, pdf.content) == ("lasku-1.pdf", "application/pdf", b"%PDF-1.4 ...")
    raw = '<?xml version="1.0" encoding="ISO-8859-15"?><Finvoice>Väinö €</Finvoice>'.encode("iso-8859-15")
    assert xml_text(raw).endswith("<Finvoice>Väinö €</Finvoice>")
