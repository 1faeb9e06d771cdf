"""The customer contract refuses what an outside system should not be able to store:
loose types, overlong text, control characters, other scripts' digits and whitespace
around identifiers. Each row would have been accepted (and stored) before."""

from typing import Any

import pytest
from pydantic import ValidationError

from shared.events.customers import CustomerUpserted
from tests.support.customers import upsert


def with_customer(**fields: Any) -> dict[str, Any]:
    return upsert("C-1", **fields)


def with_address(**fields: Any) -> dict[str, Any]:
    address = {"street_lines": ["Mannerheimintie 1"], "postal_code": "00100", "city": "Helsinki", "country": "FI"}
    return upsert("C-1", address={**address, **fields})


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (with_customer(consumer="yes"), "customer.consumer"),
        (with_customer(consumer=1), "customer.consumer"),
        (with_customer(no_reminders="true"), "customer.no_reminders"),
        (with_customer(business_id=7375462), "customer.business_id"),
        (with_customer(business_id="٠١١٢٠٣٨-٩"), "customer.business_id"),
        (with_customer(business_id=" 0112038-9"), "customer.business_id"),
        (with_customer(business_id="0112038-9 "), "customer.business_id"),
        (with_customer(einvoice_address="0037٠١١٢٠٣٨٩"), "customer.einvoice_address"),
        (with_customer(einvoice_operator="003721291126\t"), "customer.einvoice_operator"),
        (with_customer(name="Maija\x00Meikäläinen"), "customer.name"),
        (with_customer(name="x" * 201), "customer.name"),
        (with_customer(email="a" * 250 + "@b.fi"), "customer.email"),
        (with_customer(language=" fi"), "customer.language"),
        (with_customer(customer_type=None), "customer.customer_type"),
        (with_address(postal_code=100), "customer.address.postal_code"),
        (with_address(postal_code="٠٠١٠٠"), "customer.address.postal_code"),
        (with_address(street_lines=["x" * 101]), "customer.address.street_lines.0"),
        (with_address(street_lines=["1", "2", "3", "4", "5"]), "customer.address.street_lines"),
        (with_address(city="Hel\u0085sinki"), "customer.address.city"),
        ({"customer_number": "C 1", "customer": with_customer()["customer"]}, "customer_number"),
        ({"customer_number": 12345, "customer": with_customer()["customer"]}, "customer_number"),
    ],
)
def test_upsert_is_refused_with_the_field_path(body: dict[str, Any], path: str) -> None:
    import json

    with pytest.raises(ValidationError) as caught:
        CustomerUpserted.model_validate_json(json.dumps(body))
    assert path in {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}


@pytest.mark.parametrize(
    "body",
    [
        with_customer(name="Ääkkönen & Östman Ab"),
        with_customer(email="ääkkönen@esimerkki.fi"),
        with_customer(business_id="", email=""),
        with_address(postal_code="111 22", country="SE", city="Stockholm"),
        with_customer(einvoice_address="FI21 1234 5600 0007 85"),
    ],
)
def test_upsert_with_unusual_but_storable_data_is_accepted(body: dict[str, Any]) -> None:
    import json

    CustomerUpserted.model_validate_json(json.dumps(body))
