"""Identifiers in the form machines exchange them (issue 16).

People and CRMs write an IBAN as it is printed: in groups of four, sometimes in lower
case (``fi21 1234 5600 0007 85``). A person's e-invoice address is their bank account's
IBAN (with the bank's BIC as the intermediator), and Finvoice carries it in the
electronic form (``FI2112345600000785``). A card takes the printed form and keeps the
electronic one, so what the rules check is what is stored, published and sent.

Only a form that is valid once normalised is rewritten: anything else is kept exactly
as given, for the rules to flag and the clerk to see as it was written.
"""

from __future__ import annotations

import re

from shared.events.customers import CustomerData
from shared.finnish import is_valid_iban, normalise_iban

OPERATOR_CODE = re.compile(r"[A-Z0-9]{4,35}")
"""An intermediator code: an OVT-style code (``003721291126``) or a bank's BIC (``NDEAFIHH``)."""


def machine_einvoice_address(value: str) -> str:
    """``FI21 1234 5600 0007 85`` -> ``FI2112345600000785``; an OVT or an invalid
    address is returned as given."""
    if is_valid_iban(value):
        return normalise_iban(value)
    return value


def machine_operator_code(value: str) -> str:
    """``ndeafihh`` / ``NDEA FIHH`` -> ``NDEAFIHH``, when that is an operator code."""
    compact = value.replace(" ", "").upper()
    return compact if OPERATOR_CODE.fullmatch(compact) else value


def normalised(data: CustomerData) -> CustomerData:
    """The card's data with its e-invoice identifiers in machine form."""
    update: dict[str, str] = {}
    if data.einvoice_address is not None:
        address = machine_einvoice_address(data.einvoice_address)
        if address != data.einvoice_address:
            update["einvoice_address"] = address
    if data.einvoice_operator is not None:
        operator = machine_operator_code(data.einvoice_operator)
        if operator != data.einvoice_operator:
            update["einvoice_operator"] = operator
    return data.model_copy(update=update) if update else data
