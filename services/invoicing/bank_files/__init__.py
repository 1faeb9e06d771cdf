"""Payments from the bank's own files: ISO 20022 camt.054 and the Finnish reference-payment
record file (*viitesiirtoaineisto*), parsed into :class:`BankFile` (``model.py``)."""

from services.invoicing.bank_files.model import BankFile, BankFileEntry, BankFileFormat, BankFileInvalid

__all__ = ["BankFile", "BankFileEntry", "BankFileFormat", "BankFileInvalid"]
