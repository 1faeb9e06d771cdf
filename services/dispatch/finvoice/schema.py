"""The official Finvoice 3.0 XSD, loaded once per process, and its findings as problems.

The schema file is vendored beside this module (``schema/Finvoice3.0.xsd``, origin and
hash in ``schema/README.md``); it imports nothing (no xmldsig or other schema to fetch),
and the parser is told not to touch the network, so validation works offline.

libxml2's messages quote the offending value (``The value 'Maija …' is not accepted by
the pattern …``); a value can be a person's name or address, so it is cut out of every
message before it becomes a :class:`FinvoiceProblem`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import cast

from lxml import etree

from .model import FinvoiceProblem

SCHEMA_PATH = Path(__file__).parent / "schema" / "Finvoice3.0.xsd"

# "The value '<anything>' is not accepted …" / "Element 'X': '<anything>' is not a valid value …"
_THE_VALUE = re.compile(r"The value '.*'(?= (?:is|has) )", re.DOTALL)
_VALUE_AFTER_NAME = re.compile(r": '.*'(?= is not a valid value)", re.DOTALL)


_LOADED = threading.local()


def finvoice_schema() -> etree.XMLSchema:
    """Parsed and compiled once per thread (about 15 ms), then reused by every check.

    Per thread, not per process: a schema object keeps the last validation's error log,
    so two threads validating with one object could read each other's errors."""
    schema: etree.XMLSchema | None = getattr(_LOADED, "schema", None)
    if schema is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        schema = etree.XMLSchema(etree.parse(str(SCHEMA_PATH), parser))
        _LOADED.schema = schema
    return schema


def sanitize(message: str) -> str:
    """The libxml2 message without the value it quotes."""
    return _VALUE_AFTER_NAME.sub(": the value", _THE_VALUE.sub("The value", message))


def validate(document: etree._Element, line_offset: int = 0) -> list[FinvoiceProblem]:
    """XSD findings; ``line_offset`` turns lines of the Finvoice part into file lines."""
    schema = finvoice_schema()
    if schema.validate(document):
        return []
    return [
        FinvoiceProblem(
            "xsd", error.path or "/Finvoice", f"{sanitize(error.message)} (line {error.line + line_offset})"
        )
        for error in cast(Iterable[etree._LogEntry], schema.error_log)
    ]
