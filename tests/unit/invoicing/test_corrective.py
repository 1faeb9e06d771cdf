"""Corrective invoices (``services.invoicing.domain.corrective``), hand-computed: the
draft as seed 004 makes it (every line at quantity 0, its original quantity shown), the
issue's 8 -> 6 hours, a full credit, a quantity above the original (the difference is
billed), lines left as they were (removed from the draft), the refusals, and the lines an
invoice "now" has after an earlier correction."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from services.invoicing.domain.billing import Line, Totals, VatTotal, line_net
from services.invoicing.domain.corrective import CorrectionRefused, correct, current_lines, draft_lines

D = Decimal


def line(
    no: int,
    code: str,
    qty: str,
    price: str,
    rate: str,
    *,
    request: str | None = None,
    index: int | None = 0,
    chargeable: bool = True,
) -> Line:
    return Line(
        no,
        code,
        code,
        D(qty),
        "h" if code == "TYO" else "kpl",
        D(price),
        D(rate),
        line_net(D(qty), D(price)),
        request_id=request,
        request_line=index if request else None,
        order_id=f"O-{request}" if request else None,
        chargeable=chargeable,
    )


HOURS = line(1, "TYO", "8", "50.00", "25.5", request="H1")
PAPER = line(2, "HS", "1", "30.00", "10", request="P1")


def test_the_draft_has_every_line_at_quantity_0_with_its_original_quantity() -> None:
    # seed 004: "all the quantities on it are 0" and "you can see the original invoice quantity"
    draft = draft_lines([HOURS, PAPER])
    assert [(x.line_no, x.product_code, x.quantity, x.net, x.original_quantity) for x in draft] == [
        (1, "TYO", D(0), D("0.00"), D(8)),
        (2, "HS", D(0), D("0.00"), D(1)),
    ]
    assert [(x.request_id, x.unit_price, x.vat_rate) for x in draft] == [
        ("H1", D("50.00"), D("25.5")),
        ("P1", D("30.00"), D(10)),
    ]


def test_the_untouched_draft_reverses_the_whole_invoice() -> None:
    # "the assumption is that you want to reverse all the transactions and quantities"
    draft = draft_lines([HOURS, PAPER])
    c = correct([HOURS, PAPER], {x.line_no: x.quantity for x in draft})
    # reversals only: -8 x 50.00 = -400.00 @ 25.5 % (VAT -102.00), -1 x 30.00 = -30.00 @ 10 % (VAT -3.00)
    assert [(x.product_code, x.quantity, x.net, x.reversal) for x in c.lines] == [
        ("TYO", D(-8), D("-400.00"), True),
        ("HS", D(-1), D("-30.00"), True),
    ]
    assert c.totals == Totals(D("-430.00"), D("-105.00"), D("-535.00"))
    assert [(r.line.request_id, r.quantity) for r in c.returned] == [("H1", D(8)), ("P1", D(1))]


def test_a_line_removed_from_the_draft_is_not_corrected() -> None:
    # "If any transactions don't require correction, you can remove them": line 2 is not given
    c = correct([HOURS, PAPER], {1: D(0)})
    assert [x.product_code for x in c.lines] == ["TYO"]
    assert c.totals == Totals(D("-400.00"), D("-102.00"), D("-502.00"))


def test_more_than_the_original_bills_the_difference() -> None:
    # "less than or more than the original invoice quantity": 8 -> 10 hours
    c = correct([HOURS, PAPER], {1: D(10)})
    # reversal -8 x 50.00 = -400.00, new 10 x 50.00 = 500.00: net +100.00,
    # VAT 100.00 x 0.255 = 25.50, gross 125.50 to pay; nothing goes back to billing
    assert [(x.line_no, x.quantity, x.net, x.reversal) for x in c.lines] == [
        (1, D(-8), D("-400.00"), True),
        (2, D(10), D("500.00"), False),
    ]
    assert c.totals == Totals(D("100.00"), D("25.50"), D("125.50"))
    assert c.returned == ()


def test_one_line_up_and_one_down_nets_per_rate() -> None:
    # hours 8 -> 9 (+50.00 @ 25.5 %), paper 1 -> 0 (-30.00 @ 10 %)
    c = correct([HOURS, PAPER], {1: D(9), 2: D(0)})
    # 10 %: -30.00, VAT -3.00, gross -33.00; 25.5 %: -400.00 + 450.00 = 50.00, VAT 12.75, gross 62.75
    assert c.vat_breakdown == (
        VatTotal(D(10), D("-30.00"), D("-3.00"), D("-33.00")),
        VatTotal(D("25.5"), D("50.00"), D("12.75"), D("62.75")),
    )
    assert c.totals == Totals(D("20.00"), D("9.75"), D("29.75"))
    assert [(r.line.request_id, r.quantity) for r in c.returned] == [("P1", D(1))]


def test_the_issues_example_8_hours_corrected_to_6_returns_2() -> None:
    c = correct([HOURS], {1: D(6)})
    # reversal -8 x 50.00 = -400.00, new line 6 x 50.00 = 300.00
    assert [(x.line_no, x.quantity, x.net, x.reversal) for x in c.lines] == [
        (1, D(-8), D("-400.00"), True),
        (2, D(6), D("300.00"), False),
    ]
    assert all((x.request_id, x.product_code) == ("H1", "TYO") for x in c.lines)
    # 25.5 %: net -100.00, VAT -100.00 x 0.255 = -25.50, gross -125.50: a credit note
    assert c.vat_breakdown == (VatTotal(D("25.5"), D("-100.00"), D("-25.50"), D("-125.50")),)
    assert c.totals == Totals(D("-100.00"), D("-25.50"), D("-125.50"))
    assert [(r.line.request_id, r.quantity) for r in c.returned] == [("H1", D(2))]


def test_zero_credits_the_line_fully() -> None:
    c = correct([HOURS, PAPER], {1: D(0)})
    # only the reversal of line 1: -400.00 @ 25.5 % -> VAT -102.00, gross -502.00; line 2 untouched
    assert [(x.product_code, x.quantity, x.net, x.reversal) for x in c.lines] == [("TYO", D(-8), D("-400.00"), True)]
    assert c.totals == Totals(D("-400.00"), D("-102.00"), D("-502.00"))
    assert [(r.line.product_code, r.quantity) for r in c.returned] == [("TYO", D(8))]


def test_the_whole_invoice_credited_line_by_line() -> None:
    c = correct([HOURS, PAPER], {1: D(0), 2: D(0)})
    # reversals first, in line order: -400.00 @ 25.5 %, -30.00 @ 10 %
    assert [(x.line_no, x.product_code, x.net) for x in c.lines] == [(1, "TYO", D("-400.00")), (2, "HS", D("-30.00"))]
    # 10 %: -30.00, VAT -3.00; 25.5 %: -400.00, VAT -102.00; gross -33.00 - 502.00 = -535.00
    assert c.vat_breakdown == (
        VatTotal(D(10), D("-30.00"), D("-3.00"), D("-33.00")),
        VatTotal(D("25.5"), D("-400.00"), D("-102.00"), D("-502.00")),
    )
    assert c.totals.gross == D("-535.00")


def test_reversals_come_first_then_the_re_billed_lines() -> None:
    c = correct([HOURS, replace(PAPER, quantity=D(3), net=D("90.00"))], {1: D(7), 2: D(1)})
    # reversal -8 x 50 = -400.00, reversal -3 x 30 = -90.00, new 7 x 50 = 350.00, new 1 x 30 = 30.00
    assert [(x.line_no, x.product_code, x.quantity, x.net) for x in c.lines] == [
        (1, "TYO", D(-8), D("-400.00")),
        (2, "HS", D(-3), D("-90.00")),
        (3, "TYO", D(7), D("350.00")),
        (4, "HS", D(1), D("30.00")),
    ]
    # 10 %: -90 + 30 = -60.00, VAT -6.00; 25.5 %: -400 + 350 = -50.00, VAT -12.75
    assert c.totals == Totals(D("-110.00"), D("-18.75"), D("-128.75"))
    assert [r.quantity for r in c.returned] == [D(1), D(2)]


def test_a_fractional_new_quantity_rounds_the_difference_half_away_from_zero() -> None:
    # 2.5 h of 8 at 0.97: reversal -8 x 0.97 = -7.76, new 2.5 x 0.97 = 2.425 -> 2.43;
    # net -7.76 + 2.43 = -5.33; VAT -5.33 x 0.255 = -1.35915 -> -1.36; gross -6.69
    cheap = line(1, "TYO", "8", "0.97", "25.5", request="H9")
    c = correct([cheap], {1: D("2.5")})
    assert [x.net for x in c.lines] == [D("-7.76"), D("2.43")]
    assert c.totals == Totals(D("-5.33"), D("-1.36"), D("-6.69"))
    assert c.returned[0].quantity == D("5.5")


@pytest.mark.parametrize(
    ("wanted", "code"),
    [
        ({1: D(-1)}, "quantity-out-of-range"),  # negative
        ({3: D(1)}, "unknown-line"),  # the invoice has lines 1 and 2
        ({1: D(8), 2: D(1)}, "nothing-to-correct"),  # the same quantities
        ({}, "nothing-to-correct"),  # nothing asked
    ],
)
def test_refusals_say_why_in_finnish_and_english(wanted: dict[int, Decimal], code: str) -> None:
    with pytest.raises(CorrectionRefused) as refused:
        correct([HOURS, PAPER], wanted)
    assert refused.value.code == code
    assert refused.value.message_fi and refused.value.message_en
    assert refused.value.message_fi != refused.value.message_en


def test_the_out_of_range_refusal_names_the_line_and_its_bound() -> None:
    with pytest.raises(CorrectionRefused) as refused:
        correct([HOURS, PAPER], {2: D("-0.5")})
    assert refused.value.message_en == "The new quantity of line 2 must be 0 or more."


# --- current lines: the invoice as it stands after earlier corrections ------------------------


def test_current_lines_without_corrections_are_the_chargeable_lines() -> None:
    free = line(3, "KUVA", "1", "12.10", "25.5", request="K1", chargeable=False)
    assert [(x.line_no, x.product_code, x.quantity) for x in current_lines([HOURS, free, PAPER], [])] == [
        (1, "TYO", D(8)),
        (2, "HS", D(1)),  # renumbered: the non-chargeable line is not part of what was billed
    ]


def test_after_8_to_6_the_invoice_has_6_hours_and_a_second_correction_starts_from_there() -> None:
    first = correct([HOURS, PAPER], {1: D(6)})
    now = current_lines([HOURS, PAPER], [first.lines])
    # 8 - 8 + 6 = 6 hours: 6 x 50.00 = 300.00; the paper as it was
    assert [(x.line_no, x.product_code, x.quantity, x.net) for x in now] == [
        (1, "TYO", D(6), D("300.00")),
        (2, "HS", D(1), D("30.00")),
    ]
    second = correct(now, {1: D(5)})
    # reversal -6 x 50 = -300.00, new 5 x 50 = 250.00: net -50.00, VAT -12.75, gross -62.75
    assert second.totals == Totals(D("-50.00"), D("-12.75"), D("-62.75"))
    assert second.returned[0].quantity == D(1)
    # back up to 7 from the 6 billed now: reversal -6 x 50 = -300.00, new 7 x 50 = 350.00:
    # net 50.00, VAT 12.75, gross 62.75 billed
    assert correct(now, {1: D(7)}).totals == Totals(D("50.00"), D("12.75"), D("62.75"))


def test_after_a_correction_upwards_the_invoice_has_the_higher_quantity() -> None:
    first = correct([HOURS], {1: D(10)})
    # 8 - 8 + 10 = 10 hours: 10 x 50.00 = 500.00; its draft shows 10 as the original quantity
    now = current_lines([HOURS], [first.lines])
    assert [(x.quantity, x.net) for x in now] == [(D(10), D("500.00"))]
    assert [x.original_quantity for x in draft_lines(now)] == [D(10)]


def test_a_fully_credited_line_is_gone_and_the_rest_renumbered() -> None:
    first = correct([HOURS, PAPER], {1: D(0)})
    now = current_lines([HOURS, PAPER], [first.lines])
    assert [(x.line_no, x.product_code, x.quantity) for x in now] == [(1, "HS", D(1))]
    everything = current_lines([HOURS, PAPER], [first.lines, correct(now, {1: D(0)}).lines])
    assert everything == []


def test_lines_without_a_request_are_matched_by_product_price_rate_and_text() -> None:
    manual = line(1, "TYO", "8", "50.00", "25.5", request=None)
    other_price = line(2, "TYO", "2", "60.00", "25.5", request=None)
    first = correct([manual, other_price], {1: D(3)})
    now = current_lines([manual, other_price], [first.lines])
    # the 50.00 line: 8 - 8 + 3 = 3; the 60.00 line is another line, untouched: 2
    assert [(x.unit_price, x.quantity) for x in now] == [(D("50.00"), D(3)), (D("60.00"), D(2))]
