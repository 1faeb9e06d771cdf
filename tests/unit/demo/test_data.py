"""The demo's data generator: valid Finnish identifiers, the shape the clerk's day needs,
and the same data for the same seed."""

from __future__ import annotations

import tomllib
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from stdnum.fi import ytunnus

from demo.data import DemoData, generate, ovt, rate_table, ytunnus_check_digit
from shared.finnish import is_valid_ovt

TODAY = date(2026, 11, 23)
VAT = Path(__file__).resolve().parents[3] / "services" / "invoicing" / "data" / "vat_rates.toml"
RATES = rate_table(tomllib.loads(VAT.read_text(encoding="utf-8"))["rate"])


@pytest.fixture(scope="module")
def data() -> DemoData:
    return generate(3000, 2026, TODAY, RATES)


def test_the_check_digit_of_a_known_business_id() -> None:
    # 0737546-2: 0*7 + 7*9 + 3*10 + 7*5 + 5*8 + 4*4 + 6*2 = 196; 196 mod 11 = 9; 11 - 9 = 2
    assert ytunnus_check_digit("0737546") == 2
    # 1572860-0: 7 + 45 + 70 + 10 + 64 + 24 + 0 = 220 = 20 * 11, remainder 0 -> check digit 0
    assert ytunnus_check_digit("1572860") == 0
    # remainder 1 has no check digit: 1000008 -> 1*7 + 8*2 = 23 = 2 * 11 + 1
    assert ytunnus_check_digit("1000008") is None


def test_every_company_has_a_business_id_python_stdnum_accepts(data: DemoData) -> None:
    companies = [c for c in data.customers if c.data.customer_type == "company"]
    assert len(companies) > 500
    for c in companies:
        assert c.data.business_id is not None
        assert ytunnus.is_valid(c.data.business_id), c.data.business_id


def test_e_invoice_addresses_are_ovt_of_the_business_id_at_a_known_operator(data: DemoData) -> None:
    einvoice = [c for c in data.customers if c.data.delivery_channel == "einvoice" and not c.broken]
    assert einvoice
    for c in einvoice:
        address, business_id = c.data.einvoice_address, c.data.business_id
        assert address is not None and business_id is not None
        assert address.startswith(ovt(business_id)), (address, business_id)
        assert is_valid_ovt(address)
        assert c.data.einvoice_operator is not None
    assert ovt("0737546-2") == "003707375462"


def test_all_three_channels_and_both_kinds_are_there(data: DemoData) -> None:
    channels = Counter(c.data.delivery_channel for c in data.customers)
    assert set(channels) == {"email", "einvoice", "print"}
    assert all(n >= 300 for n in channels.values()), channels
    assert sum(channels.values()) == 3000
    kinds = Counter(r.kind for r in data.requests)
    assert kinds["subscription"] > 2000  # 80 % of 3,000 customers plus every broken card
    assert 300 < kinds["notice"] < 1000
    assert data.counts["customers"] == 3000


def test_the_rates_are_those_of_the_vat_table_today() -> None:
    # the table: periodical subscriptions 10 % since 2013; general 25.5 % since 1.9.2024
    assert RATES("periodical-subscription", TODAY) == Decimal("10")
    assert RATES("general", TODAY) == Decimal("25.5")
    assert RATES("general", date(2024, 8, 31)) == Decimal("24")


def test_subscriptions_at_the_subscription_rate_and_notices_at_the_general_rate(data: DemoData) -> None:
    for r in data.requests:
        (line,) = r.lines
        if r.kind == "subscription":
            assert line.vat_rate == Decimal("10") and line.service_period is not None
        else:
            assert (line.vat_rate, line.vat_category) == (Decimal("25.5"), "general")


def test_a_small_share_of_cards_is_broken_each_with_its_fix(data: DemoData) -> None:
    broken = data.broken()
    assert len(broken) == 75  # round(3000 * 0.025)
    for c in broken:
        assert c.fix, c.number
        if c.broken == "einvoice_address_missing":
            assert c.data.delivery_channel == "einvoice" and c.data.einvoice_address is None
        elif c.broken == "postal_code_missing":
            assert c.data.delivery_channel == "print"
            assert c.data.address is not None and c.data.address.postal_code is None
        else:
            assert (c.broken, c.data.delivery_channel, c.data.email) == ("email_missing", "email", None)
    requested = {r.customer_number for r in data.requests if r.kind == "subscription"}
    assert {c.number for c in broken} <= requested  # each shows virhe in today's fetch


def test_history_is_two_earlier_months_with_paid_partial_and_unpaid(data: DemoData) -> None:
    days = Counter(h.request.invoice_date for h in data.history)
    assert set(days) == {TODAY - timedelta(days=70), TODAY - timedelta(days=45)}
    plans = Counter(h.plan for h in data.history)
    assert plans["paid"] > plans["unpaid"] > plans["partial"] > 0
    for h in data.history:
        if h.plan == "partial":
            assert Decimal("0.4") <= h.paid_share <= Decimal("0.6")
    assert data.first_reminder_on == TODAY - timedelta(days=25)
    broken = {c.number for c in data.broken()}
    assert not broken & {h.request.customer_number for h in data.history}


def test_cancellations_name_orders_of_todays_notice_requests(data: DemoData) -> None:
    orders = {r.order_id: r for r in data.requests}
    assert data.cancellations
    for x in data.cancellations:
        assert orders[x.order_id].kind == "notice"
        assert orders[x.order_id].customer_number == x.customer_number


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(data: DemoData) -> None:
    again = generate(3000, 2026, TODAY, RATES)
    assert again.upserts() == data.upserts()
    assert again.requests == data.requests
    assert again.history == data.history
    other = generate(3000, 7, TODAY, RATES)
    assert other.upserts() != data.upserts()
