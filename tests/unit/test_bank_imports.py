"""The import's pure decisions: how an entry would be taken, the event it becomes (or
the file refused at the entry), the upload's name, the file's totals."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import exc as sa_exc

from services.invoicing.bank_files import BankFile, BankFileEntry, BankFileInvalid
from services.invoicing.handlers import bank_imports
from services.invoicing.handlers.bank_imports import (
    Invoice,
    Preview,
    PreviewEntry,
    clean_file_name,
    decide,
    event_of,
    reference_key,
)
from services.invoicing.handlers.errors import Busy
from shared.events.bank import ReferencePaymentReceived, ReferencePaymentReversed


def entry(
    reference: str = "1232", *, reversal: bool = False, archive_id: str = "A1", amount: str = "5.00"
) -> BankFileEntry:
    return BankFileEntry(
        archive_id=archive_id,
        reference=reference,
        amount=Decimal(amount),
        booking_date=date(2026, 12, 1),
        payment_date=date(2026, 11, 30),
        payer_name=None if reversal else "Maksaja",
        reversal=reversal,
        reverses_archive_id="A0" if reversal else None,
        location="line 2",
    )


INVOICE = Invoice(2000000001, "invoice")


@pytest.mark.parametrize(
    ("e", "repeated", "invoice", "want"),
    [
        (entry(), False, INVOICE, ("matched", None)),
        (entry("RF11 1232"), False, INVOICE, ("matched", None)),  # the RF form of 1232
        (entry(), True, INVOICE, ("repeated", None)),  # repeated wins over everything
        (entry(reversal=True), True, INVOICE, ("repeated", None)),
        (entry(reversal=True), False, None, ("reversal", None)),
        (entry("1234"), False, None, ("unmatched", "reference-invalid")),  # 7-3-1 check digit wrong
        (entry("12345672"), False, None, ("unmatched", "reference-unknown")),
        (entry(), False, Invoice(3000000001, "credit-note"), ("unmatched", "not-payable")),
        (entry(), False, Invoice(2000000002, "corrective"), ("matched", None)),  # paid on its own
    ],
)
def test_an_entry_is_taken_as_the_payments_consumer_would(
    e: BankFileEntry, repeated: bool, invoice: Invoice | None, want: tuple[str, str | None]
) -> None:
    assert decide(e, repeated=repeated, invoice=invoice) == want


def test_a_payment_and_a_reversal_become_their_events() -> None:
    payment = event_of(entry())
    assert isinstance(payment, ReferencePaymentReceived)
    assert (payment.payment_id, payment.reference, payment.amount, payment.payer_name) == (
        "A1", "1232", Decimal("5.00"), "Maksaja",
    )  # fmt: skip
    reversal = event_of(entry(reversal=True, archive_id="A9"))
    assert isinstance(reversal, ReferencePaymentReversed)
    assert (reversal.payment_id, reversal.reverses_payment_id, reversal.amount) == ("R:A9", "A0", Decimal("5.00"))


def test_a_reversal_that_reuses_its_payments_archive_id_names_it_and_cannot_collide() -> None:
    """Review H1: the reversal's event id is ``R:`` + its archive id, never a payment's;
    with a payment of the same archive id known, it names that payment."""
    unnamed = replace(entry(reversal=True, archive_id="A1"), reverses_archive_id=None)
    alone = event_of(unnamed)
    assert isinstance(alone, ReferencePaymentReversed)
    assert (alone.payment_id, alone.reverses_payment_id) == ("R:A1", None)
    named = event_of(unnamed, same_id_payment=True)
    assert isinstance(named, ReferencePaymentReversed)
    assert (named.payment_id, named.reverses_payment_id) == ("R:A1", "A1")
    assert event_of(entry(archive_id="A1")).payment_id == "A1"


@pytest.mark.parametrize(
    ("reference", "key"),
    [
        ("20261007", "20261007"),
        ("0000000000020261007", "20261007"),
        ("RF29 2026 1007", "20261007"),
        ("rf2920261007", "20261007"),
        ("RF18 5390 0754 7034", "RF18539007547034"),
    ],
)
def test_both_events_are_keyed_by_the_canonical_reference(reference: str, key: str) -> None:
    """Review H2: the RF and national forms of one reference share a key (a partition)."""
    assert reference_key(reference) == key


@pytest.mark.parametrize(
    ("e", "field"),
    [
        (entry(archive_id="A 1"), "payment_id"),  # a space: not an archive id our contract carries
        (entry(amount="100000000.01"), "amount"),  # over the largest payment
        (entry("1" * 36), "reference"),
    ],
)
def test_an_entry_the_contract_cannot_carry_refuses_the_file_at_the_entry(e: BankFileEntry, field: str) -> None:
    with pytest.raises(BankFileInvalid) as caught:
        event_of(e)
    assert caught.value.where == "line 2"
    assert field in caught.value.en and field in caught.value.fi


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("viitteet.txt", "viitteet.txt"),
        ("C:\\pankki\\viitteet 12.txt", "viitteet 12.txt"),
        ("../../etc/passwd", "passwd"),
        ("a\x00b\nc.xml", "abc.xml"),
        ("", "bank-file"),
        (None, "bank-file"),
        ("x" * 300, "x" * 200),
    ],
)
def test_the_upload_keeps_its_own_name_only(name: str | None, want: str) -> None:
    assert clean_file_name(name) == want


def test_the_totals_keep_payments_and_reversals_apart() -> None:
    entries = (entry(amount="10.00"), entry(archive_id="A2", amount="2.50"), entry(reversal=True, archive_id="A3"))
    f = BankFile(format="viitesiirto", file_id="F", created_at=None, account=None, entries=entries)
    p = Preview(f, "f.txt", "0" * 64, None, tuple(PreviewEntry(e, "matched", None, None) for e in entries))
    assert (p.count, p.amount, p.reversals, p.reversal_amount) == (2, Decimal("12.50"), 1, Decimal("5.00"))


async def test_at_most_two_files_are_read_at_once_then_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Review M2: a third upload while two are being read waits, then is refused busy
    (503 ``bank-file-busy``); a slot freed lets the next one in."""
    monkeypatch.setattr(bank_imports, "BUSY_WAIT_S", 0.05)
    async with bank_imports.slot(), bank_imports.slot():
        with pytest.raises(Busy) as caught:
            async with bank_imports.slot():
                pass
        assert (caught.value.status, caught.value.code) == (503, "bank-file-busy")
    async with bank_imports.slot():
        pass


@pytest.mark.parametrize("code", ["40P01", "40001"])
async def test_a_deadlock_or_serialization_failure_answers_busy_not_an_error(
    code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review M1: the database chose this import to give way: nothing recorded, try again."""

    class GaveWay(Exception):
        sqlstate = code

    async def gave_way(*args: object) -> None:
        raise sa_exc.DBAPIError("INSERT", None, GaveWay())

    monkeypatch.setattr(bank_imports, "_import", gave_way)
    with pytest.raises(Busy) as caught:
        await bank_imports.import_file(None, b"x", "a.txt", actor="clerk")  # type: ignore[arg-type]
    assert (caught.value.status, caught.value.code) == (503, "bank-file-busy")


async def test_other_database_errors_are_not_taken_for_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(Exception):
        sqlstate = "23505"

    async def broken(*args: object) -> None:
        raise sa_exc.DBAPIError("INSERT", None, Broken())

    monkeypatch.setattr(bank_imports, "_import", broken)
    with pytest.raises(sa_exc.DBAPIError):
        await bank_imports.import_file(None, b"x", "a.txt", actor="clerk")  # type: ignore[arg-type]
