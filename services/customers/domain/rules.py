"""Billing-data validation rules (seed steps 9–12: the errors the clerk fixes).

Each rule is a pure function of the card's data returning the problems it finds, each
with a stable code, the field it concerns and a message in Finnish and English. A card
may break several rules at once; :func:`validate` reports all of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pycountry
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from services.customers.domain.identifiers import OPERATOR_CODE
from shared.events.customers import CustomerData, ProfileError
from shared.finnish import is_electronic_iban, is_valid_business_id, is_valid_ovt

SUPPORTED_LANGUAGES = ("fi", "sv", "en")
_FI_POSTAL_CODE = re.compile(r"[0-9]{5}")

Rule = Callable[[CustomerData], list[ProfileError]]

# The common case, checked without email_validator (which costs ~0.15 ms an address):
# a plain ASCII dot-atom local part and a host name with an alphabetic top-level label.
# Only addresses email_validator accepts too match it (tests/unit/customers check both
# agree); anything else, international addresses included, goes to email_validator.
_PLAIN_EMAIL = re.compile(
    r"^(?=.{6,254}$)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63})$"
)
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)


def is_valid_email(address: str) -> bool:
    match = _PLAIN_EMAIL.match(address)
    if match and len(address.split("@", 1)[0]) <= 64 and match.group(1).lower() not in _SPECIAL_USE:
        return True
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _err(code: str, field: str, fi: str, en: str) -> ProfileError:
    return ProfileError(code=code, field=field, message_fi=fi, message_en=en)


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def name_present(c: CustomerData) -> list[ProfileError]:
    if _blank(c.name):
        return [_err("name_missing", "name", "Nimi puuttuu.", "Name is missing.")]
    return []


def business_id_valid(c: CustomerData) -> list[ProfileError]:
    if c.customer_type != "company":
        return []
    if _blank(c.business_id):
        return [_err("business_id_missing", "business_id", "Y-tunnus puuttuu.", "Business ID is missing.")]
    assert c.business_id is not None
    if not is_valid_business_id(c.business_id):
        return [
            _err(
                "business_id_invalid",
                "business_id",
                "Y-tunnus on virheellinen (muoto 1234567-8 ja tarkistusmerkki).",
                "Business ID is invalid (format 1234567-8 and check digit).",
            )
        ]
    return []


def email_channel_ready(c: CustomerData) -> list[ProfileError]:
    if c.delivery_channel != "email":
        return []
    if _blank(c.email):
        return [_err("email_missing", "email", "Sähköpostiosoite puuttuu.", "E-mail address is missing.")]
    assert c.email is not None
    if not is_valid_email(c.email):
        return [_err("email_invalid", "email", "Sähköpostiosoite on virheellinen.", "E-mail address is invalid.")]
    return []


def einvoice_channel_ready(c: CustomerData) -> list[ProfileError]:
    if c.delivery_channel != "einvoice":
        return []
    errors = []
    if _blank(c.einvoice_address):
        errors.append(
            _err(
                "einvoice_address_missing",
                "einvoice_address",
                "Verkkolaskuosoite puuttuu.",
                "E-invoice address is missing.",
            )
        )
    else:
        assert c.einvoice_address is not None
        address = c.einvoice_address
        if not (is_valid_ovt(address) or is_electronic_iban(address)):
            errors.append(
                _err(
                    "einvoice_address_invalid",
                    "einvoice_address",
                    "Verkkolaskuosoite on virheellinen (OVT 0037 + Y-tunnus + tarkenne tai IBAN).",
                    "E-invoice address is invalid (OVT 0037 + business ID + suffix, or an IBAN).",
                )
            )
    if _blank(c.einvoice_operator):
        errors.append(
            _err(
                "einvoice_operator_missing",
                "einvoice_operator",
                "Välittäjätunnus puuttuu.",
                "E-invoice operator (intermediator) code is missing.",
            )
        )
    else:
        assert c.einvoice_operator is not None
        if not OPERATOR_CODE.fullmatch(c.einvoice_operator):
            errors.append(
                _err(
                    "einvoice_operator_invalid",
                    "einvoice_operator",
                    "Välittäjätunnus on virheellinen.",
                    "E-invoice operator code is invalid.",
                )
            )
    return errors


def print_channel_ready(c: CustomerData) -> list[ProfileError]:
    if c.delivery_channel != "print":
        return []
    a = c.address
    if a is None:
        return [_err("address_missing", "address", "Postiosoite puuttuu.", "Postal address is missing.")]
    errors = []
    if not any(line.strip() for line in a.street_lines):
        errors.append(
            _err("street_missing", "address.street_lines", "Katuosoite puuttuu.", "Street address is missing.")
        )
    if _blank(a.postal_code):
        errors.append(
            _err("postal_code_missing", "address.postal_code", "Postinumero puuttuu.", "Postal code is missing.")
        )
    elif a.country.upper() == "FI" and not _FI_POSTAL_CODE.fullmatch(a.postal_code or ""):
        errors.append(
            _err(
                "postal_code_invalid",
                "address.postal_code",
                "Suomalainen postinumero on viisi numeroa.",
                "A Finnish postal code has five digits.",
            )
        )
    if _blank(a.city):
        errors.append(_err("city_missing", "address.city", "Postitoimipaikka puuttuu.", "City is missing."))
    return errors


def country_known(c: CustomerData) -> list[ProfileError]:
    if c.address is None:
        return []
    code = c.address.country.upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        return [
            _err(
                "country_invalid",
                "address.country",
                "Maakoodi ei ole ISO 3166 -koodi.",
                "Country is not an ISO 3166 code.",
            )
        ]
    return []


def language_supported(c: CustomerData) -> list[ProfileError]:
    if c.language not in SUPPORTED_LANGUAGES:
        return [
            _err(
                "language_unsupported",
                "language",
                "Kieli ei ole tuettu (fi, sv, en).",
                "Language is not supported (fi, sv, en).",
            )
        ]
    return []


RULES: tuple[Rule, ...] = (
    name_present,
    business_id_valid,
    email_channel_ready,
    einvoice_channel_ready,
    print_channel_ready,
    country_known,
    language_supported,
)


def validate(c: CustomerData) -> list[ProfileError]:
    """All problems with a card's billing data, in a stable order."""
    return [error for rule in RULES for error in rule(c)]
