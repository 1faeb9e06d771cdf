"""Field ownership: a clerk's fix survives CRM upserts that leave the field alone."""

from datetime import UTC, datetime, timedelta
from typing import Any

from services.customers.domain.ownership import is_stale, merge_upsert
from shared.events.customers import CustomerData


def data(**overrides: Any) -> CustomerData:
    base: dict[str, Any] = {
        "customer_type": "company",
        "name": "Kustannus Oy",
        "business_id": "0112038-9",
        "address": {"street_lines": ["Aleksanterinkatu 9"], "postal_code": "0010", "city": "Helsinki"},
        "email": "laskut@example",
        "delivery_channel": "email",
    }
    base.update(overrides)
    return CustomerData.model_validate(base)


CRM_1 = data()
CLERK_FIXED = data(email="laskut@example.fi", address={**CRM_1.model_dump()["address"], "postal_code": "00100"})


def test_first_upsert_applies_everything() -> None:
    assert merge_upsert(None, None, CRM_1) == CRM_1


def test_clerk_fix_survives_an_upsert_that_changes_other_fields() -> None:
    after = merge_upsert(CLERK_FIXED, CRM_1, data(name="Kustannus Oyj", einvoice_operator="003721291126"))
    assert after.email == "laskut@example.fi"
    assert after.name == "Kustannus Oyj"
    assert after.einvoice_operator == "003721291126"


def test_crm_wins_a_field_it_changes() -> None:
    after = merge_upsert(CLERK_FIXED, CRM_1, data(email="uusi@example.fi"))
    assert after.email == "uusi@example.fi"


def test_the_same_upsert_again_changes_nothing_on_a_fixed_card() -> None:
    assert merge_upsert(CLERK_FIXED, CRM_1, CRM_1) == CLERK_FIXED


def test_address_is_owned_per_sub_field() -> None:
    moved = data(address={"street_lines": ["Aleksanterinkatu 9"], "postal_code": "0010", "city": "Espoo"})
    after = merge_upsert(CLERK_FIXED, CRM_1, moved)
    assert after.address is not None
    assert (after.address.postal_code, after.address.city) == ("00100", "Espoo")


def test_crm_removing_or_adding_an_address_wins_it_whole() -> None:
    assert merge_upsert(CLERK_FIXED, CRM_1, data(address=None)).address is None
    no_address = data(address=None)
    added = data(address={"street_lines": ["Uusi 1"], "postal_code": "33100", "city": "Tampere"})
    assert merge_upsert(no_address, no_address, added).address == added.address


def test_an_upsert_older_than_the_last_applied_is_stale_and_the_same_time_is_not() -> None:
    now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert is_stale(now, now - timedelta(seconds=1))
    assert not is_stale(now, now)
    assert not is_stale(None, now)
