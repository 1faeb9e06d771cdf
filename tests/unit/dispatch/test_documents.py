"""Outgoing documents from issued invoices, credit notes and reminders; their ids; what
each channel needs; which documents a send selects."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from services.dispatch.domain.documents import State, document_id, from_invoice, from_reminder, language_of
from services.dispatch.domain.requirements import channel_problem
from services.dispatch.domain.selection import Filters, Selection
from shared.events.customers import PostalAddress
from tests.support import documents as d


def test_the_same_source_document_and_channel_always_get_the_same_id() -> None:
    first = document_id("invoice", "inv-1", "email")
    assert first == document_id("invoice", "inv-1", "email")
    assert uuid.UUID(first).version == 5
    others = {
        document_id("invoice", "inv-1", "print"),
        document_id("reminder", "inv-1", "email"),
        document_id("invoice", "inv-2", "email"),
    }
    assert first not in others and len(others) == 3


def test_an_invoice_waits_on_its_snapshots_channel_with_what_the_customer_pays() -> None:
    doc = from_invoice(d.invoice(1000000001))
    assert (doc.source, doc.source_id, doc.channel, doc.kind) == ("invoice", "inv-1000000001", "email", "invoice")
    assert (doc.number, doc.customer_number, doc.reminder_level) == ("1000000001", "C-1", None)
    # default lines: net 30.00 + 24.20, VAT 3.00 + 6.17: gross 63.37; due 2.11.2026 + 14 days
    assert (doc.amount, doc.document_date, doc.due_date) == (Decimal("63.37"), date(2026, 11, 2), date(2026, 11, 16))
    assert doc.id == document_id("invoice", "inv-1000000001", "email")


def test_a_full_credit_is_a_credit_note_with_a_negative_amount() -> None:
    doc = from_invoice(d.credit_note(d.invoice(1000000001), 3000000001))
    assert (doc.kind, doc.number, doc.amount) == ("credit-note", "3000000001", Decimal("-63.37"))


def test_a_reminder_is_its_own_document_of_the_invoice_it_reminds_of() -> None:
    original = d.invoice(1000000002, who=d.customer("Y-1", d.COMPANY))
    doc = from_reminder(d.reminder(original, level=2, fee="5.00", interest="1.07"))
    # 63.37 open + 5.00 fee + 1.07 interest = 69.44; due 1.12.2026 + 14 days
    assert (doc.source, doc.kind, doc.reminder_level, doc.channel) == ("reminder", "reminder", 2, "einvoice")
    assert (doc.number, doc.amount, doc.due_date) == ("1000000002", Decimal("69.44"), date(2026, 12, 15))
    assert doc.id != from_invoice(original).id


@pytest.mark.parametrize(("code", "language"), [("fi", "fi"), ("sv", "sv"), ("en-GB", "en"), ("de", "fi"), ("", "fi")])
def test_a_language_other_than_finnish_swedish_or_english_is_finnish(code: str, language: str) -> None:
    assert language_of(code) == language


def test_each_channel_needs_its_own_address() -> None:
    person, company = d.PERSON, d.COMPANY
    assert channel_problem("email", person) is None
    assert channel_problem("email", person.model_copy(update={"email": None})).code == "no-email-address"  # type: ignore[union-attr]
    assert channel_problem("email", person.model_copy(update={"email": "maija@"})).code == "no-email-address"  # type: ignore[union-attr]
    assert channel_problem("einvoice", company) is None
    no_operator = company.model_copy(update={"einvoice_operator": None})
    assert channel_problem("einvoice", no_operator).code == "no-einvoice-address"  # type: ignore[union-attr]
    assert channel_problem("print", person) is None
    no_city = person.model_copy(update={"address": PostalAddress(street_lines=["Kotikatu 2"], postal_code="33100")})
    assert channel_problem("print", no_city).code == "no-postal-address"  # type: ignore[union-attr]
    problem = channel_problem("print", person.model_copy(update={"name": None}))
    assert problem is not None and "Maija" not in problem.reason  # names the field, never a value


def test_a_selection_survives_the_job_parameters_and_takes_only_waiting_or_failed() -> None:
    sel = Selection(
        "print",
        (State.FAILED,),
        ids=("a", "b"),
        filters=Filters(kind="reminder", customer_number="C-1", date_from=date(2026, 11, 1)),
        max_seq=41,
    )
    assert Selection.from_json(sel.to_json()) == sel
    with pytest.raises(ValueError, match="waiting or failed"):
        Selection("email", (State.DELIVERED,))
