"""Payments from the bank's own files: ISO 20022 camt.054 and the Finnish reference-payment
record file (*viitesiirtoaineisto*), parsed into :class:`BankFile` (``model.py``).

:func:`parse_bank_file` is pure (no I/O, no network): it detects the format, reads every
entry, checks the file's own sums, and refuses a malformed file whole with
:class:`BankFileInvalid` (``where`` = ``line N`` or an element path, a Finnish and an
English message). Payer names are personal data: no message here quotes one.
"""

from services.invoicing.bank_files import camt054, viitesiirto
from services.invoicing.bank_files.common import MAX_BANK_FILE_BYTES, check_size, check_unique_archive_ids
from services.invoicing.bank_files.model import BankFile, BankFileEntry, BankFileFormat, BankFileInvalid

__all__ = [
    "MAX_BANK_FILE_BYTES",
    "BankFile",
    "BankFileEntry",
    "BankFileFormat",
    "BankFileInvalid",
    "detect_format",
    "parse_bank_file",
]


def detect_format(data: bytes) -> BankFileFormat | None:
    """``camt.054`` for an XML document, ``viitesiirto`` for 90-character records starting
    with a batch record, else ``None``. (Whether an XML document really is a camt.054
    notification is the camt.054 parser's first check.)"""
    if camt054.looks_like_xml(data):
        return "camt.054"
    if viitesiirto.looks_like_viitesiirto(data):
        return "viitesiirto"
    return None


def parse_bank_file(data: bytes) -> BankFile:
    """The file as parsed, or :class:`BankFileInvalid` for anything wrong in it."""
    check_size(data)
    file_format = detect_format(data)
    if file_format == "camt.054":
        parsed = camt054.parse(data)
    elif file_format == "viitesiirto":
        parsed = viitesiirto.parse(data)
    else:
        raise BankFileInvalid(
            "file",
            "Tiedosto ei ole camt.054-XML-sanoma eikä viitesiirtoaineisto (ensimmäinen tietue 0).",
            "The file is neither a camt.054 XML notification nor a reference-payment file (first record 0).",
        )
    check_unique_archive_ids(parsed.entries)
    return parsed
