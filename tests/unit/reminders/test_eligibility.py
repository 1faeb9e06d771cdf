"""Who gets payment reminder #1 / #2 on which day, with what fee, compensation and
interest, and why a near invoice is left out. Exact dates, hand-computed amounts."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from services.reminders.domain import collection
from services.reminders.domain.charges import fee_and_compensation
from services.reminders.domain.eligibility import Candidate, Exclusion, decide, listed, recheck
from services.reminders.domain.interest import Payment
from services.reminders.domain.items import OpenItem, ReminderStep
from services.reminders.domain.policy import default_policy
from services.reminders.domain.rates import default_rates

D = Decimal
RATES = default_rates()
POLICY = default_policy().at(date(2026, 3, 1))
DUE = date(2026, 3, 2)


def item(consumer: bool = True, **changes: object) -> OpenItem:
    base = OpenItem(
        invoice_id="inv-1",
        invoice_number="1000000001",
        customer_number="C-1",
        consumer=consumer,
        invoice_date=date(2026, 2, 16),
        due_date=DUE,
        gross=D("1000.00"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def step(level: int, on: date, fee: str = "5.00", compensation: str = "0.00") -> ReminderStep:
    return ReminderStep(level, on, date.fromordinal(on.toordinal() + 14), D(fee), D(compensation))


def candidate(decision: object) -> Candidate:
    assert isinstance(decision, Candidate), decision
    return decision


def exclusion(decision: object) -> Exclusion:
    assert isinstance(decision, Exclusion), decision
    return decision


# --- timing -------------------------------------------------------------------------


def test_consumer_first_reminder_not_on_day_14_after_due() -> None:
    # due 2.3.: 14 days later is 16.3.; "14 full days" means 17.3. at the earliest
    excluded = exclusion(decide(item(), 1, date(2026, 3, 16), POLICY, RATES))
    assert (excluded.reason, excluded.earliest, excluded.days_overdue) == ("too_early", date(2026, 3, 17), 14)
    assert excluded.text.fi == "Liian aikaista: aikaisintaan 17.3.2026."
    assert excluded.text.en == "Too early: 2026-03-17 at the earliest."


def test_consumer_first_reminder_on_day_15_after_due() -> None:
    # 17.3.: fee 5.00; interest 3.3.-17.3. = 15 days at 9.5 %: 1000 * 0.095 * 15 / 365 = 3.9041 -> 3.90
    # new due date 17.3. + 14 = 31.3.; total 1000.00 + 5.00 + 3.90 = 1008.90
    made = candidate(decide(item(), 1, date(2026, 3, 17), POLICY, RATES))
    assert (made.charges.fee, made.charges.compensation, made.charges.interest) == (D("5.00"), D("0"), D("3.90"))
    assert (made.new_due_date, made.days_overdue, made.total_due) == (date(2026, 3, 31), 15, D("1008.90"))


def test_consumer_second_reminder_not_on_the_14th_day_after_the_first() -> None:
    # #1 on 17.3.; KKV 21.10.2024: at least 14 full days between letters, so the 14th day
    # after it (31.3.) is still too early and 1.4. is the first day #2 may be made
    first = item(reminders=(step(1, date(2026, 3, 17)),))
    excluded = exclusion(decide(first, 2, date(2026, 3, 31), POLICY, RATES))
    assert (excluded.reason, excluded.earliest) == ("too_early", date(2026, 4, 1))
    assert excluded.text.fi == "Liian aikaista: aikaisintaan 1.4.2026."


def test_consumer_second_reminder_on_the_15th_day_after_the_first() -> None:
    # 1.4.: fee 5.00 again; interest to date 3.3.-1.4. = 30 days: 1000 * 0.095 * 30 / 365 = 2850 / 365
    # = 7.8082 -> 7.81 (interest to date, not since #1); new due date 1.4. + 14 = 15.4.
    first = item(reminders=(step(1, date(2026, 3, 17)),))
    made = candidate(decide(first, 2, date(2026, 4, 1), POLICY, RATES))
    assert (made.charges.fee, made.charges.interest, made.new_due_date) == (D("5.00"), D("7.81"), date(2026, 4, 15))


def test_the_issues_example_reminder_two_after_31_3_is_offered_on_15_4_not_14_4() -> None:
    # due 16.3.2026, #1 on 31.3.2026 (due + 15): 14.4. is the 14th day after #1
    first = item(due_date=date(2026, 3, 16), reminders=(step(1, date(2026, 3, 31)),))
    assert exclusion(decide(first, 2, date(2026, 4, 14), POLICY, RATES)).earliest == date(2026, 4, 15)
    assert candidate(decide(first, 2, date(2026, 4, 15), POLICY, RATES)).charges.fee == D("5.00")


def test_business_reminders_wait_ten_full_days_the_10th_day_is_too_early() -> None:
    # 299/2022: at least 10 days since the previous reminder, read like the consumer rule
    # (10 full days between): #1 due 2.3. -> 12.3. (10th day) refused, 13.3. offered;
    # #2 after #1 of 13.3. -> 23.3. (10th day) refused, 24.3. offered
    business = item(consumer=False)
    assert exclusion(decide(business, 1, date(2026, 3, 12), POLICY, RATES)).earliest == date(2026, 3, 13)
    candidate(decide(business, 1, date(2026, 3, 13), POLICY, RATES))
    reminded = item(consumer=False, reminders=(step(1, date(2026, 3, 13), "0.00", "40.00"),))
    assert exclusion(decide(reminded, 2, date(2026, 3, 23), POLICY, RATES)).earliest == date(2026, 3, 24)
    candidate(decide(reminded, 2, date(2026, 3, 24), POLICY, RATES))


# --- fees, compensation, interest ----------------------------------------------------


def test_business_reminder_one_charges_the_40_euro_compensation_and_its_fee_within_it() -> None:
    # 12.00 cost of the reminder is covered by the 40.00 (directive 2011/7/EU art. 6(3));
    # on 13.3. (due 2.3. + 11): interest 3.3.-13.3. = 11 days at 2.5 + 8 = 10.5 %:
    # 1000 * 0.105 * 11 / 365 = 1155 / 365 = 3.1644 -> 3.16
    made = candidate(decide(item(consumer=False), 1, date(2026, 3, 13), POLICY, RATES))
    assert (made.charges.fee, made.charges.compensation, made.charges.interest) == (D("0"), D("40.00"), D("3.16"))
    assert made.total_due == D("1043.16")


def test_business_compensation_once_per_invoice() -> None:
    reminded = item(consumer=False, reminders=(step(1, date(2026, 3, 13), "0.00", "40.00"),))
    made = candidate(decide(reminded, 2, date(2026, 3, 24), POLICY, RATES))
    assert (made.charges.fee, made.charges.compensation) == (D("0"), D("0"))


def test_consumer_never_gets_the_compensation() -> None:
    made = candidate(decide(item(), 1, date(2026, 3, 17), POLICY, RATES))
    assert made.charges.compensation == 0


def test_business_fees_beyond_the_compensation_are_charged() -> None:
    # costs of 4 reminders 4 x 12 = 48 > 40: the fourth charges 48 - 40 = 8.00
    rules = POLICY.business
    earlier = [step(1, DUE, "0.00", "40.00"), step(2, DUE, "0.00"), step(3, DUE, "0.00")]
    assert fee_and_compensation(rules, earlier[:0]) == (D("0"), D("40.00"))
    assert fee_and_compensation(rules, earlier[:1]) == (D("0"), D("0"))
    assert fee_and_compensation(rules, earlier[:2]) == (D("0"), D("0"))  # 36 < 40
    assert fee_and_compensation(rules, earlier) == (D("8.00"), D("0"))


def test_business_without_netting_pays_12_per_reminder_and_40_once() -> None:
    rules = dataclasses.replace(POLICY.business, fees_within_compensation=False)
    assert fee_and_compensation(rules, []) == (D("12.00"), D("40.00"))
    assert fee_and_compensation(rules, [step(1, DUE, "12.00", "40.00")]) == (D("12.00"), D("0"))


def test_consumer_fee_is_the_same_on_every_level() -> None:
    rules = POLICY.consumer
    assert fee_and_compensation(rules, []) == (D("5.00"), D("0"))
    assert fee_and_compensation(rules, [step(1, DUE)]) == (D("5.00"), D("0"))


def test_interest_on_what_is_left_after_a_partial_payment() -> None:
    # 400.00 paid on 10.3., reminder 17.3.: open 600.00
    # 3.3.-10.3. 8 days on 1000: 760 / 365 = 2.0822 -> 2.08; 11.3.-17.3. 7 days on 600: 399 / 365 = 1.0932 -> 1.09
    paid = item(paid_total=D("400.00"), status="partially-paid", payments=(Payment(date(2026, 3, 10), D("400.00")),))
    made = candidate(decide(paid, 1, date(2026, 3, 17), POLICY, RATES))
    assert made.item.open == D("600.00")
    assert [p.amount for p in made.charges.periods] == [D("2.08"), D("1.09")]
    assert made.total_due == D("600.00") + D("5.00") + D("3.17")


def test_a_credit_note_lowers_the_open_amount_and_the_interest() -> None:
    # gross 1000.00, credit note -250.00: 750.00 open; 15 days: 750 * 0.095 * 15 / 365 = 1068.75 / 365 = 2.928 -> 2.93
    credited = item(credited=D("-250.00"))
    made = candidate(decide(credited, 1, date(2026, 3, 17), POLICY, RATES))
    assert (made.item.open, made.charges.interest) == (D("750.00"), D("2.93"))


# --- exclusions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"status": "paid", "paid_total": D("1000.00"), "settled_on": date(2026, 3, 10)}, "paid"),
        ({"credited": D("-1000.00"), "status": "credited", "settled_on": date(2026, 3, 10)}, "paid"),
        ({"disputed": True}, "disputed"),
        ({"no_reminders": True}, "no_reminders"),
        ({"credited": D("-996.00")}, "below_minimum"),  # 4.00 open < 5.00
    ],
)
def test_near_candidates_excluded_and_why(changes: dict[str, object], reason: str) -> None:
    assert exclusion(decide(item(**changes), 1, date(2026, 3, 17), POLICY, RATES)).reason == reason


def test_reasons_have_finnish_and_english_texts() -> None:
    excluded = exclusion(decide(item(credited=D("-996.00")), 1, date(2026, 3, 17), POLICY, RATES))
    assert excluded.text.fi == "Avoin summa on alle muistutusrajan 5.00 €."
    assert excluded.text.en == "The open amount is below the reminder limit 5.00 €."


def test_a_half_year_without_a_reference_rate_bears_no_interest_and_is_named() -> None:
    # due 20.6.2026, reminded 6.7.2026 (16 days later); the table ends at 30.6.2026:
    # interest only for 21.6.-30.6. (10 days), 1.7.-6.7. not charged (no rate yet)
    late = item(due_date=date(2026, 6, 20))
    candidate = decide(late, 1, date(2026, 7, 6), POLICY, RATES)
    assert isinstance(candidate, Candidate)
    assert [(p.start, p.end, p.days) for p in candidate.charges.periods] == [(date(2026, 6, 21), date(2026, 6, 30), 10)]
    assert candidate.charges.uncharged == ((date(2026, 7, 1), date(2026, 7, 6)),)


def test_the_list_shows_recently_paid_but_not_long_paid_or_paid_on_time() -> None:
    on = date(2026, 4, 20)
    late = item(status="paid", settled_on=date(2026, 4, 1))
    long_ago = item(status="paid", settled_on=date(2026, 3, 5))
    on_time = item(status="paid", settled_on=date(2026, 3, 1))
    assert exclusion(listed(late, 1, on, POLICY, RATES)).reason == "paid"  # 19 days ago <= 30
    assert listed(long_ago, 1, on, POLICY, RATES) is None  # 46 days ago
    assert listed(on_time, 1, on, POLICY, RATES) is None


def test_not_near_not_listed() -> None:
    assert listed(item(), 1, DUE, POLICY, RATES) is None  # not overdue
    assert listed(item(), 2, date(2026, 4, 1), POLICY, RATES) is None  # no #1 yet
    assert listed(item(reminders=(step(1, date(2026, 3, 17)),)), 1, date(2026, 4, 1), POLICY, RATES) is None
    assert listed(item(handed_over=True), 1, date(2026, 4, 1), POLICY, RATES) is None


def test_recheck_says_why_a_selected_invoice_is_skipped() -> None:
    on = date(2026, 4, 1)
    assert recheck(None, 1, on, POLICY, RATES) == "not_found"
    assert recheck(item(reminders=(step(1, date(2026, 3, 17)),)), 1, on, POLICY, RATES) == "already_reminded"
    assert recheck(item(), 2, on, POLICY, RATES) == "not_reminded_before"
    assert recheck(item(), 1, DUE, POLICY, RATES) == "not_overdue"
    assert exclusion(recheck(item(status="paid", settled_on=on), 1, on, POLICY, RATES)).reason == "paid"


# --- collection ---------------------------------------------------------------------


def test_collection_candidates_after_the_last_reminders_due_date_with_the_full_claim() -> None:
    # #1 17.3. (fee 5.00), #2 1.4. (fee 5.00, its due date 1.4. + 14 = 15.4.); the hand-over
    # waits 14 full days after #2: 15.4. (the 14th day, #2's own due date) is too early,
    # 16.4. the first day. Interest 3.3.-16.4. = 45 days:
    # 1000 * 0.095 * 45 / 365 = 4275 / 365 = 11.7123 -> 11.71
    reminded = item(reminders=(step(1, date(2026, 3, 17)), step(2, date(2026, 4, 1))))
    too_early = collection.decide(reminded, date(2026, 4, 15), POLICY, RATES)
    assert isinstance(too_early, Exclusion)
    assert (too_early.reason, too_early.earliest) == ("too_early", date(2026, 4, 16))
    claim = collection.decide(reminded, date(2026, 4, 16), POLICY, RATES)
    assert isinstance(claim, collection.Claim)
    assert (claim.principal, claim.fees, claim.compensation, claim.interest) == (
        D("1000.00"),
        D("10.00"),
        D("0.00"),
        D("11.71"),
    )
    assert claim.total == D("1021.71")
    assert [r.level for r in claim.reminders] == [1, 2]


def test_only_invoices_past_the_last_level_are_near_collection() -> None:
    on = date(2026, 5, 1)
    assert collection.listed(item(reminders=(step(1, date(2026, 3, 17)),)), on, POLICY, RATES) is None
    assert collection.listed(item(), on, POLICY, RATES) is None
