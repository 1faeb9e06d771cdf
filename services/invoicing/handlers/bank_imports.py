"""Importing the bank's payment files (camt.054, viitesiirto): a preview that only reads,
and the import itself, in one transaction.

- The file is parsed whole first (:func:`parse_bank_file`); anything wrong refuses it
  with :class:`BankFileInvalid` (the line or element) and nothing is recorded.
- Each entry becomes one ``bank.reference-payments.v1`` event (a payment or a reversal,
  ``payment_id`` = the bank's archive id, key = the reference): the same path as a
  payment from any other source, so matching, idempotence and reversals are the
  consumer's (:mod:`services.invoicing.handlers.payments`), not repeated here.
- The same file twice (by sha256): "already imported", nothing recorded. An entry whose
  archive id an earlier file (or an earlier payment event) brought: "repeated", kept
  with the file but not published again.

Payer names are personal data: they go into the events and the preview, never a log.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from pydantic import ValidationError

from services.invoicing.bank_files import BankFile, BankFileEntry, BankFileInvalid, parse_bank_file
from services.invoicing.domain.payments import normalise_reference
from services.invoicing.handlers.errors import Conflict, NotFound
from services.invoicing.handlers.payments import UNMATCHED_REASONS
from services.invoicing.store.bank_files import NewEntry, StoredEntry, StoredFile
from services.invoicing.uow import InvoicingUnitOfWork
from shared.events import topics
from shared.events.bank import ReferencePaymentReceived, ReferencePaymentReversed
from shared.money import ZERO

MAX_FILE_NAME = 200


@dataclass(frozen=True)
class Invoice:
    """What the preview needs to know of the invoice a reference points to."""

    number: int | None
    document_type: str


@dataclass(frozen=True)
class PreviewEntry:
    entry: BankFileEntry
    outcome: str
    """``matched`` | ``unmatched`` | ``repeated`` | ``reversal``."""
    invoice_number: int | None
    reason: str | None


@dataclass(frozen=True)
class Preview:
    file: BankFile
    file_name: str
    sha256: str
    already_imported_as: int | None
    entries: tuple[PreviewEntry, ...]

    @property
    def count(self) -> int:
        return sum(1 for e in self.file.entries if not e.reversal)

    @property
    def amount(self) -> Decimal:
        return sum((e.amount for e in self.file.entries if not e.reversal), ZERO)

    @property
    def reversals(self) -> int:
        return sum(1 for e in self.file.entries if e.reversal)

    @property
    def reversal_amount(self) -> Decimal:
        return sum((e.amount for e in self.file.entries if e.reversal), ZERO)


@dataclass(frozen=True)
class Imported:
    id: int
    preview: Preview
    recorded: int
    repeated: int
    already_imported: bool


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def clean_file_name(name: str | None) -> str:
    """The upload's own name without any directory part, printable, at most 200 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    printable = "".join(ch for ch in base if ch.isprintable()).strip()
    return printable[:MAX_FILE_NAME] or "bank-file"


def event_of(entry: BankFileEntry) -> ReferencePaymentReceived | ReferencePaymentReversed:
    """The entry as the event the import publishes; an entry our contract cannot carry
    (an archive id or a reference it refuses, an amount over the limit) refuses the file
    like any other malformed entry, at the entry's location."""
    try:
        if entry.reversal:
            return ReferencePaymentReversed(
                payment_id=entry.archive_id,
                reverses_payment_id=entry.reverses_archive_id,
                reference=entry.reference,
                amount=entry.amount,
                payment_date=entry.payment_date,
            )
        return ReferencePaymentReceived(
            payment_id=entry.archive_id,
            reference=entry.reference,
            amount=entry.amount,
            payment_date=entry.payment_date,
            payer_name=entry.payer_name,
        )
    except ValidationError as exc:
        fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
        raise BankFileInvalid(
            entry.location,
            f"Tapahtumaa ei voi välittää maksuna (kenttä: {fields}).",
            f"The entry cannot be passed on as a payment (field: {fields}).",
        ) from None


def decide(entry: BankFileEntry, *, repeated: bool, invoice: Invoice | None) -> tuple[str, str | None]:
    """How an entry would be taken (pure): ``(outcome, reason)``, the same decision the
    payments consumer makes (:func:`services.invoicing.handlers.payments.take_payments`)."""
    if repeated:
        return "repeated", None
    if entry.reversal:
        return "reversal", None
    if normalise_reference(entry.reference) is None:
        return "unmatched", "reference-invalid"
    if invoice is None:
        return "unmatched", "reference-unknown"
    if invoice.document_type == "credit-note":
        return "unmatched", "not-payable"
    return "matched", None


def parse(data: bytes) -> BankFile:
    """The file parsed, and every entry checked against the event contract."""
    bank_file = parse_bank_file(data)
    for entry in bank_file.entries:
        event_of(entry)
    return bank_file


async def _preview(uow: InvoicingUnitOfWork, bank_file: BankFile, sha256: str, file_name: str) -> Preview:
    already = await uow.bank_files.id_of(sha256)
    brought = await uow.bank_files.brought([e.archive_id for e in bank_file.entries])
    references = {e.archive_id: normalise_reference(e.reference) for e in bank_file.entries}
    found = await uow.bank_files.invoices_by_reference([r for r in references.values() if r is not None])
    entries = []
    seen: set[str] = set()
    for entry in bank_file.entries:
        reference = references[entry.archive_id]
        invoice = Invoice(*found[reference]) if reference is not None and reference in found else None
        repeated = entry.archive_id in brought or entry.archive_id in seen
        seen.add(entry.archive_id)
        outcome, reason = decide(entry, repeated=repeated, invoice=invoice)
        number = invoice.number if invoice is not None and outcome in ("matched", "reversal") else None
        entries.append(PreviewEntry(entry, outcome, number, reason))
    return Preview(bank_file, file_name, sha256, already, tuple(entries))


async def parse_off_loop(data: bytes) -> BankFile:
    """:func:`parse` in a worker thread: a large file takes seconds to read and check,
    and the service's consumers and API keep running meanwhile."""
    return await asyncio.to_thread(parse, data)


async def preview(uow: InvoicingUnitOfWork, data: bytes, file_name: str | None) -> Preview:
    """What importing the file would record (reads only). Raises BankFileInvalid."""
    bank_file = await parse_off_loop(data)
    async with uow:
        return await _preview(uow, bank_file, sha256_of(data), clean_file_name(file_name))


async def import_file(
    uow: InvoicingUnitOfWork, data: bytes, file_name: str | None, *, actor: str, expected_sha256: str | None = None
) -> Imported:
    """Record the file, its new entries and one event per new entry, in one transaction.
    Raises BankFileInvalid (nothing recorded) or Conflict ``bank-file-changed`` when the
    upload is not the file the clerk previewed."""
    sha256 = sha256_of(data)
    if expected_sha256 is not None and expected_sha256.strip().lower() != sha256:
        raise Conflict(
            "bank-file-changed",
            "Tiedosto ei ole sama, jonka esikatselit: esikatsele se uudelleen.",
            "The file is not the one you previewed: preview it again.",
        )
    bank_file = await parse_off_loop(data)
    async with uow:
        p = await _preview(uow, bank_file, sha256, clean_file_name(file_name))
        file_id = await uow.bank_files.add_file(
            {
                "sha256": sha256,
                "format": bank_file.format,
                "file_id": bank_file.file_id,
                "file_name": p.file_name,
                "imported_by": actor,
                "count": p.count,
                "amount": p.amount,
                "reversals": p.reversals,
                "reversal_amount": p.reversal_amount,
                "recorded": 0,
                "repeated": 0,
            }
        )
        if file_id is None:  # imported already (perhaps a moment ago, by someone else)
            earlier = await uow.bank_files.id_of(sha256)
            assert earlier is not None
            return Imported(earlier, p, 0, 0, already_imported=True)
        new = await uow.bank_files.add_entries(
            file_id,
            _new_entries(bank_file.entries),
            known={e.entry.archive_id for e in p.entries if e.outcome == "repeated"},
        )
        recorded = 0
        for entry in bank_file.entries:
            if entry.archive_id in new:
                uow.outbox.add(topics.REFERENCE_PAYMENTS.name, event_of(entry), key=entry.reference)
                recorded += 1
        repeated = len(bank_file.entries) - recorded
        await uow.bank_files.set_counts(file_id, recorded=recorded, repeated=repeated)
        await uow.commit()
    return Imported(file_id, p, recorded, repeated, already_imported=False)


def _new_entries(entries: Sequence[BankFileEntry]) -> list[NewEntry]:
    return [
        NewEntry(
            seq=i,
            archive_id=e.archive_id,
            kind="reversal" if e.reversal else "payment",
            reference=e.reference,
            amount=e.amount,
            payment_date=e.payment_date,
            reverses_archive_id=e.reverses_archive_id,
            location=e.location,
        )
        for i, e in enumerate(entries, start=1)
    ]


async def files(uow: InvoicingUnitOfWork, *, limit: int, offset: int) -> tuple[int, list[StoredFile]]:
    async with uow:
        return await uow.bank_files.page(limit=limit, offset=offset)


async def file(uow: InvoicingUnitOfWork, file_id: int) -> tuple[StoredFile, list[StoredEntry]]:
    async with uow:
        found = await uow.bank_files.get(file_id)
    if found is None:
        raise NotFound("bank-file-not-found", f"Pankkitiedostoa {file_id} ei löydy.", f"Bank file {file_id} not found.")
    return found


def reason_texts(reason: str | None) -> tuple[str | None, str | None]:
    return UNMATCHED_REASONS.get(reason or "", (None, None))
