"""The e2e test's data set: small and made by hand, so that every number the clerk
sees during the day can be worked out on paper. The arithmetic is in the comments;
``test_clerks_day`` asserts these numbers and nothing copied from the code under test.

Calendar (the clerk's day is Monday 23.11.2026; the reference-rate table has no row for
the second half of 2026, so penalty interest is 0.00 on every reminder of this data set
and the days are named "not charged"):

Reminders wait full days (policy.toml): a consumer's 14 full days after the due date or
the previous reminder (the 14th day is too early: + 15), a business's 10 (+ 11).

- 15.9.2026 history invoices A (terms 14 -> due 29.9.2026), reminder #1 made 20.10.2026
  (consumer: due + 15 = 14.10 <= 20.10; business: due + 11 = 10.10 <= 20.10);
- 15.10.2026 history invoices B (due 29.10.2026): reminder #1 today (consumer: due + 15 =
  13.11 <= 23.11; business: due + 11 = 9.11);
- 2.11.2026 history invoices C (due 16.11.2026): overdue but too early today (consumer:
  earliest 16.11 + 15 = 1.12; business: earliest 16.11 + 11 = 27.11);
- 23.11.2026 today's requests (terms 14 -> due 7.12.2026).

Every history invoice is one month of Helsingin Sanomat: 1 x 30.00 @ 10 % = net 30.00,
VAT 3.00, gross 33.00.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from tests.support.sales import request

D = Decimal
TODAY = "2026-11-23"
HISTORY_REMINDER_DAY = "2026-10-20"
HISTORY_UP_TO = "2026-11-22"

# ---------------------------------------------------------------------------- customers
# Y-tunnus check digit: weights 7,9,10,5,8,4,2 over the seven digits, r = sum mod 11,
# check = 0 when r = 0, else 11 - r. Bases 200000k: 2*7 + k*2 = 14 + 2k:
#   k=1: 16 mod 11 = 5 -> 6   k=2: 18 -> 7 -> 4   k=3: 20 -> 9 -> 2   k=4: 22 -> 0 -> 0
#   k=5: 24 -> 2 -> 9         k=6: 26 -> 4 -> 7   k=7: 28 -> 6 -> 5
# OVT (e-invoice address) = 0037 + the eight digits.
YTUNNUS = {
    1: "2000001-6",
    2: "2000002-4",
    3: "2000003-2",
    4: "2000004-0",
    5: "2000005-9",
    6: "2000006-7",
    7: "2000007-5",
}
OPERATOR = "003721291126"


def _address(street: str, postal: str | None = "00100", city: str = "Helsinki") -> dict[str, Any]:
    return {"street_lines": [street], "postal_code": postal, "city": city, "country": "FI"}


def person(n: str, channel: Literal["email", "print"], **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "customer_type": "person",
        "name": f"Testi Henkilö {n}",
        "address": _address(f"Kotikatu {n[1:]}", "33100", "Tampere"),
        "email": f"{n.lower()}@example.com",
        "delivery_channel": channel,
        "language": "fi",
    }
    data.update(over)
    return data


def company(n: str, k: int, channel: Literal["einvoice", "print"], **over: Any) -> dict[str, Any]:
    ytunnus = YTUNNUS[k]
    data: dict[str, Any] = {
        "customer_type": "company",
        "name": f"Testiyhtiö {n} Oy",
        "business_id": ytunnus,
        "address": _address(f"Teollisuustie {k}"),
        "einvoice_address": "0037" + ytunnus.replace("-", ""),
        "einvoice_operator": OPERATOR,
        "delivery_channel": channel,
        "language": "fi",
    }
    data.update(over)
    return data


EMAIL = [f"E0{k}" for k in range(1, 9)]  # 8 persons by e-mail
EINVOICE = [f"Y0{k}" for k in range(1, 6)]  # 5 companies by e-invoice
PRINT = ["P01", "P02", "P03", "P04"]  # 3 persons and 1 company on paper
BROKEN = ["B01", "B02", "B03"]

CUSTOMERS: dict[str, dict[str, Any]] = {
    **{n: person(n, "email") for n in EMAIL},
    **{n: company(n, k, "einvoice") for k, n in enumerate(EINVOICE, start=1)},
    "P01": person("P01", "print"),
    "P02": person("P02", "print"),
    "P03": person("P03", "print"),
    "P04": company("P04", 6, "print"),
    # broken billing data, one per channel (fixed by the clerk in step 10):
    "B01": person("B01", "email", email="b01@"),  # email_invalid
    "B02": company("B02", 7, "einvoice", einvoice_operator=None),  # einvoice_operator_missing
    "B03": person("B03", "print", address=_address("Kotikatu 3", None, "Tampere")),  # postal_code_missing
}
BROKEN_CODES = {"B01": "email_invalid", "B02": "einvoice_operator_missing", "B03": "postal_code_missing"}
FIXES: dict[str, dict[str, Any]] = {
    "B01": {"email": "b01@example.com"},
    "B02": {"einvoice_operator": OPERATOR},
    "B03": {"address": {"postal_code": "33100"}},
}
CONSUMER = {n: CUSTOMERS[n]["customer_type"] == "person" for n in CUSTOMERS}
CHANNEL = {n: CUSTOMERS[n]["delivery_channel"] for n in CUSTOMERS}

# -------------------------------------------------------------------- earlier invoices
HS_1KK = ("HS-1KK", "Helsingin Sanomat 1 kk", "1", "30.00", "10", ("2026-11-01", "2026-11-30"))
HISTORY_A = ["E01", "E02", "P01", "Y01"]  # 15.9.2026
HISTORY_B = ["E03", "E04", "E05", "P02", "Y02", "Y03"]  # 15.10.2026
HISTORY_C = ["E06", "Y04"]  # 2.11.2026
HISTORY_DATES = {**dict.fromkeys(HISTORY_A, "2026-09-15"), **dict.fromkeys(HISTORY_B, "2026-10-15")}
HISTORY_DATES.update(dict.fromkeys(HISTORY_C, "2026-11-02"))


def history_requests() -> list[dict[str, Any]]:
    return [
        request(f"H-{c}", c, invoice_date=day, lines=(HS_1KK,), order_id=f"O-H-{c}")
        for c, day in sorted(HISTORY_DATES.items())
    ]


# The history run: 12 invoices x 33.00: net 360.00, VAT 36.00, gross 396.00; channels:
# e-mail E01-E06 = 6, e-invoice Y01-Y04 = 4, print P01, P02 = 2.
HISTORY_INVOICES = 12
HISTORY_GROSS = D("396.00")
HISTORY_BY_CHANNEL = {"email": 6, "einvoice": 4, "print": 2}

# History reminder #1 on 20.10.2026 for A (open 33.00 each, interest 0.00):
# consumer E01, E02, P01: 33.00 + fee 5.00 = 38.00; business Y01: fee 12.00 counts
# against the 40.00 compensation -> fee 0.00, compensation 40.00, 33.00 + 40.00 = 73.00.
HISTORY_REMINDERS = {"E01": D("38.00"), "E02": D("38.00"), "P01": D("38.00"), "Y01": D("73.00")}

# Reference payments (the bank import), after the history reminders:
#   E02 pays its A invoice in full (33.00) on 25.10 -> settled late
#   P01 pays 10.00 of its A invoice on 10.11 -> open 23.00
#   Y03 pays its B invoice in full on 28.10, before the due date 29.10
#   E04 pays its B invoice in full on 5.11 -> settled late
#   E05 pays 20.00 of its B invoice on 10.11 -> open 13.00
PAYMENTS = [
    ("PAY-1", "E02", "33.00", "2026-10-25"),
    ("PAY-2", "P01", "10.00", "2026-11-10"),
    ("PAY-3", "Y03", "33.00", "2026-10-28"),
    ("PAY-4", "E04", "33.00", "2026-11-05"),
    ("PAY-5", "E05", "20.00", "2026-11-10"),
]
PAID_TOTAL = D("129.00")  # 33 + 10 + 33 + 33 + 20

# ------------------------------------------------------------------ today's reminders
# #1 today: near = B and C invoices (overdue, no reminder yet).
#   E03 38.00 (33.00 + 5.00), E05 18.00 (13.00 + 5.00), P02 38.00, Y02 73.00 (33.00 + 40.00)
#   -> 4 candidates, 38 + 18 + 38 + 73 = 167.00
#   left out: E04 paid (settled 5.11 after due 29.10, 18 days ago <= 30-day window),
#   E06 and Y04 too_early; Y03 is not listed (settled before its due date).
REMINDER1 = {"E03": D("38.00"), "E05": D("18.00"), "P02": D("38.00"), "Y02": D("73.00")}
REMINDER1_TOTAL = D("167.00")
REMINDER1_LEFT_OUT = {"paid": 1, "too_early": 2}
# #2 today: near = A invoices (reminder #1 on 20.10; consumer + 15 = 4.11, business
# + 11 = 31.10, both <= 23.11).
#   E01 38.00 (33.00 + 5.00), P01 28.00 (23.00 + 5.00), Y01 33.00 (fees 12 + 12 = 24.00
#   still within the 40.00 compensation already charged: fee 0.00, compensation 0.00)
#   -> 3 candidates, 38 + 28 + 33 = 99.00; left out: E02 paid (settled 25.10, 29 days ago)
#   and the four invoices given reminder #1 a moment ago, too early for #2 (consumer
#   E03, E05, P02: 23.11 + 15 = 8.12.2026; business Y02: 23.11 + 11 = 4.12.2026).
REMINDER2 = {"E01": D("38.00"), "P01": D("28.00"), "Y01": D("33.00")}
REMINDER2_TOTAL = D("99.00")
REMINDER2_LEFT_OUT = {"paid": 1, "too_early": 4}

# ------------------------------------------------------------------- today's requests
SUBSCRIPTION_PERSON = ("HS-1KK", "Helsingin Sanomat 1 kk", "1", "30.00", "10", ("2026-12-01", "2026-12-31"))
SUBSCRIPTION_COMPANY = ("HS-1KK", "Helsingin Sanomat 1 kk", "3", "30.00", "10", ("2026-12-01", "2026-12-31"))
NOTICE = ("ILM-1", "Ilmoitus 2x50 mm", "2", "12.10", "25.5", None)

SUBSCRIBERS = [*EMAIL, *EINVOICE, *PRINT, *BROKEN]
NOTICE_CUSTOMERS = ["E01", "E02", "Y01", "Y02", "P01", "B02"]


def subscription_requests() -> list[dict[str, Any]]:
    out = []
    for c in SUBSCRIBERS:
        line = SUBSCRIPTION_COMPANY if c.startswith("Y") else SUBSCRIPTION_PERSON
        out.append(request(f"S-{c}", c, lines=(line,), order_id=f"O-S-{c}"))
    # a second order of E07, cancelled after it was submitted
    out.append(request("S-E07-2", "E07", lines=(SUBSCRIPTION_PERSON,), order_id="O-CANCEL-1"))
    return out


def notice_requests() -> list[dict[str, Any]]:
    out = [request(f"N-{c}", c, kind="notice", lines=(NOTICE,), order_id=f"O-N-{c}") for c in NOTICE_CUSTOMERS]
    out.append(request("N-Y03", "Y03", kind="notice", lines=(NOTICE,), order_id="O-CANCEL-3"))  # cancelled
    return out


# Cancellations: E07's second order (subscription), Y05's only subscription order, Y03's notice.
CANCELLATIONS = [("O-CANCEL-1", "E07"), ("O-S-Y05", "Y05"), ("O-CANCEL-3", "Y03")]

# Subscription requests: 8 + 5 + 4 + 3 + 1 = 21; cancelled 2 (S-E07-2, S-Y05); the list
# shows ready + error = 19: ready 16, error 3 (B01-B03) until the fix.
SUBSCRIPTION_LISTED = 19
SUBSCRIPTION_ERRORS = 3
SUBSCRIPTION_CANCELLED_REQUESTS = 2
SUBSCRIPTION_CANCELLED_ORDERS = 2
# The subscription run (after the fix): 19 invoices, one per customer, VAT 10 %.
#   one copy (1 x 30.00): E01-E08, P01-P04, B01-B03 = 15 x 30.00 = 450.00
#   three copies (3 x 30.00 = 90.00): Y01-Y04 = 4 x 90.00 = 360.00
#   net 810.00; each invoice's VAT is exactly net x 0.10: 81.00; gross 891.00.
#   channels: e-mail E01-E08 + B01 = 9; e-invoice Y01-Y04 + B02 = 5; print P01-P04 + B03 = 5.
SUBSCRIPTION_RUN = {
    "invoices": 19,
    "requests": 19,
    "net": D("810.00"),
    "vat": D("81.00"),
    "gross": D("891.00"),
    "by_channel": {"einvoice": 5, "email": 9, "print": 5},
    "left_out": 2,  # S-E07-2 and S-Y05, their orders cancelled
}
# Notice requests: 7; cancelled 1 (N-Y03); the list shows 6 ready, 0 errors (B02 was fixed).
# The notice run: 6 invoices of 2 x 12.10 = 24.20 net, VAT 24.20 x 0.255 = 6.171 -> 6.17,
# gross 30.37 each: net 145.20, VAT 37.02, gross 182.22.
# channels: e-mail E01, E02 = 2; e-invoice Y01, Y02, B02 = 3; print P01 = 1.
NOTICE_RUN = {
    "invoices": 6,
    "requests": 6,
    "net": D("145.20"),
    "vat": D("37.02"),
    "gross": D("182.22"),
    "by_channel": {"einvoice": 3, "email": 2, "print": 1},
    "left_out": 1,  # N-Y03, its order cancelled
}


def gross_of_subscription(customer: str) -> Decimal:
    """Gross of today's subscription invoice: 3 copies for Y01-Y04 (99.00), else 33.00."""
    return D("99.00") if customer in ("Y01", "Y02", "Y03", "Y04") else D("33.00")


# ----------------------------------------------------------------------- dispatch
# Documents waiting when the clerk opens the Sending tab, per channel:
#                      e-mail  e-invoice  print
#   history invoices       6        4        2
#   history reminders      2        1        1     (E01, E02 | Y01 | P01)
#   reminders #1 today     2        1        1     (E03, E05 | Y02 | P02)
#   reminders #2 today     1        1        1     (E01 | Y01 | P01)
#   subscription run       9        5        5
#   notice run             2        3        1
#   total                 22       15       11     = 48
WAITING = {"email": 22, "einvoice": 15, "print": 11}


# Sums that must agree between the services.
INVOICES_GROSS = D("1469.22")  # 396.00 + 891.00 + 182.22
REMINDERS_TOTAL = D("453.00")  # history 38 + 38 + 38 + 73 = 187.00; + 167.00 + 99.00
OPEN_AFTER_PAYMENTS = D("1340.22")  # 1469.22 - 129.00
