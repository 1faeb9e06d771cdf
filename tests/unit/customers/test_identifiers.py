"""A card keeps its e-invoice identifiers in machine form (issue 16): an IBAN as people
print it is a valid e-invoice address of a person, stored without spaces in upper case."""

from __future__ import annotations

import pytest

from services.customers.domain import cards
from services.customers.domain.identifiers import normalised
from services.customers.domain.rules import validate
from shared.events.customers import CustomerData


def person(address: str | None, operator: str | None = "NDEAFIHH") -> CustomerData:
    return CustomerData(
        customer_type="person",
        name="Maija Meikäläinen",
        delivery_channel="einvoice",
        einvoice_address=address,
        einvoice_operator=operator,
    )


@pytest.mark.parametrize(
    "written",
    [
        "FI21 1234 5600 0007 85",
        "fi21 1234 5600 0007 85",
        "fi2112345600000785",
        "FI2112345600000785",
        "FI21123456 00000785",
    ],
)
def test_an_iban_as_written_becomes_a_valid_address_in_machine_form(written: str) -> None:
    change = cards.apply(None, "P-1", person(written))
    assert change is not None
    assert change.card.data.einvoice_address == "FI2112345600000785"
    assert change.errors == []


def test_the_same_iban_printed_again_makes_no_new_version() -> None:
    first = cards.apply(None, "P-1", person("FI2112345600000785"))
    assert first is not None
    assert cards.apply(first.card, "P-1", person("FI21 1234 5600 0007 85")) is None


@pytest.mark.parametrize(
    "kept",
    [
        "FI21 1234 5600 0007 86",  # wrong check digits: the clerk sees it as written
        "FI21  1234 5600 0007 85",  # two spaces: not a printed IBAN
        "003707375462",  # an OVT is not rewritten
        "0037 0737 5462",
    ],
)
def test_anything_but_a_valid_printed_iban_is_kept_as_given(kept: str) -> None:
    assert normalised(person(kept)).einvoice_address == kept


def test_a_bic_in_lower_case_is_the_operator_code_in_upper_case() -> None:
    data = normalised(person("FI21 1234 5600 0007 85", operator="ndea fihh"))
    assert (data.einvoice_address, data.einvoice_operator) == ("FI2112345600000785", "NDEAFIHH")
    assert validate(data) == []
    assert normalised(person(None, operator="ndea-fihh")).einvoice_operator == "ndea-fihh"
