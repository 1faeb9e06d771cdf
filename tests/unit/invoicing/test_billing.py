"""Billing rules (``services.invoicing.domain.billing``) with hand-computed vectors:
grouping (one invoice per customer, kind and invoice date), line order, VAT once per
invoice per rate rounded half away from zero, discounts, payment terms and due dates,
and a draft line's edit. Each expected amount is worked out in the comment beside it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.invoicing.domain.billing import (
    Line,
    Period,
    Request,
    RequestLine,
    Totals,
    VatTotal,
    build_invoice,
    build_invoices,
    due_date,
    edit_line,
    group,
    line_net,
    vat_breakdown,
)

D = Decimal
DAY = date(2026, 11, 23)
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


def rl(code: str, qty: str, price: str, rate: str, description: str = "", period: Period | None = None) -> RequestLine:
    return RequestLine(code, description or code, D(qty), "kpl", D(price), D(rate), period)


def req(
    request_id: str,
    customer: str = "C-1",
    *lines: RequestLine,
    kind: str = "subscription",
    on: date = DAY,
    terms: int = 14,
) -> Request:
    return Request(request_id, kind, customer, f"O-{request_id}", on, terms, lines or (rl("HS", "1", "30.00", "10"),))


def line(no: int, qty: str, price: str, rate: str, *, chargeable: bool = True) -> Line:
    return Line(no, "P", "P", D(qty), "kpl", D(price), D(rate), line_net(D(qty), D(price)), chargeable=chargeable)


# --- grouping and order --------------------------------------------------------------------


def test_one_invoice_per_customer_kind_and_invoice_date_in_arrival_order() -> None:
    requests = [
        req("A1", "C-1"),
        req("A2", "C-2"),
        req("A3", "C-1"),  # same customer, kind, date as A1: the same invoice
        req("A4", "C-1", kind="notice"),  # other kind: its own invoice
        req("A5", "C-1", on=date(2026, 12, 1)),  # other invoice date: its own invoice
    ]
    assert list(group(requests)) == [
        ("C-1", "subscription", DAY),
        ("C-2", "subscription", DAY),
        ("C-1", "notice", DAY),
        ("C-1", "subscription", date(2026, 12, 1)),
    ]
    invoices = build_invoices(requests)
    assert [(i.customer_number, i.kind, i.invoice_date, i.request_ids) for i in invoices] == [
        ("C-1", "subscription", DAY, ("A1", "A3")),
        ("C-2", "subscription", DAY, ("A2",)),
        ("C-1", "notice", DAY, ("A4",)),
        ("C-1", "subscription", date(2026, 12, 1), ("A5",)),
    ]
    # A1 + A3: 2 x 30.00 @ 10 % = 60.00, VAT 6.00, gross 66.00
    assert invoices[0].totals == Totals(D("60.00"), D("6.00"), D("66.00"))


def test_lines_follow_request_order_then_line_order_numbered_from_one() -> None:
    first = req("B1", "C-1", rl("HS", "1", "30.00", "10", period=NOVEMBER), rl("KUVA", "2", "12.10", "25.5"))
    second = req("B2", "C-1", rl("ILM", "3", "5.00", "25.5"))
    invoice = build_invoice([first, second])
    assert [(x.line_no, x.request_id, x.request_line, x.product_code, x.order_id) for x in invoice.lines] == [
        (1, "B1", 0, "HS", "O-B1"),
        (2, "B1", 1, "KUVA", "O-B1"),
        (3, "B2", 0, "ILM", "O-B2"),
    ]
    assert invoice.lines[0].service_period == NOVEMBER
    # nets: 1 x 30.00 = 30.00; 2 x 12.10 = 24.20; 3 x 5.00 = 15.00
    assert [x.net for x in invoice.lines] == [D("30.00"), D("24.20"), D("15.00")]
    # 10 %: 30.00 -> VAT 3.00; 25.5 %: 24.20 + 15.00 = 39.20 -> 39.20 x 0.255 = 9.996 -> 10.00
    assert invoice.vat_breakdown == (
        VatTotal(D(10), D("30.00"), D("3.00"), D("33.00")),
        VatTotal(D("25.5"), D("39.20"), D("10.00"), D("49.20")),
    )
    assert invoice.totals == Totals(D("69.20"), D("13.00"), D("82.20"))


def test_an_invoice_is_made_of_at_least_one_request_of_one_group() -> None:
    with pytest.raises(ValueError, match="at least one request"):
        build_invoice([])
    with pytest.raises(ValueError, match="share customer, kind and invoice date"):
        build_invoice([req("X1", "C-1"), req("X2", "C-2")])
    with pytest.raises(ValueError, match="share customer, kind and invoice date"):
        build_invoice([req("X1", "C-1"), req("X2", "C-1", kind="notice")])


# --- money ---------------------------------------------------------------------------------


def test_vat_is_rounded_once_per_invoice_per_rate_not_per_line() -> None:
    # three lines of 12.34 @ 25.5 %: per line 12.34 x 0.255 = 3.1467 -> 3.15, three of them 9.45;
    # per invoice: 3 x 12.34 = 37.02, 37.02 x 0.255 = 9.4401 -> 9.44 (the documented rule)
    invoice = build_invoice([req("V1", "C-1", *(rl("ILM", "1", "12.34", "25.5") for _ in range(3)))])
    assert invoice.vat_breakdown == (VatTotal(D("25.5"), D("37.02"), D("9.44"), D("46.46")),)
    assert invoice.totals == Totals(D("37.02"), D("9.44"), D("46.46"))


def test_line_net_and_vat_round_half_away_from_zero() -> None:
    # 2.5 x 0.97 = 2.425: a tie -> 2.43 (banker's rounding would give 2.42)
    assert line_net(D("2.5"), D("0.97")) == D("2.43")
    # a credit: -2.5 x 0.97 = -2.425 -> -2.43
    assert line_net(D("-2.5"), D("0.97")) == D("-2.43")
    # VAT on 3.00 @ 25.5 % = 0.765: a tie -> 0.77; on -3.00 -> -0.77 (banker's: 0.76 / -0.76)
    rows, _ = vat_breakdown([line(1, "1", "3.00", "25.5")])
    assert rows[0].vat == D("0.77")
    rows, totals = vat_breakdown([line(1, "-1", "3.00", "25.5")])
    assert rows[0].vat == D("-0.77")
    assert totals == Totals(D("-3.00"), D("-0.77"), D("-3.77"))


def test_negative_discount_lines_lower_their_rate_s_net_before_vat() -> None:
    # 10 %: 30.00 - 5.00 discount = 25.00, VAT 2.50, gross 27.50
    # 25.5 %: 2 x 12.10 = 24.20, discount 1 x -4.20 = -4.20 -> 20.00, VAT 5.10, gross 25.10
    invoice = build_invoice(
        [
            req(
                "D1",
                "C-1",
                rl("HS", "1", "30.00", "10"),
                rl("ALE", "1", "-5.00", "10", "Kestotilausalennus"),
                rl("KUVA", "2", "12.10", "25.5"),
                rl("ALE2", "1", "-4.20", "25.5"),
            )
        ]
    )
    assert [x.net for x in invoice.lines] == [D("30.00"), D("-5.00"), D("24.20"), D("-4.20")]
    assert invoice.vat_breakdown == (
        VatTotal(D(10), D("25.00"), D("2.50"), D("27.50")),
        VatTotal(D("25.5"), D("20.00"), D("5.10"), D("25.10")),
    )
    # totals: 45.00 net, 7.60 VAT, 52.60 gross
    assert invoice.totals == Totals(D("45.00"), D("7.60"), D("52.60"))


def test_rates_ascending_equal_rates_merged_non_chargeable_lines_left_out() -> None:
    rows, totals = vat_breakdown(
        [
            line(1, "1", "10.00", "25.5"),
            line(2, "1", "30.00", "10.00"),  # 10.00 and 10 are one rate
            line(3, "1", "20.00", "10"),
            line(4, "1", "99.00", "25.5", chargeable=False),  # not billed: in no sum
        ]
    )
    # 10 %: 30.00 + 20.00 = 50.00, VAT 5.00; 25.5 %: 10.00, VAT 2.55
    assert [(r.rate, r.net, r.vat, r.gross) for r in rows] == [
        (D(10), D("50.00"), D("5.00"), D("55.00")),
        (D("25.5"), D("10.00"), D("2.55"), D("12.55")),
    ]
    assert totals == Totals(D("60.00"), D("7.55"), D("67.55"))


def test_a_rate_of_ten_is_written_as_10_not_in_exponent_form() -> None:
    # Decimal("10.00").normalize() is Decimal("1E+1"): the documents would say "1E+1"
    rows, _ = vat_breakdown([line(1, "1", "30.00", "10.00"), line(2, "1", "10.00", "25.50")])
    assert [str(r.rate) for r in rows] == ["10", "25.5"]


def test_nothing_chargeable_means_no_rows_and_zero_totals() -> None:
    rows, totals = vat_breakdown([line(1, "1", "30.00", "10", chargeable=False)])
    assert rows == ()
    assert totals == Totals(D("0.00"), D("0.00"), D("0.00"))


# --- terms and due dates -------------------------------------------------------------------


def test_an_invoice_takes_the_longest_payment_terms_of_its_requests() -> None:
    invoice = build_invoice([req("T1", terms=14), req("T2", terms=30), req("T3", terms=21)])
    # max(14, 30, 21) = 30; 23.11.2026 + 30 days = 23.12.2026 (November has 30 days: 23 + 7 -> 30.11., + 23)
    assert (invoice.payment_terms_days, invoice.due_date) == (30, date(2026, 12, 23))


@pytest.mark.parametrize(
    ("invoice_date", "terms", "due"),
    [
        (date(2026, 11, 23), 0, date(2026, 11, 23)),  # due at once
        (date(2026, 12, 17), 14, date(2026, 12, 31)),  # 17 + 14 = 31: still December
        (date(2026, 12, 18), 14, date(2027, 1, 1)),  # 18 + 14 = 32 -> 1 January of the next year
        (date(2027, 2, 15), 14, date(2027, 3, 1)),  # 2027 is not a leap year: 15 + 14 = 29 -> 1 March
        (date(2028, 2, 15), 14, date(2028, 2, 29)),  # 2028 is: 29 February exists
        (date(2026, 1, 31), 30, date(2026, 3, 2)),  # 31.1. + 28 = 28.2., + 2 = 2.3.
        (date(2026, 11, 28), 14, date(2026, 12, 12)),  # a Saturday stays a Saturday (no banking-day shift)
    ],
)
def test_due_date_is_calendar_days_across_month_and_year_ends(invoice_date: date, terms: int, due: date) -> None:
    assert due_date(invoice_date, terms) == due


# --- a draft line's edit ---------------------------------------------------------------------


def test_edit_line_recomputes_the_net_and_keeps_the_other_lines() -> None:
    lines = [line(1, "1", "30.00", "10"), line(2, "8", "50.00", "25.5")]
    edited = edit_line(lines, 2, quantity=D("2.5"), chargeable=None)
    assert edited[0] is lines[0]
    # 2.5 x 50.00 = 125.00; still chargeable
    assert (edited[1].quantity, edited[1].net, edited[1].chargeable) == (D("2.5"), D("125.00"), True)
    # the invoice after the edit: 10 %: 30.00 -> 3.00; 25.5 %: 125.00 -> 31.875 -> 31.88
    rows, totals = vat_breakdown(edited)
    assert [(r.net, r.vat) for r in rows] == [(D("30.00"), D("3.00")), (D("125.00"), D("31.88"))]
    assert totals.gross == D("189.88")  # 155.00 + 34.88


def test_edit_line_marks_a_line_non_chargeable_and_back() -> None:
    lines = [line(1, "1", "30.00", "10"), line(2, "2", "12.10", "25.5")]
    off = edit_line(lines, 1, quantity=None, chargeable=False)
    assert (off[0].quantity, off[0].net, off[0].chargeable) == (D(1), D("30.00"), False)
    # only line 2 is billed: 24.20 @ 25.5 % -> 6.171 -> 6.17, gross 30.37
    assert vat_breakdown(off)[1] == Totals(D("24.20"), D("6.17"), D("30.37"))
    back = edit_line(off, 1, quantity=None, chargeable=True)
    assert back[0].chargeable is True


def test_edit_line_rounds_the_new_net_half_away_from_zero() -> None:
    # 2.5 x 0.97 = 2.425 -> 2.43
    [edited] = edit_line([line(1, "1", "0.97", "10")], 1, quantity=D("2.5"), chargeable=None)
    assert edited.net == D("2.43")


def test_edit_line_of_a_line_that_is_not_there() -> None:
    with pytest.raises(KeyError):
        edit_line([line(1, "1", "30.00", "10")], 2, quantity=D(1), chargeable=None)
