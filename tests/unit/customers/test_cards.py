"""Versions, diffs and profiles of customer cards."""

from services.customers.domain.cards import apply, profile, resolved_consumer
from shared.events.customers import CustomerData

COMPANY = CustomerData(
    customer_type="company", name="Oy Ab", business_id="0112038-9", email="a@b.fi", delivery_channel="email"
)


def test_first_version_of_a_card_is_one_and_lists_every_set_field() -> None:
    change = apply(None, "C-1", COMPANY)
    assert change is not None
    assert change.card.version == 1
    assert change.changes["name"] == [None, "Oy Ab"]


def test_the_same_data_again_makes_no_new_version() -> None:
    first = apply(None, "C-1", COMPANY)
    assert first is not None
    assert apply(first.card, "C-1", COMPANY.model_copy()) is None


def test_a_change_bumps_the_version_by_one_and_records_only_what_changed() -> None:
    first = apply(None, "C-1", COMPANY)
    assert first is not None
    second = apply(first.card, "C-1", COMPANY.model_copy(update={"email": "uusi@b.fi"}))
    assert second is not None
    assert second.card.version == 2
    assert second.changes == {"email": ["a@b.fi", "uusi@b.fi"]}


def test_profile_is_valid_only_without_errors_and_resolves_consumer_flag() -> None:
    change = apply(None, "C-2", COMPANY.model_copy(update={"name": None}))
    assert change is not None
    event = profile(change.card, change.errors)
    assert not event.valid
    assert [e.code for e in event.errors] == ["name_missing"]
    assert event.consumer is False
    assert resolved_consumer(CustomerData(customer_type="person")) is True
    assert resolved_consumer(CustomerData(customer_type="person", consumer=False)) is False
