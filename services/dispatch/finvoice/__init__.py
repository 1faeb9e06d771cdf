"""Finvoice 3.0 e-invoices (*verkkolasku*): build one from an issued document, check one
before it leaves.

- :func:`build_finvoice` — invoice (INV01), corrective invoice (INV01), credit note
  (INV02) or payment reminder (INV08) with its SOAP transmission frame, ISO-8859-15 bytes.
- :func:`check_finvoice` — the official XSD (vendored in ``schema/``) *and* what the XSD
  does not enforce (sums, reference check digits, dates, frame rules); ``[]`` = send it.

Use (the e-invoice worker)::

    xml = build_finvoice(doc, TransmissionFrame(own_address, own_operator, message_id, now))
    problems = check_finvoice(xml)
    if problems:  # a permanent failure: never send it
        reason = describe(problems)

The bytes are ISO-8859-15, as guidelines §9.3 require (every official sample declares
it; operators may refuse UTF-8): write or POST them as they are, and read them with an
XML parser (it follows the declaration), not with ``bytes.decode("utf-8")``. A file is
two XML documents one after the other (frame, then Finvoice), so a parser reads the part
from ``<?xml`` on.

The rules followed are Finance Finland's implementation guidelines 3.0 and the project's
``CONVENTIONS.md`` (``../shared/data/finvoice/``); each module's docstring names the
points it implements.
"""

from .build import ENCODING, build_finvoice
from .check import check_finvoice
from .draft import Scheme
from .model import FinvoiceProblem, TransmissionFrame, describe

__all__ = [
    "ENCODING",
    "FinvoiceProblem",
    "Scheme",
    "TransmissionFrame",
    "build_finvoice",
    "check_finvoice",
    "describe",
]
