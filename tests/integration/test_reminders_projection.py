"""The open-items projection on real Kafka and PostgreSQL: invoices issued, partly paid,
credited and settled as the invoicing service publishes them; redelivered and re-sent
events change nothing; the billing profile's "no reminders" flag is kept per customer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest

from services.reminders.repositories import RemindersUnitOfWork
from shared.events.topics import INVOICES
from shared.runtime import Runtime
from tests.support import documents
from tests.support import reminders_events as ev
from tests.support.isolation import Sandbox
from tests.support.kafka import Publisher, wait_for
from tests.support.reminders_runtime import running

pytestmark = pytest.mark.integration


@pytest.fixture
async def reminders(sandbox: Sandbox) -> AsyncIterator[Runtime[RemindersUnitOfWork]]:
    async with running(sandbox) as runtime:
        yield runtime


async def test_issued_paid_credited_and_settled_invoices_are_projected_once(
    sandbox: Sandbox, reminders: Runtime[RemindersUnitOfWork]
) -> None:
    p = sandbox.prefix
    a = documents.invoice(1000000001, who=documents.customer("C-1"))
    b = documents.invoice(1000000002, who=documents.customer("C-2"))
    c = documents.invoice(1000000003, who=documents.customer("C-3"))
    # B's credit note: line 2 down from 2 to 1 piece. Lines -30.00 (10 %), -24.20 + 12.10 = -12.10 (25.5 %);
    # VAT -3.00 and -12.10 * 0.255 = -3.0855 -> -3.09; gross -33.00 - 15.19 = -48.19
    credit = documents.credit_note(b, 3000000001, new_quantities={2: "1"})
    assert credit.totals.gross == Decimal("-48.19")

    def payment_a() -> ev.Record:  # the same payment each time: one payment id
        return ev.payment(
            p, a, "20.00", date(2026, 11, 20), paid_total="20.00", open_amount="43.37", status="partially-paid",
            payment_id="pay-a-1",
        )  # fmt: skip

    records = [
        ev.issued(p, a),
        ev.issued(p, a),  # the same invoice again (another event id): one item
        ev.issued(p, b),
        ev.issued(p, c),
        payment_a(),
        payment_a(),  # the same payment re-sent under a new event id: applied once
        ev.corrective(p, credit),
        ev.payment(p, c, "63.37", date(2026, 11, 18), paid_total="63.37", open_amount="0.00", status="paid"),
        ev.settled(p, c, date(2026, 11, 18)),
        ev.profile(p, "C-3", documents.PERSON.model_copy(update={"no_reminders": True}), version=2, consumer=True),
        ev.profile(p, "C-3", documents.PERSON, version=1, consumer=True),  # older: changes nothing
    ]
    async with Publisher(sandbox.bootstrap) as pub:
        for r in records:
            await pub.send(r[0], r[1], key=r[2], headers=r[3])

    async def settled_c() -> bool:
        return await sandbox.scalar("SELECT status FROM open_items WHERE invoice_id = 'inv-1000000003'") == "paid"

    await wait_for(settled_c, timeout=60)
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM customer_flags", 1), timeout=30)
    await wait_for(
        lambda: sandbox.has("SELECT credited FROM open_items WHERE invoice_id = 'inv-1000000002'", Decimal("-48.19"))
    )
    rows = {
        r["invoice_id"]: r
        for r in await sandbox.fetch(
            "SELECT invoice_id, gross, credited, paid_total, open_amount, status, settled_on, consumer FROM open_items"
        )
    }
    assert set(rows) == {"inv-1000000001", "inv-1000000002", "inv-1000000003"}
    ra, rb, rc = rows["inv-1000000001"], rows["inv-1000000002"], rows["inv-1000000003"]
    # A: 63.37 - 20.00 paid = 43.37
    assert (ra["gross"], ra["paid_total"], ra["open_amount"], ra["status"]) == (
        Decimal("63.37"), Decimal("20.00"), Decimal("43.37"), "partially-paid",
    )  # fmt: skip
    # B: 63.37 - 48.19 credited = 15.18, still open
    assert (rb["credited"], rb["open_amount"], rb["status"]) == (Decimal("-48.19"), Decimal("15.18"), "open")
    assert (rc["open_amount"], rc["status"], rc["settled_on"]) == (Decimal("0.00"), "paid", date(2026, 11, 18))
    assert ra["consumer"] is True
    movements = await sandbox.fetch("SELECT invoice_id, kind, ref, amount FROM open_item_movements ORDER BY 1, 2")
    assert [(m["invoice_id"], m["kind"], m["amount"]) for m in movements] == [
        ("inv-1000000001", "payment", Decimal("20.00")),
        ("inv-1000000002", "credit", Decimal("-48.19")),
        ("inv-1000000003", "payment", Decimal("63.37")),
    ]
    (flags,) = await sandbox.fetch("SELECT customer_number, version, no_reminders FROM customer_flags")
    assert (flags["customer_number"], flags["version"], flags["no_reminders"]) == ("C-3", 2, True)
    # nothing went to the dead-letter topic
    assert await sandbox.scalar("SELECT count(*) FROM dead_letters") == 0
    assert INVOICES.name in records[0][0]


async def test_a_credit_note_without_its_original_is_dead_lettered(
    sandbox: Sandbox, reminders: Runtime[RemindersUnitOfWork]
) -> None:
    a = documents.invoice(1000000011)
    orphan = documents.credit_note(a, 3000000011).model_copy(update={"original_invoice_id": None})
    async with Publisher(sandbox.bootstrap) as pub:
        r = ev.corrective(sandbox.prefix, orphan)
        await pub.send(r[0], r[1], key=r[2], headers=r[3])
    await wait_for(lambda: sandbox.has("SELECT count(*) FROM dead_letters", 1), timeout=60)
    assert await sandbox.scalar("SELECT error_code FROM dead_letters") == "credit-note-without-original"


async def test_a_reversed_payment_opens_the_settled_item_again_and_it_is_remindable(
    sandbox: Sandbox, reminders: Runtime[RemindersUnitOfWork]
) -> None:
    p = sandbox.prefix
    a = documents.invoice(1000000021, who=documents.customer("C-21"))
    gross = str(a.totals.gross)

    def reversal() -> ev.Record:  # the same reversal each time: one payment id
        return ev.reversal(
            p, a, gross, date(2026, 12, 10), payment_id="rev-1", reverses="pay-1", paid_total="0.00",
            open_amount=gross, status="open",
        )  # fmt: skip

    records = [
        ev.issued(p, a),
        ev.payment(
            p, a, gross, date(2026, 11, 10), paid_total=gross, open_amount="0.00", status="paid", payment_id="pay-1"
        ),
        ev.settled(p, a, date(2026, 11, 10)),
        reversal(),
        reversal(),  # re-sent under a new event id: applied once
    ]
    async with Publisher(sandbox.bootstrap) as pub:
        for r in records[:3]:
            await pub.send(r[0], r[1], key=r[2], headers=r[3])
        await wait_for(lambda: sandbox.has("SELECT status FROM open_items", "paid"), timeout=60)
        async with reminders.uow() as u:  # settled: no reminder
            assert await u.items.count_step(level=1, on=date(2027, 1, 31), settled_since=date(2027, 1, 31)) == 0
        for r in records[3:]:
            await pub.send(r[0], r[1], key=r[2], headers=r[3])
    await wait_for(lambda: sandbox.has("SELECT status FROM open_items", "open"), timeout=60)
    (row,) = await sandbox.fetch("SELECT paid_total, open_amount, status, settled_on FROM open_items")
    assert (row["paid_total"], row["open_amount"], row["status"], row["settled_on"]) == (
        Decimal("0.00"), a.totals.gross, "open", None,
    )  # fmt: skip
    movements = await sandbox.fetch("SELECT kind, ref, amount FROM open_item_movements ORDER BY amount")
    assert [(m["kind"], m["ref"], m["amount"]) for m in movements] == [
        ("payment", "rev-1", -a.totals.gross),
        ("payment", "pay-1", a.totals.gross),
    ]
    async with reminders.uow() as u:  # open again: the first reminder's candidate
        assert await u.items.count_step(level=1, on=date(2027, 1, 31), settled_since=date(2027, 1, 31)) == 1


async def test_a_reversal_that_leaves_the_invoice_settled_keeps_its_settlement_date(
    sandbox: Sandbox, reminders: Runtime[RemindersUnitOfWork]
) -> None:
    """Review L2: an overpaid invoice, one payment taken back, still paid: ``settled_on``
    stays the day it was settled (not the reversal's date)."""
    p = sandbox.prefix
    a = documents.invoice(1000000022, who=documents.customer("C-22"))
    gross = a.totals.gross
    records = [
        ev.issued(p, a),
        ev.payment(
            p, a, str(gross), date(2026, 11, 10), paid_total=str(gross), open_amount="0.00", status="paid",
            payment_id="pay-a",
        ),
        ev.settled(p, a, date(2026, 11, 10)),
        ev.payment(
            p, a, "5.00", date(2026, 11, 12), paid_total=str(gross + 5), open_amount="-5.00", status="overpaid",
            payment_id="pay-b",
        ),
        ev.reversal(
            p, a, "5.00", date(2026, 12, 20), payment_id="rev-b", reverses="pay-b", paid_total=str(gross),
            open_amount="0.00", status="paid",
        ),
    ]  # fmt: skip
    async with Publisher(sandbox.bootstrap) as pub:
        for r in records[:4]:
            await pub.send(r[0], r[1], key=r[2], headers=r[3])
        await wait_for(lambda: sandbox.has("SELECT status FROM open_items", "overpaid"), timeout=60)
        before = await sandbox.scalar("SELECT settled_on FROM open_items")
        assert before is not None and before < date(2026, 12, 20)
        await pub.send(*records[4][:2], key=records[4][2], headers=records[4][3])
    await wait_for(lambda: sandbox.has("SELECT status FROM open_items", "paid"), timeout=60)
    (row,) = await sandbox.fetch("SELECT paid_total, open_amount, status, settled_on FROM open_items")
    assert (row["paid_total"], row["open_amount"], row["status"], row["settled_on"]) == (
        gross, Decimal("0.00"), "paid", before,
    )  # fmt: skip
