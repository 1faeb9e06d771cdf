"""Finvoice 3.0 e-invoices (*verkkolasku*): build one from an issued document, check one
before it leaves.

- :func:`build_finvoice` — invoice (INV01), corrective invoice (INV01), credit note
  (INV02) or payment reminder (INV08) with its SOAP transmission frame, ISO-8859-15 bytes.
- :func:`check_finvoice` — the official XSD (vendored in ``schema/``) *and* what the XSD
  does not enforce (sums, reference check digits, dates, frame rules); ``[]`` = send it.

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
