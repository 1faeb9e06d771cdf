"""Billing-data rules of the customers service (pure functions)."""

from typing import Any

import pytest

from services.customers.domain.rules import validate
from shared.events.customers import CustomerData


def card(**overrides: Any) -> CustomerData:
    base: dict[str, Any] = {
        "customer_type": "company",
        "name": "Kustannus Oy",
        "business_id": "0112038-9",
        "address": {"street_lines": ["Aleksanterinkatu 9"], "postal_code": "00100", "city": "Helsinki"},
        "email": "laskut@example.fi",
        "einvoice_address": "003701120389",
        "einvoice_operator": "003721291126",
        "delivery_channel": "print",
        "language": "fi",
    }
    base.update(overrides)
    return CustomerData.model_validate(base)


def codes(data: CustomerData) -> list[str]:
    return [e.code for e in validate(data)]


@pytest.mark.parametrize("channel", ["email", "einvoice", "print"])
def test_complete_card_is_valid_on_every_channel(channel: str) -> None:
    assert codes(card(delivery_channel=channel)) == []


def test_every_error_is_reported_at_once_with_field_and_both_languages() -> None:
    errors = validate(card(name="", business_id="1234568-1", language="de", delivery_channel="email", email=None))
    assert [(e.code, e.field) for e in errors] == [
        ("name_missing", "name"),
        ("business_id_invalid", "business_id"),
        ("email_missing", "email"),
        ("language_unsupported", "language"),
    ]
    assert all(e.message_fi and e.message_en and e.message_fi != e.message_en for e in errors)


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("matti.meikalainen@example.fi", []),
        ("laskutus+lehti@yritys.example.com", []),
        ("matti@", ["email_invalid"]),
        ("matti.example.fi", ["email_invalid"]),
        ("matti@@example.fi", ["email_invalid"]),
        ("   ", ["email_missing"]),
    ],
)
def test_email_channel_needs_a_syntactically_valid_address(email: str, expected: list[str]) -> None:
    assert codes(card(delivery_channel="email", email=email)) == expected


def test_email_is_not_required_when_another_channel_is_used() -> None:
    assert codes(card(delivery_channel="print", email=None)) == []


@pytest.mark.parametrize(
    ("address", "operator", "expected"),
    [
        ("003701120389", "003721291126", []),
        ("00370112038912345", "NDEAFIHH", []),
        ("FI2112345600000785", "OKOYFIHH", []),
        ("003701120388", "003721291126", ["einvoice_address_invalid"]),
        ("FI2112345600000786", "OKOYFIHH", ["einvoice_address_invalid"]),
        (None, None, ["einvoice_address_missing", "einvoice_operator_missing"]),
        ("003701120389", "nordea bank", ["einvoice_operator_invalid"]),
    ],
)
def test_einvoice_channel_needs_address_and_operator(
    address: str | None, operator: str | None, expected: list[str]
) -> None:
    data = card(delivery_channel="einvoice", einvoice_address=address, einvoice_operator=operator)
    assert codes(data) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ({"street_lines": ["Kotikatu 1 A 2"], "postal_code": "33100", "city": "Tampere"}, []),
        ({"street_lines": ["Kotikatu 1"], "postal_code": "3310", "city": "Tampere"}, ["postal_code_invalid"]),
        ({"street_lines": ["Kotikatu 1"], "postal_code": "FI-33100", "city": "Tampere"}, ["postal_code_invalid"]),
        (
            {"street_lines": [], "postal_code": None, "city": ""},
            ["street_missing", "postal_code_missing", "city_missing"],
        ),
        (
            {"street_lines": ["Storgatan 1"], "postal_code": "111 22", "city": "Stockholm", "country": "SE"},
            [],
        ),
        ({"street_lines": ["Main St 1"], "postal_code": "1", "city": "X", "country": "XX"}, ["country_invalid"]),
        ({"street_lines": ["Main St 1"], "postal_code": "1", "city": "X", "country": "FIN"}, ["country_invalid"]),
    ],
)
def test_print_channel_needs_a_complete_postal_address(address: dict[str, Any], expected: list[str]) -> None:
    assert codes(card(delivery_channel="print", address=address)) == expected


def test_print_channel_without_any_address() -> None:
    assert codes(card(delivery_channel="print", address=None)) == ["address_missing"]


def test_business_id_is_required_for_companies_only() -> None:
    assert codes(card(customer_type="company", business_id=None)) == ["business_id_missing"]
    assert codes(card(customer_type="person", business_id=None)) == []


@pytest.mark.parametrize(("language", "ok"), [("fi", True), ("sv", True), ("en", True), ("de", False), ("FI", False)])
def test_supported_languages(language: str, ok: bool) -> None:
    assert (codes(card(language=language)) == []) is ok


EMAIL_SAMPLES = [
    "a@b.fi",
    "matti.meikalainen@example.fi",
    "x+tag@sub.domain.example.com",
    "o'brien@example.ie",
    "first.last@a-b.fi",
    "user@localhost",
    "user@host.local",
    "user@site.test",
    "user@x.invalid",
    "a..b@example.fi",
    ".a@example.fi",
    "a.@example.fi",
    "a@-example.fi",
    "a@example-.fi",
    "a@example.f",
    "a@example.123",
    "a@example",
    "a@@example.fi",
    "a b@example.fi",
    "ääkkönen@esimerkki.fi",
    "user@ääkköset.fi",
    "verylonglocalpart" * 5 + "@example.fi",
    "a@" + "b" * 64 + ".fi",
    '"quoted"@example.fi',
    "a@[127.0.0.1]",
]


@pytest.mark.parametrize("address", EMAIL_SAMPLES)
def test_fast_email_check_agrees_with_email_validator(address: str) -> None:
    from email_validator import EmailNotValidError, validate_email

    from services.customers.domain.rules import is_valid_email

    try:
        validate_email(address, check_deliverability=False)
        expected = True
    except EmailNotValidError:
        expected = False
    assert is_valid_email(address) is expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("FI21 1234 5600 0007 85", ["einvoice_address_invalid"]),  # printed form: not as Finvoice needs it
        ("fi2112345600000785", ["einvoice_address_invalid"]),
        ("DE0537040044053201300A", ["einvoice_address_invalid"]),  # mod 97 holds, German BBAN does not
    ],
)
def test_einvoice_address_iban_must_be_electronic_and_valid_for_its_country(address: str, expected: list[str]) -> None:
    assert codes(card(delivery_channel="einvoice", einvoice_address=address, einvoice_operator="OKOYFIHH")) == expected


def test_email_with_surrounding_spaces_is_invalid_not_silently_trimmed() -> None:
    assert codes(card(delivery_channel="email", email=" laskut@example.fi")) == ["email_invalid"]
