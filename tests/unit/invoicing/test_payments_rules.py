"""Payment rules (``services.invoicing.domain.payments``), hand-computed: which national
reference a bank's reference text stands for, and an invoice's payment status.

References used (7-3-1 weights from the right of the base, check = up to the next ten):
- 1000000001 -> 1*7 + 1*7 = 14 -> 6: ``10000000016``;
- the issue's 1234567 -> 7*7 + 6*3 + 5*1 + 4*7 + 3*3 + 2*1 + 1*7 = 49+18+5+28+9+2+7 = 118
  -> 2: ``12345672``;
- 123 (the shortest base) -> 3*7 + 2*3 + 1*1 = 28 -> 2: ``1232``;
- RF of ``10000000016``: digits of 10000000016 + "RF00" (R=27, F=15) = 10000000016271500,
  mod 97 = 6, check 98 - 6 = 92: ``RF92 1000 0000 016``; the same number with the body
  padded, ``0010000000016``, is the same integer, so ``RF920010000000016`` is valid too;
- ISO 11649's own example ``RF18 5390 0754 7034``: a valid RF whose body is no national
  reference (base 53900754703 -> 3*7+0*3+7*1+4*7+5*3+7*1+0*7+0*3+9*1+3*7+5*3 = 123 -> 7, not 4).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.invoicing.domain.payments import Balance, became_settled, normalise_reference

D = Decimal


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        ("10000000016", "10000000016"),
        ("1 00000 00016", "10000000016"),  # as printed, groups of five
        ("  1 0000 0000 16 ", "10000000016"),  # any spacing
        ("00000000010000000016", "10000000016"),  # padded to 20 digits by the bank
        ("RF92 1000 0000 016", "10000000016"),  # the RF form as printed
        ("rf9210000000016", "10000000016"),  # lower case, no spaces
        ("RF92 0010 0000 0001 6", "10000000016"),  # RF over a zero-padded body
        ("123 45672", "12345672"),
        ("1232", "1232"),  # the shortest reference: 3-digit base + check
    ],
)
def test_a_bank_reference_stands_for_the_national_reference(text: str, reference: str) -> None:
    assert normalise_reference(text) == reference


@pytest.mark.parametrize(
    "text",
    [
        "10000000017",  # wrong check digit (6 is right)
        "RF93 1000 0000 016",  # wrong RF check digits (92 is right)
        "RF18 5390 0754 7034",  # a valid RF, but its body is no national reference
        "RF92",  # nothing after the check digits
        "",
        "    ",
        "0000",  # only padding
        "123",  # too short: a 2-digit base
        "ABC123",
        "1 00000 00016 EUR",
    ],
)
def test_what_is_no_reference_matches_nothing(text: str) -> None:
    assert normalise_reference(text) is None


# --- balances ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gross", "credited", "paid", "open_amount", "status", "settled"),
    [
        ("33.00", "0", "0", "33.00", "open", False),
        ("33.00", "0", "10.00", "23.00", "partially-paid", False),  # 33.00 - 10.00
        ("33.00", "0", "33.00", "0.00", "paid", True),
        ("33.00", "0", "40.00", "-7.00", "overpaid", True),  # 33.00 - 40.00: the clerk refunds 7.00
        ("33.00", "-33.00", "0", "0.00", "credited", True),  # a credit note of the whole invoice
        ("33.00", "-40.00", "0", "-7.00", "credited", True),  # credited more than billed
        ("96.37", "-15.19", "0", "81.18", "open", False),  # the CLI test's credit note: 96.37 - 15.19
        ("96.37", "-15.19", "81.18", "0.00", "paid", True),  # ... and the rest paid
        ("96.37", "-15.19", "50.00", "31.18", "partially-paid", False),  # 81.18 - 50.00
        ("33.00", "-10.00", "33.00", "-10.00", "overpaid", True),  # paid in full, then credited 10.00
        ("0.00", "0", "0", "0.00", "paid", True),  # an invoice of nothing (a full discount): nothing is due
    ],
)
def test_open_amount_status_and_settled(
    gross: str, credited: str, paid: str, open_amount: str, status: str, settled: bool
) -> None:
    b = Balance(D(gross), D(credited), D(paid))
    assert (b.open_amount, b.status, b.settled) == (D(open_amount), status, settled)


def test_settled_once_when_the_open_amount_first_reaches_zero() -> None:
    due = Balance(D("33.00"), D(0), D(0))
    part = Balance(D("33.00"), D(0), D("10.00"))
    paid = Balance(D("33.00"), D(0), D("33.00"))
    over = Balance(D("33.00"), D(0), D("40.00"))
    credited = Balance(D("33.00"), D("-33.00"), D(0))
    assert became_settled(due, paid) and became_settled(part, paid)
    assert became_settled(part, over)  # a partial payment, then too much: settled by this one
    assert became_settled(due, credited)  # a full credit note settles too
    assert not became_settled(due, part)
    assert not became_settled(paid, over)  # settled already: no second event
    assert not became_settled(paid, paid)
